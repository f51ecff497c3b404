/// Token → bytes ("pieces") and the text clean-ups applied after concatenation.

/// Every token's piece, computed once at load time: one arena, offsets per id.
struct TokenPieces: Sendable {
    let arena: [UInt8]
    let offsets: [Int]

    init(_ pieces: [[UInt8]]) {
        var arena: [UInt8] = []
        arena.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
        var offsets: [Int] = [0]
        offsets.reserveCapacity(pieces.count + 1)
        for p in pieces {
            arena.append(contentsOf: p)
            offsets.append(arena.count)
        }
        self.arena = arena
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }

    func append(_ id: Int, to out: inout [UInt8]) {
        out.append(contentsOf: arena[offsets[id]..<offsets[id + 1]])
    }

    func bytes(_ id: Int) -> [UInt8] { Array(arena[offsets[id]..<offsets[id + 1]]) }

    /// llama.cpp's `token_to_piece` for a BPE vocabulary (with special = true): control, unknown
    /// and user-defined tokens as stored; normal tokens mapped back from GPT-2 byte-level code
    /// points (with llama.cpp's "[UNK_BYTE_0x..]" for unmappable ones); byte tokens `<0xXX>` as
    /// their byte; anything else empty.
    static func llamaPiece(text: String, attributes a: TokenAttributes) -> [UInt8] {
        if !a.intersection([.unknown, .control, .userDefined]).isEmpty { return Array(text.utf8) }
        if a.contains(.normal) {
            var out: [UInt8] = []
            let utf8 = Array(text.utf8)
            for cp in UTF8Coding.decode(utf8) {
                if let b = ByteLevel.byte(for: cp) {
                    out.append(b)
                } else {
                    var enc: [UInt8] = []
                    UTF8Coding.append(cp, to: &enc)
                    out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                    let hex = Array("0123456789abcdef".utf8)
                    for b in enc { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
                    out.append(contentsOf: utf8)
                    out.append(UInt8(ascii: "]"))
                }
            }
            return out
        }
        if a.contains(.byte) {
            // "<0xXX>": strtol on characters 3..4 (0 when they are not hex).
            let u = Array(text.utf8)
            var v = 0
            if u.count >= 5 {
                for c in u[3..<5] {
                    guard let d = hexDigit(c) else { break }
                    v = v * 16 + d
                }
            }
            return [UInt8(truncatingIfNeeded: v)]
        }
        return []
    }

    static func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }

    /// HF's ByteLevel decoder for one token: its code points mapped back to bytes, or the raw
    /// UTF-8 text when any code point is outside the byte map.
    static func byteLevelPiece(text: String) -> [UInt8] {
        ByteLevel.decode(text) ?? Array(text.utf8)
    }

    /// Every token's contribution to decoded text in the middle of a sequence, under an HF decoder
    /// chain: byte tokens give their byte; otherwise decode(["a", token]) minus decode(["a"]), so
    /// first-token rules (Metaspace, WordPiece, Strip after Fuse) do not apply.
    static func pieces(texts: [String], decoder: TokenDecoder?) -> TokenPieces {
        guard let decoder else { return TokenPieces(texts.map { Array($0.utf8) }) }
        if decoder.isByteLevelOnly { return TokenPieces(texts.map { byteLevelPiece(text: $0) }) }
        let anchor: [UInt8] = [0x61]
        let head = decoder.decode([anchor])  // the same for every token
        let byteFallback = decoder.hasByteFallback
        return TokenPieces(texts.map { text in
            let token = Array(text.utf8)
            if byteFallback, let b = TokenDecoder.byteToken(token) { return [b] }
            let both = decoder.decode([anchor, token])
            if both.starts(with: head) { return Array(both[head.count...]) }
            return decoder.decode([token])
        })
    }

    static func byteLevelPiece(bytes: [UInt8]) -> [UInt8] {
        byteLevelPiece(text: String(decoding: bytes, as: UTF8.self))
    }
}

/// Post-concatenation clean-up of decoded text.
enum CleanUp: Sendable {
    case none
    /// llama.cpp's `clean_spaces` (detokenize): " ?", " !", " .", " ," lose the space; a lone
    /// " ' " loses both spaces; " 's", " 'm", " 're", " 've" lose the space.
    case llama
    /// transformers' `clean_up_tokenization`.
    case hf

    func apply(_ text: [UInt8]) -> [UInt8] {
        switch self {
        case .none: return text
        case .llama: return Self.llamaClean(text)
        case .hf: return Self.hfClean(text)
        }
    }

    private static func llamaClean(_ input: [UInt8]) -> [UInt8] {
        var text = input
        let sp = UInt8(ascii: " "), ap = UInt8(ascii: "'")
        // first pass: " ?", " !", " .", " ,"
        var total = text.isEmpty ? 0 : 1
        for i in 1..<max(text.count, 1) {
            let x = text[i]
            if text[i - 1] == sp && (x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".") || x == UInt8(ascii: ",")) {
                total -= 1
            }
            text[total] = x
            total += 1
        }
        text.removeSubrange(total...)
        // second pass: " ' " → "'"
        let total2 = text.count
        total = total2 == 0 ? 0 : 1
        var i = 1
        while i < total2 {
            let x = text[i]
            if x == ap && i + 1 < total2 && text[i - 1] == sp && text[i + 1] == sp {
                total -= 1
                i += 1
                text[i] = 0
            }
            text[total] = x
            total += 1
            i += 1
        }
        text.removeSubrange(total...)
        // third pass: contractions
        let total3 = text.count
        total = total3 == 0 ? 0 : 1
        i = 1
        while i < total3 {
            let x = text[i]
            if text[i - 1] == sp && x == ap && i + 1 < total3 {
                let x1 = text[i + 1]
                if x1 == UInt8(ascii: "t") || x1 == UInt8(ascii: "d") {
                    // kept
                } else if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                    total -= 1
                } else if i + 2 < total3 {
                    let x2 = text[i + 2]
                    if (x1 == UInt8(ascii: "r") && x2 == UInt8(ascii: "e")) || (x1 == UInt8(ascii: "v") && x2 == UInt8(ascii: "e")) {
                        total -= 1
                    }
                }
            }
            text[total] = x
            total += 1
            i += 1
        }
        text.removeSubrange(total...)
        return text
    }

    /// HF's WordPiece decoder clean-up (transformers' list plus " do not" → " don't").
    static func wordPieceClean(_ input: [UInt8]) -> [UInt8] {
        var t = input
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            t = replaceAll(t, Array(from.utf8), Array(to.utf8))
        }
        return t
    }

    private static func hfClean(_ input: [UInt8]) -> [UInt8] {
        var t = input
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            t = replaceAll(t, Array(from.utf8), Array(to.utf8))
        }
        return t
    }

    static func replaceAll(_ s: [UInt8], _ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        guard s.count >= a.count else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + a.count <= s.count && s[i] == a[0] && s[i..<i + a.count].elementsEqual(a) {
                out.append(contentsOf: b)
                i += a.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
