/// A set of code points for the regex engine: ranges, Unicode general categories, \s \d \w and
/// nested classes, possibly negated and case-insensitive. Membership of ASCII is precomputed
/// into a 128-bit map; other code points walk the (short) item list.
struct CharClass {
    enum Item {
        case range(UInt32, UInt32)
        /// Code points whose general category bit is in the mask.
        case categories(UInt32, negated: Bool)
        case whitespace(negated: Bool)
        /// `\d`: Unicode Nd, or ASCII 0-9 only.
        case digit(negated: Bool, unicode: Bool)
        /// `\w`: Unicode word characters (`CharInfo.isWordCharacter`, with its Latin-1 rule when
        /// `latin1`), or ASCII [A-Za-z0-9_] only.
        case word(negated: Bool, unicode: Bool, latin1: Bool)
        /// Every code point except the listed line terminators (`.`).
        case anyExcept([UInt32])
        case nested(CharClassBox)
    }

    let items: [Item]
    let negated: Bool
    let caseInsensitive: Bool
    private var asciiLo: UInt64 = 0
    private var asciiHi: UInt64 = 0

    init(items: [Item] = [], negated: Bool = false, caseInsensitive: Bool = false) {
        self.items = items
        self.negated = negated
        self.caseInsensitive = caseInsensitive
        finish()
    }

    /// Computes the ASCII map.
    private mutating func finish() {
        asciiLo = 0
        asciiHi = 0
        for c in UInt32(0)..<128 where slowContains(c) {
            if c < 64 { asciiLo |= 1 << UInt64(c) } else { asciiHi |= 1 << UInt64(c - 64) }
        }
    }

    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        if c < 64 { return asciiLo >> UInt64(c) & 1 != 0 }
        if c < 128 { return asciiHi >> UInt64(c - 64) & 1 != 0 }
        return slowContains(c)
    }

    func slowContains(_ c: UInt32) -> Bool {
        if caseInsensitive {
            // A code point matches when it or a case variant is in the set; negation applies
            // after that (Oniguruma and ECMAScript agree).
            var inSet = rawContains(c)
            if !inSet {
                for v in [CaseMapping.lower(c), CaseMapping.upper(c), CaseMapping.fold(c)] where v != c && rawContains(v) {
                    inSet = true
                    break
                }
            }
            return inSet != negated
        }
        return rawContains(c) != negated
    }

    /// Membership ignoring this class's own negation and case folding.
    private func rawContains(_ c: UInt32) -> Bool {
        for item in items {
            switch item {
            case .range(let lo, let hi):
                if c >= lo && c <= hi { return true }
            case .categories(let mask, let neg):
                if (mask & CharInfo.categoryBit(c) != 0) != neg { return true }
            case .whitespace(let neg):
                if CharInfo.isWhitespace(c) != neg { return true }
            case .digit(let neg, let unicode):
                let d = unicode ? CharInfo.category(c) == GeneralCategory.nd.rawValue : (c >= 0x30 && c <= 0x39)
                if d != neg { return true }
            case .word(let neg, let unicode, let latin1):
                let w: Bool
                if unicode {
                    w = CharInfo.isWordCharacter(c, latin1: latin1)
                } else {
                    w = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
                }
                if w != neg { return true }
            case .anyExcept(let list):
                if !list.contains(c) { return true }
            case .nested(let box):
                if box.value.contains(c) { return true }
            }
        }
        return false
    }
}

extension CharClass {
    /// Sets the bits of the BMP code points in the class (1024 words, cleared by the caller).
    func fillBMP(_ bits: UnsafeMutablePointer<UInt64>) {
        @inline(__always) func set(_ c: UInt32) { bits[Int(c >> 6)] |= UInt64(1) << UInt64(c & 63) }
        if caseInsensitive {
            for c in UInt32(0)..<0x10000 where contains(c) { set(c) }
            return
        }
        let tmp = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
        defer { tmp.deallocate() }
        tmp.initialize(repeating: 0, count: 1024)
        for item in items {
            switch item {
            case .range(let lo, let hi):
                guard lo < 0x10000 else { continue }
                var c = lo
                let end = min(hi, 0xFFFF)
                while c <= end { tmp[Int(c >> 6)] |= UInt64(1) << UInt64(c & 63); c += 1 }
            case .nested(let box):
                box.value.fillBMP(tmp)
            default:
                let single = CharClass(items: [item])
                for c in UInt32(0)..<0x10000 where single.slowContains(c) { tmp[Int(c >> 6)] |= UInt64(1) << UInt64(c & 63) }
            }
        }
        for w in 0..<1024 { bits[w] |= negated ? ~tmp[w] : tmp[w] }
    }
}

/// Reference wrapper so classes can nest (Swift value types cannot contain themselves).
final class CharClassBox {
    let value: CharClass
    init(_ value: CharClass) { self.value = value }
}
