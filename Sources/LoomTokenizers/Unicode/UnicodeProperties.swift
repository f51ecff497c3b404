/// Unicode character data for the pre-tokenizers and the regex engine: general category,
/// White_Space and simple case mappings, read from the Swift runtime's Unicode tables and
/// cached in an immutable lookup table (built once, on first use, thread-safely by Swift's
/// global initialisation).

/// Unicode general categories, one byte each (the order is fixed: masks index into it).
@usableFromInline
enum GeneralCategory: UInt8, CaseIterable {
    case lu, ll, lt, lm, lo          // letters
    case mn, mc, me                  // marks
    case nd, nl, no                  // numbers
    case pc, pd, ps, pe, pi, pf, po  // punctuation
    case sm, sc, sk, so              // symbols
    case zs, zl, zp                  // separators
    case cc, cf, cs, co, cn          // other

    init(_ c: Unicode.GeneralCategory) {
        switch c {
        case .uppercaseLetter: self = .lu
        case .lowercaseLetter: self = .ll
        case .titlecaseLetter: self = .lt
        case .modifierLetter: self = .lm
        case .otherLetter: self = .lo
        case .nonspacingMark: self = .mn
        case .spacingMark: self = .mc
        case .enclosingMark: self = .me
        case .decimalNumber: self = .nd
        case .letterNumber: self = .nl
        case .otherNumber: self = .no
        case .connectorPunctuation: self = .pc
        case .dashPunctuation: self = .pd
        case .openPunctuation: self = .ps
        case .closePunctuation: self = .pe
        case .initialPunctuation: self = .pi
        case .finalPunctuation: self = .pf
        case .otherPunctuation: self = .po
        case .mathSymbol: self = .sm
        case .currencySymbol: self = .sc
        case .modifierSymbol: self = .sk
        case .otherSymbol: self = .so
        case .spaceSeparator: self = .zs
        case .lineSeparator: self = .zl
        case .paragraphSeparator: self = .zp
        case .control: self = .cc
        case .format: self = .cf
        case .surrogate: self = .cs
        case .privateUse: self = .co
        case .unassigned: self = .cn
        @unknown default: self = .cn
        }
    }
}

/// Bit masks over `GeneralCategory` raw values.
@usableFromInline
enum CategoryMask {
    static func of(_ cats: GeneralCategory...) -> UInt32 { cats.reduce(0) { $0 | (1 << UInt32($1.rawValue)) } }
    @usableFromInline static let letter = of(.lu, .ll, .lt, .lm, .lo)
    @usableFromInline static let mark = of(.mn, .mc, .me)
    @usableFromInline static let number = of(.nd, .nl, .no)
    @usableFromInline static let punctuation = of(.pc, .pd, .ps, .pe, .pi, .pf, .po)
    @usableFromInline static let symbol = of(.sm, .sc, .sk, .so)
    @usableFromInline static let separator = of(.zs, .zl, .zp)
    @usableFromInline static let other = of(.cc, .cf, .cs, .co, .cn)
    /// Letters, marks, decimal digits and connector punctuation: the Unicode `\w`.
    /// Oniguruma's `\w` below U+0100.
    @usableFromInline static let latin1Word = letter | mark | number | of(.pc)
    /// Marks, decimal digits and connector punctuation (with Alphabetic: Unicode `\w`).
    @usableFromInline static let wordNonAlphabetic = mark | of(.nd, .pc)
}

/// Per-code-point flags: the category in the low 5 bits, Alphabetic in bit 6, White_Space in
/// bit 7.
@usableFromInline
struct CharInfo {
    @usableFromInline static let whitespaceBit: UInt8 = 0x80
    @usableFromInline static let alphabeticBit: UInt8 = 0x40
    /// Code points below this bound are tabulated; the rest (planes 3.5–16: mostly unassigned,
    /// private use and tags) are computed on demand.
    @usableFromInline static let tableLimit: UInt32 = 0x32400

