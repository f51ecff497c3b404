/// HF tokenizers' character-class pre-tokenizers: BertPreTokenizer, Whitespace and Punctuation.
/// Each cuts every piece of `p` and appends the new [start, end) pairs to `out`. ASCII is
/// classified from a 128-entry table; other code points from HF's own classes
/// (BertCharacterClasses) or, for Whitespace's Rust regex, CharInfo up to Unicode 16.0 (UnicodeAge).
extension PreTokenizer {
    private static let asciiOther: UInt8 = 0, asciiSpace: UInt8 = 1, asciiPunctuation: UInt8 = 2, asciiWord: UInt8 = 4

    /// ASCII classes: White_Space, HF punctuation (all ASCII punctuation and symbols), `\w`.
    private static let asciiClasses: [UInt8] = (0..<128).map { (c: Int) -> UInt8 in
        if c == 0x20 || (c >= 0x09 && c <= 0x0D) { return asciiSpace }
        if (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F {
            return c == 0x5F ? asciiWord | asciiPunctuation : asciiWord
        }
        if c >= 0x21 && c <= 0x7E { return asciiPunctuation }
        return asciiOther
    }

    /// BertPreTokenizer: white space removed, then each punctuation character isolated.
    static func splitBert(_ p: Pieces, into out: inout [Int]) {
        let table = BertCharacterClasses.table
        let limit = BertCharacterClasses.tableLimit
        asciiClasses.withUnsafeBufferPointer { ascii in
            p.text.withUnsafeBufferPointer { t in
                var k = 0
                while k + 1 < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    k += 2
                    var runStart = -1
                    var i = a
                    while i < b {
                        let c = t[i]
                        let isSpace: Bool, isPunctuation: Bool
                        if c < 0x80 {
                            let cls = ascii[Int(c)]
                            isSpace = cls == asciiSpace
                            isPunctuation = cls & asciiPunctuation != 0
                        } else {
                            let f = c < limit ? table[Int(c)] : BertCharacterClasses.flags(c)
                            isSpace = f & BertCharacterClasses.whitespace != 0
                            isPunctuation = f & BertCharacterClasses.punctuation != 0
                        }
                        if isSpace || isPunctuation {
                            if runStart >= 0 {
                                out.append(runStart)
                                out.append(i)
                                runStart = -1
                            }
                            if isPunctuation {
                                out.append(i)
                                out.append(i + 1)
                            }
                        } else if runStart < 0 {
                            runStart = i
                        }
                        i += 1
                    }
                    if runStart >= 0 {
                        out.append(runStart)
                        out.append(b)
                    }
                }
            }
        }
    }

    /// Whitespace: the matches of Rust's `\w+|[^\w\s]+` (Unicode classes), the rest removed.
    static func splitWhitespaceRegex(_ p: Pieces, into out: inout [Int]) {
        asciiClasses.withUnsafeBufferPointer { ascii in
            p.text.withUnsafeBufferPointer { t in
                var k = 0
                while k + 1 < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    k += 2
                    // 0: white space (between pieces), 1: word run, 2: other run.
                    var runStart = a
                    var runKind = 0
                    var i = a
                    while i < b {
                        let c = t[i]
                        let kind: Int
                        if c < 0x80 {
                            let cls = ascii[Int(c)]
                            kind = cls == asciiSpace ? 0 : (cls & asciiWord != 0 ? 1 : 2)
                        } else if UnicodeAge.isAfter16_0(c) {
                            kind = 2  // unassigned for the regex crate: neither \w nor \s
                        } else if CharInfo.isWordCharacter(c, joinControl: true) {
                            kind = 1
                        } else {
                            kind = CharInfo.isWhitespace(c) ? 0 : 2
                        }
                        if kind != runKind {
                            if runKind != 0 {
                                out.append(runStart)
                                out.append(i)
                            }
                            runStart = i
                            runKind = kind
                        }
                        i += 1
                    }
                    if runKind != 0 {
                        out.append(runStart)
                        out.append(b)
                    }
                }
            }
        }
    }

    /// Punctuation: every punctuation character is a delimiter, treated as `behavior` says.
    static func splitPunctuation(_ p: Pieces, behavior: SplitBehavior, into out: inout [Int]) {
        let table = BertCharacterClasses.table
        let limit = BertCharacterClasses.tableLimit
        var marked: [(Int, Int, Bool)] = []
        asciiClasses.withUnsafeBufferPointer { ascii in
            p.text.withUnsafeBufferPointer { t in
                var k = 0
                while k + 1 < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    k += 2
                    marked.removeAll(keepingCapacity: true)
                    var prev = a
                    for i in a..<b {
                        let c = t[i]
                        let isPunctuation = c < 0x80
                            ? ascii[Int(c)] & asciiPunctuation != 0
                            : (c < limit ? table[Int(c)] : BertCharacterClasses.flags(c)) & BertCharacterClasses.punctuation != 0
                        guard isPunctuation else { continue }
                        if prev < i { marked.append((prev, i, false)) }
                        marked.append((i, i + 1, true))
                        prev = i + 1
                    }
                    if prev < b { marked.append((prev, b, false)) }
                    if behavior == .isolated {
                        for m in marked {
                            out.append(m.0)
                            out.append(m.1)
                        }
                    } else {
                        for (s, e) in applyBehavior(marked, behavior) where e > s {
                            out.append(s)
                            out.append(e)
                        }
                    }
                }
            }
        }
    }
}
