/// Hand-written equivalents of the most common pre-tokenizer regexes, as llama.cpp has them
/// (unicode.cpp's `unicode_regex_split_custom_*`): same pieces as the regex, several times faster.
/// Each one splits `text[start..<end]` into contiguous pieces and appends the pieces' end offsets.
enum FastSplitter: Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// (`digitRun` 3), and Qwen2's variant with `\p{N}` (`digitRun` 1).
    case llama3(digitRun: Int, marks: Bool)

    /// Recognises a pattern that one of the fast splitters implements exactly.
    static func recognise(_ pattern: String) -> FastSplitter? {
        switch pattern {
        case "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
             "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+":
            return .gpt2
        case "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            return .llama3(digitRun: 3, marks: false)
        case "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            return .llama3(digitRun: 1, marks: false)
        case "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            return .llama3(digitRun: 1, marks: true)
        default:
            return nil
        }
    }

    /// Splits `text[start..<end]`. `foldCase` makes the Llama-3 contractions match the way a
    /// Unicode case-insensitive regex does (`ſ` counts as `s`), as in HF tokenizers; llama.cpp
    /// lowercases instead.
    func split(_ text: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, foldCase: Bool, into out: inout [Int]) {
        switch self {
        case .gpt2: FastSplitter.splitGPT2(text, start, end, into: &out)
        case .llama3(let digitRun, let marks):
            FastSplitter.splitLlama3(text, start, end, digitRun: digitRun, marks: marks, foldCase: foldCase, into: &out)
        }
    }

    // Category flags for one code point (0 outside the segment).
    private static let fLetter: UInt8 = 1, fNumber: UInt8 = 2, fSpace: UInt8 = 4, fMark: UInt8 = 8, fInside: UInt8 = 16

    /// Category group flags per general category.
    private static let groupFlags: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 32)
        for c in GeneralCategory.allCases {
            let bit = UInt32(1) << UInt32(c.rawValue)
            var f: UInt8 = 0
            if CategoryMask.letter & bit != 0 { f |= fLetter }
            if CategoryMask.number & bit != 0 { f |= fNumber }
            if CategoryMask.mark & bit != 0 { f |= fMark }
            t[Int(c.rawValue)] = f
        }
        return t
    }()

    @inline(__always)
    private static func flags(_ text: UnsafeBufferPointer<UInt32>, _ pos: Int, _ end: Int, _ table: UnsafePointer<UInt8>, _ groups: UnsafePointer<UInt8>) -> UInt8 {
        guard pos < end else { return 0 }
        let raw = CharInfo.raw(text[pos], table)
        var f = groups[Int(raw & 0x1F)] | fInside
        if raw & CharInfo.whitespaceBit != 0 { f |= fSpace }
        return f
    }

    private static func splitGPT2(_ text: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, into out: inout [Int]) {
        let table = CharInfo.table
        groupFlags.withUnsafeBufferPointer { gp in
            let groups = gp.baseAddress!
            @inline(__always) func fl(_ p: Int) -> UInt8 { flags(text, p, end, table, groups) }
            var pos = start
            var prevEnd = start
            @inline(__always) func emit(_ e: Int) {
                if e > prevEnd { out.append(e) }
                prevEnd = e
            }
            while pos < end {
                let cpt = text[pos]
                let f = fl(pos)
                // 's|'t|'re|'ve|'m|'ll|'d
                if cpt == 0x27 && pos + 1 < end {
                    let n1 = text[pos + 1]
                    if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                        emit(pos + 2); pos += 2; continue
                    }
                    if pos + 2 < end {
                        let n2 = text[pos + 2]
                        if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                            emit(pos + 3); pos += 3; continue
                        }
                    }
                }
                var f2 = cpt == 0x20 ? fl(pos + 1) : f
                // ' ?\p{L}+'
                if f2 & fLetter != 0 {
                    if cpt == 0x20 { pos += 1 }
                    while f2 & fLetter != 0 { pos += 1; f2 = fl(pos) }
                    emit(pos)
                    continue
                }
                // ' ?\p{N}+'
                if f2 & fNumber != 0 {
                    if cpt == 0x20 { pos += 1 }
                    while f2 & fNumber != 0 { pos += 1; f2 = fl(pos) }
                    emit(pos)
                    continue
                }
                // ' ?[^\s\p{L}\p{N}]+'
                if f2 & (fSpace | fLetter | fNumber) == 0 && f2 & fInside != 0 {
                    if cpt == 0x20 { pos += 1 }
                    while f2 & (fSpace | fLetter | fNumber) == 0 && f2 & fInside != 0 { pos += 1; f2 = fl(pos) }
                    emit(pos)
                    continue
                }
                var spaces = 0
                while fl(pos + spaces) & fSpace != 0 { spaces += 1 }
                // '\s+(?!\S)'
                if spaces > 1 && pos + spaces < end {
                    pos += spaces - 1
                    emit(pos)
                    continue
                }
                // '\s+'
                if spaces > 0 {
                    pos += spaces
                    emit(pos)
                    continue
                }
                // no match: the code point stands alone
                pos += 1
                emit(pos)
            }
        }
    }

    @inline(__always)
    private static func lowerForContraction(_ c: UInt32, foldCase: Bool) -> UInt32 {
        if c >= 0x41 && c <= 0x5A { return c + 0x20 }
        if c < 0x80 { return c }
        return foldCase ? CaseMapping.fold(c) : CaseMapping.lower(c)
    }

    private static func splitLlama3(_ text: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, digitRun: Int, marks: Bool,
                                    foldCase: Bool, into out: inout [Int]) {
        let table = CharInfo.table
        let wordFlags = marks ? (fLetter | fMark) : fLetter
        let restFlags = marks ? (fSpace | fLetter | fMark | fNumber) : (fSpace | fLetter | fNumber)
        groupFlags.withUnsafeBufferPointer { gp in
            let groups = gp.baseAddress!
            @inline(__always) func fl(_ p: Int) -> UInt8 { flags(text, p, end, table, groups) }
            @inline(__always) func cp(_ p: Int) -> UInt32 { p < end ? text[p] : 0xFFFF_FFFF }
            var pos = start
            var prevEnd = start
            @inline(__always) func emit(_ e: Int) {
                if e > prevEnd { out.append(e) }
                prevEnd = e
            }
            while pos < end {
                let cpt = text[pos]
                let f = fl(pos)
                // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                if cpt == 0x27 && pos + 1 < end {
                    let n1 = lowerForContraction(text[pos + 1], foldCase: foldCase)
                    if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                        emit(pos + 2); pos += 2; continue
                    }
                    if pos + 2 < end {
                        let n2 = lowerForContraction(text[pos + 2], foldCase: foldCase)
                        if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                            emit(pos + 3); pos += 3; continue
                        }
                    }
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+   (or [\p{L}\p{M}]+)
                if !(cpt == 0x0D || cpt == 0x0A || f & fNumber != 0) {
                    if f & wordFlags != 0 || fl(pos + 1) & wordFlags != 0 {
                        pos += 1
                        while fl(pos) & wordFlags != 0 { pos += 1 }
                        emit(pos)
                        continue
                    }
                }
                // \p{N}{1,3} or \p{N}
                if f & fNumber != 0 {
                    var ini = pos
                    while fl(pos) & fNumber != 0 {
                        pos += 1
                        if pos - ini >= digitRun {
                            emit(pos)
                            ini = pos
                        }
                    }
                    emit(pos)
                    continue
                }
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                var f2 = cpt == 0x20 ? fl(pos + 1) : f
                if f2 & restFlags == 0 && f != 0 {
                    if cpt == 0x20 { pos += 1 }
                    while f2 & restFlags == 0 && f2 & fInside != 0 { pos += 1; f2 = fl(pos) }
                    var c2 = cp(pos)
                    while c2 == 0x0D || c2 == 0x0A { pos += 1; c2 = cp(pos) }
                    emit(pos)
                    continue
                }
                var spaces = 0
                var lastNewlineEnd = 0
                while fl(pos + spaces) & fSpace != 0 {
                    let c2 = text[pos + spaces]
                    if c2 == 0x0D || c2 == 0x0A { lastNewlineEnd = pos + spaces + 1 }
                    spaces += 1
                }
                // \s*[\r\n]+
                if lastNewlineEnd > 0 {
                    pos = lastNewlineEnd
                    emit(pos)
                    continue
                }
                // \s+(?!\S)
                if spaces > 1 && pos + spaces < end {
                    pos += spaces - 1
                    emit(pos)
                    continue
                }
                // \s+
                if spaces > 0 {
                    pos += spaces
                    emit(pos)
                    continue
                }
                pos += 1
                emit(pos)
            }
        }
    }
}
