/// Streaming detokenization.
///
/// A byte-level token is a run of bytes, not of characters: "é" may arrive as two tokens, an
/// emoji as up to four. Printing each `tokenToPiece` result as it comes would show U+FFFD and
/// then the wrong text. `StreamingDecoder` keeps the bytes of an unfinished UTF-8 sequence until
/// the token that completes it arrives, and hands out only complete characters. (The llama.cpp
/// space clean-up that `detokenize` may apply works on the whole text; streamed output is the
/// plain concatenation of pieces.)
///
/// One decoder per stream; it is a value type with no shared state.
public struct StreamingDecoder: Sendable {
    private var pending: [UInt8] = []
    public let renderSpecial: Bool

    public init(renderSpecial: Bool = false) {
        self.renderSpecial = renderSpecial
    }

    /// Appends a token; returns the bytes of the characters it completes (possibly none).
    public mutating func push(_ id: Int32, _ tokenizer: Tokenizer) throws -> [UInt8] {
        pending.append(contentsOf: try tokenizer.tokenToPiece(id, renderSpecial: renderSpecial))
        let cut = Self.completePrefixLength(pending)
        let out = Array(pending[..<cut])
        pending.removeSubrange(..<cut)
        return out
    }

    /// Appends a token; returns the characters it completes as text.
    public mutating func pushText(_ id: Int32, _ tokenizer: Tokenizer) throws -> String {
        String(decoding: try push(id, tokenizer), as: UTF8.self)
    }

    /// The bytes still held (an incomplete character at the end of the stream); clears them.
    public mutating func flush() -> [UInt8] {
        defer { pending.removeAll() }
        return pending
    }

    /// Length of the longest prefix that does not end inside an incomplete UTF-8 sequence.
    /// Invalid bytes are let through (they can never be completed).
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // Look back at most 3 bytes for the start of the last sequence.
        var i = n - 1
        var back = 0
        while i >= 0 && back < 4 {
            let c = b[i]
            if c & 0xC0 != 0x80 {
                let need: Int
                if c < 0x80 { need = 1 } else if c & 0xE0 == 0xC0 { need = 2 } else if c & 0xF0 == 0xE0 { need = 3 } else if c & 0xF8 == 0xF0 { need = 4 } else { need = 1 }
                return n - i < need ? i : n
            }
            i -= 1
            back += 1
        }
        return n
    }
}