    /// The table, allocated once for the life of the process and never written after its
    /// initialiser returns (so it is safe to read from any thread).
    @usableFromInline static let table: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(tableLimit))
        for cp in 0..<tableLimit { t[Int(cp)] = compute(cp) }
        return UnsafePointer(t)
    }()

    @usableFromInline
    static func compute(_ cp: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(cp) else {
            // Surrogate code points (they reach us from lenient UTF-8 decoding) and out of range.
            return cp >= 0xD800 && cp < 0xE000 ? GeneralCategory.cs.rawValue : GeneralCategory.cn.rawValue
        }
        let p = s.properties
        var v = GeneralCategory(p.generalCategory).rawValue
        if p.isWhitespace { v |= whitespaceBit }
        if p.isAlphabetic { v |= alphabeticBit }
        return v
    }

    @inlinable @inline(__always)
    static func raw(_ cp: UInt32) -> UInt8 {
        cp < tableLimit ? table[Int(cp)] : compute(cp)
    }

    /// Same as `raw`, with the table pointer hoisted out of a hot loop by the caller.
    @inlinable @inline(__always)
    static func raw(_ cp: UInt32, _ t: UnsafePointer<UInt8>) -> UInt8 {
        cp < tableLimit ? t[Int(cp)] : compute(cp)
    }

    @inlinable @inline(__always)
    static func category(_ cp: UInt32) -> UInt8 { raw(cp) & 0x1F }

    @inlinable @inline(__always)
    static func categoryBit(_ cp: UInt32) -> UInt32 { 1 << UInt32(raw(cp) & 0x1F) }

    @inlinable @inline(__always)
    static func isWhitespace(_ cp: UInt32) -> Bool { raw(cp) & whitespaceBit != 0 }

    /// Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation (Oniguruma inside
    /// a bracket class), plus ZWNJ/ZWJ with `joinControl` (Rust's regex, UTS #18). With `latin1`
    /// (Oniguruma's `\w` and `\b` outside brackets) every letter, mark and number below U+0100
    /// counts, so ² and ¼ are word characters.
    @inlinable
    static func isWordCharacter(_ cp: UInt32, latin1: Bool = false, joinControl: Bool = false) -> Bool {
        if cp < 0x80 {
            return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5A) || (cp >= 0x61 && cp <= 0x7A) || cp == 0x5F
        }
        let r = raw(cp)
        let bit = UInt32(1) << UInt32(r & 0x1F)
        if latin1 && cp < 0x100 { return CategoryMask.latin1Word & bit != 0 }
        if r & alphabeticBit != 0 { return true }
        return CategoryMask.wordNonAlphabetic & bit != 0 || (joinControl && (cp == 0x200C || cp == 0x200D))
    }
}

/// Case mappings (simple, one code point) used by case-insensitive regex matching and by
/// llama.cpp's `unicode_tolower`.
enum CaseMapping {
    static func lower(_ cp: UInt32) -> UInt32 {
        if cp < 0x80 { return (cp >= 0x41 && cp <= 0x5A) ? cp + 0x20 : cp }
        guard let s = Unicode.Scalar(cp) else { return cp }
        let m = s.properties.lowercaseMapping.unicodeScalars
        if m.count == 1, let f = m.first { return f.value }
        return cp
    }

    static func upper(_ cp: UInt32) -> UInt32 {
        if cp < 0x80 { return (cp >= 0x61 && cp <= 0x7A) ? cp - 0x20 : cp }
        guard let s = Unicode.Scalar(cp) else { return cp }
        let m = s.properties.uppercaseMapping.unicodeScalars
        if m.count == 1, let f = m.first { return f.value }
        return cp
    }

    /// A simple case fold: two code points are case-insensitively equal when their folds are.
    /// (ſ and S fold to s, the Kelvin sign to k, as Unicode's simple folding does.)
    static func fold(_ cp: UInt32) -> UInt32 {
        if cp < 0x80 { return (cp >= 0x41 && cp <= 0x5A) ? cp + 0x20 : cp }
        return lower(upper(cp))
    }
}
