import LoomCore

/// HF tokenizers' BertNormalizer, step by step as HF runs it: clean_text (control characters,
/// NUL and U+FFFD removed, white space → " "), handle_chinese_chars (spaces around CJK
/// ideographs), strip_accents (NFD, then nonspacing marks removed), lowercase (full mapping).
/// Character classes are HF's own (BertCharacterClasses). ASCII takes a fast path.
struct BertNormalizer: Sendable {
    let cleanText: Bool
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool
    /// What each ASCII character becomes (`dropped`: nothing): NFD leaves ASCII alone and it has
    /// no marks, so every step is decided per character.
    private let asciiMap: [UInt32]

    /// tokenizer.json's fields; `strip_accents: null` follows `lowercase`, as in HF.
    init(json: JSONValue) {
        let lowercase = json["lowercase"]?.bool ?? true
        self.init(cleanText: json["clean_text"]?.bool ?? true, handleChineseChars: json["handle_chinese_chars"]?.bool ?? true,
                  stripAccents: json["strip_accents"]?.bool ?? lowercase, lowercase: lowercase)
    }

    init(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
        asciiMap = (0..<128).map { (c: UInt32) -> UInt32 in
            if cleanText {
                if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { return 0x20 }
                if c < 0x20 || c == 0x7F { return Self.dropped }
            }
            return lowercase && c &- 0x41 < 26 ? c + 0x20 : c
        }
    }

    /// HF's NFD data predates U+11938 DIVES AKURU VOWEL SIGN O's decomposition (Unicode 13).
    private static let undecomposed: UInt32 = 0x11938

    private static let dropped = UInt32.max

    func apply(_ text: [UInt32]) -> [UInt32] {
        if text.allSatisfy({ $0 < 0x80 }) { return applyASCII(text) }
        var out: [UInt32] = []
        out.reserveCapacity(text.count + 8)
        // Without strip_accents lowercasing can happen in this pass (every step is per character);
        // with it, non-ASCII characters are lowercased after NFD, as in HF.
        let lowerNow = lowercase && !stripAccents
        var sawNonASCII = false
        for c in text {
            if c < 0x80 {
                let v = asciiMap[Int(c)]
                if v != Self.dropped { out.append(v) }
                continue
            }
            let f = BertCharacterClasses.flags(c)
            if cleanText {
                if f & BertCharacterClasses.control != 0 { continue }
                if f & BertCharacterClasses.whitespace != 0 {
                    out.append(0x20)
                    continue
                }
            }
            sawNonASCII = true
            if handleChineseChars && f & BertCharacterClasses.chinese != 0 {
                out.append(0x20)
                out.append(c)
                out.append(0x20)
            } else if lowerNow {
                LowercaseTable.appendFull(c, to: &out)
            } else {
                out.append(c)
            }
        }
        guard stripAccents && sawNonASCII else { return out }

        let decomposed = Self.nfd(out)
        var result: [UInt32] = []
        result.reserveCapacity(decomposed.count)
        for c in decomposed {
            if c >= 0x80 && BertCharacterClasses.flags(c) & BertCharacterClasses.nonspacingMark != 0 { continue }
            if lowercase { LowercaseTable.appendFull(c, to: &result) } else { result.append(c) }
        }
        return result
    }

    /// All-ASCII text (the common case): one table look-up per character into an exact buffer.
    private func applyASCII(_ text: [UInt32]) -> [UInt32] {
        asciiMap.withUnsafeBufferPointer { m in
            [UInt32](unsafeUninitializedCapacity: text.count) { buffer, count in
                var w = 0
                for c in text {
                    let v = m[Int(c & 0x7F)]
                    if v != Self.dropped {
                        buffer[w] = v
                        w += 1
                    }
                }
                count = w
            }
        }
    }

    /// NFD as HF computes it. U+11938 is a starter that nothing reorders across, so the text
    /// between occurrences normalizes independently.
    private static func nfd(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(undecomposed) else { return UnicodeNormalization.normalize(text, .nfd) }
        var out: [UInt32] = []
        out.reserveCapacity(text.count + text.count / 4)
        var start = 0
        for (i, c) in text.enumerated() where c == undecomposed {
            out += UnicodeNormalization.normalize(Array(text[start..<i]), .nfd)
            out.append(c)
            start = i + 1
        }
        out += UnicodeNormalization.normalize(Array(text[start...]), .nfd)
        return out
    }
}
