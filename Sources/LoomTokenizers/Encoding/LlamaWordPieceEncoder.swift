import LoomCore

/// llama.cpp's WPM tokenizer (`llm_tokenizer_wpm_session`) for GGUF "bert" vocabularies, whose
/// converter spells word-initial pieces with a leading "▁" and continuation pieces bare.
///
/// Per text fragment, `preprocess`: each code point is mapped to the first code point of its NFD
/// (when stripping accents), white space ends a word, NUL / U+FFFD / control characters are
/// dropped, marks are dropped (when stripping accents), the rest is lowercased (simple mapping);
/// punctuation, ASCII symbols and CJK ideographs become one-character words. Each word, with "▁"
/// in front, is then covered greedily by the longest vocabulary texts (any token, special ones
/// included); a word with an uncovered part becomes the unknown token.
///
/// Character classes come from the Swift runtime's Unicode data (CharInfo), restricted to what
/// llama.cpp's Unicode 15.1 tables know (UnicodeAge).
struct LlamaWordPieceEncoder: TextEncoder {
    /// Every token text → id (the last of duplicate texts, as llama.cpp's `token_to_id`).
    let vocabulary: ByteStringTable
    /// Longest token text in bytes (llama.cpp's `max_token_len`).
    let maxTokenLength: Int
    let unk: Int32?
    let lowercase: Bool
    let stripAccents: Bool

    private struct Scratch {
        var scalars: [UInt32] = []
        /// The current word as UTF-8 after "▁".
        var word: [UInt8] = Array(LlamaWordPieceEncoder.wordPrefix)
    }

    /// "▁" (U+2581), the phantom space of word-initial pieces.
    static let wordPrefix: [UInt8] = [0xE2, 0x96, 0x81]

    func encode(_ utf8: UnsafeRawBufferPointer, _ fragments: [Fragment], parseSpecial: Bool,
                into out: inout [Int32]) throws {
        var s = Scratch()
        for f in fragments {
            switch f {
            case .token(let id):
                out.append(id)
            case .text(let a, let b):
                guard a >= 0, a <= b, b <= utf8.count else { throw LoomError(.internal, "bad text fragment") }
                encodeText(UnsafeRawBufferPointer(rebasing: utf8[a..<b]), &s, &out)
            }
        }
    }

    private func encodeText(_ raw: UnsafeRawBufferPointer, _ s: inout Scratch, _ out: inout [Int32]) {
        s.scalars.removeAll(keepingCapacity: true)
        UTF8Coding.decode(raw, into: &s.scalars)
        let prefixLength = Self.wordPrefix.count
        s.word.removeSubrange(prefixLength...)
        for var c in s.scalars {
            if c < 0x80 {
                if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                    emitWord(&s.word, &out)
                    continue
                }
                if c < 0x20 || c == 0x7F { continue }  // NUL and other controls
                if Self.isASCIILetterOrDigit(c) {
                    s.word.append(UInt8(lowercase && c &- 0x41 < 26 ? c + 0x20 : c))
                } else {
                    // ASCII punctuation and symbols stand alone.
                    emitWord(&s.word, &out)
                    s.word.append(UInt8(c))
                    emitWord(&s.word, &out)
                }
                continue
            }
            if stripAccents { c = LlamaFirstOfNFD.map(c) }
            if UnicodeAge.isAfter15_1(c) {
                // No flags in llama.cpp's tables: an ordinary character, not lowercased (but the
                // CJK blocks are ranges there, so new ideographs in them stand alone).
                if BertCharacterClasses.isChinese(c) { emitWord(&s.word, &out) }
                UTF8Coding.append(c, to: &s.word)
                if BertCharacterClasses.isChinese(c) { emitWord(&s.word, &out) }
                continue
            }
            let raw = CharInfo.raw(c)
            if raw & CharInfo.whitespaceBit != 0 {
                emitWord(&s.word, &out)
                continue
            }
            let category = UInt32(1) << UInt32(raw & 0x1F)
            if c < 0x80 {
                // An NFD map landed in ASCII (À → A): ASCII rules.
                if Self.isASCIILetterOrDigit(c) {
                    s.word.append(UInt8(lowercase && c &- 0x41 < 26 ? c + 0x20 : c))
                } else if c >= 0x21 && c < 0x7F {
                    emitWord(&s.word, &out)
                    s.word.append(UInt8(c))
                    emitWord(&s.word, &out)
                }
                continue
            }
            if c == UTF8Coding.replacement || category & Self.controlCategories != 0 { continue }
            if stripAccents && category & CategoryMask.mark != 0 { continue }
            let lowered = lowercase ? LowercaseTable.simple(c) : c
            if category & CategoryMask.punctuation != 0 || BertCharacterClasses.isChinese(c) {
                emitWord(&s.word, &out)
                UTF8Coding.append(lowered, to: &s.word)
                emitWord(&s.word, &out)
            } else {
                UTF8Coding.append(lowered, to: &s.word)
            }
        }
        emitWord(&s.word, &out)
    }

    /// llama.cpp's \p{C} without unassigned code points (its tables mark those undefined).
    private static let controlCategories = CategoryMask.of(.cc, .cf, .co, .cs)

    @inline(__always)
    private static func isASCIILetterOrDigit(_ c: UInt32) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c &- 0x41 < 26) || (c &- 0x61 < 26)
    }

    /// Tokenizes the word in `word` ("▁" + text; nothing when the text is empty) and empties it.
    private func emitWord(_ word: inout [UInt8], _ out: inout [Int32]) {
        let n = word.count
        let prefixLength = Self.wordPrefix.count
        guard n > prefixLength else { return }
        defer { word.removeSubrange(prefixLength...) }
        let firstPiece = out.count
        word.withUnsafeBufferPointer { w in
            guard let base = w.baseAddress else { return }
            var i = 0
            while i < n {
                // Longest first; only ends on character boundaries can match (tokens are UTF-8).
                var j = min(n, i + maxTokenLength + 1)
                while j > i && j < n && WordPieceModel.isContinuationByte(base[j]) { j -= 1 }
                var matched = false
                while j > i {
                    if let id = vocabulary.lookup(base + i, j - i) {
                        out.append(id)
                        matched = true
                        break
                    }
                    j -= 1
                    while j > i && WordPieceModel.isContinuationByte(base[j]) { j -= 1 }
                }
                guard matched else {
                    out.removeSubrange(firstPiece...)
                    break
                }
                i = j
            }
        }
        // (llama.cpp appends LLAMA_TOKEN_NULL when the vocabulary has no unknown token; nothing here.)
        if out.count == firstPiece, let unk { out.append(unk) }
    }
}

/// llama.cpp's `unicode_cpts_normalize_nfd`: each code point becomes the FIRST code point of its
/// canonical decomposition (é → e; the accent is not kept), tabulated once from
/// UnicodeNormalization; Hangul syllables map to their leading consonant.
enum LlamaFirstOfNFD {
    /// No code point at or above this has a canonical decomposition.
    private static let limit: UInt32 = 0x2FA20
    /// Below this nothing decomposes.
    private static let start: UInt32 = 0xC0

    private struct Tables: @unchecked Sendable {
        /// One bit per code point below `limit`: has a decomposition.
        let decomposes: UnsafePointer<UInt64>
        let first: [UInt32: UInt32]
    }

    private static let tables: Tables = {
        let words = Int(limit) / 64 + 1
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bits.initialize(repeating: 0, count: words)
        var first: [UInt32: UInt32] = [:]
        var decomposed: [UInt32] = []
        let normalization = NormalizationTables.shared
        var cp = start
        while cp < limit {
            defer { cp += 1 }
            if cp &- Hangul.sBase < Hangul.sCount { continue }
            // Only code points with a canonical decomposition can change.
            guard normalization.info(cp) & NormalizationTables.canonicalBit != 0 else { continue }
            decomposed.removeAll(keepingCapacity: true)
            var c = cp
            withUnsafePointer(to: &c) { UnicodeNormalization.appendNormalized(UnsafeBufferPointer(start: $0, count: 1), .nfd, to: &decomposed) }
            guard let head = decomposed.first, head != cp else { continue }
            bits[Int(cp >> 6)] |= 1 << UInt64(cp & 63)
            first[cp] = head
        }
        return Tables(decomposes: UnsafePointer(bits), first: first)
    }()

    @inline(__always)
    static func map(_ cp: UInt32) -> UInt32 {
        if cp < start || cp >= limit { return cp }
        let syllable = cp &- Hangul.sBase
        if syllable < Hangul.sCount { return Hangul.lBase + syllable / Hangul.nCount }
        let t = tables
        guard t.decomposes[Int(cp >> 6)] & (1 << UInt64(cp & 63)) != 0 else { return cp }
        return t.first[cp] ?? cp
    }
}
