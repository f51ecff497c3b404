import LoomCore

/// llama.cpp's SentencePiece encoding (LLAMA_VOCAB_TYPE_SPM) of the text fragments: a space in
/// front of a fragment that starts the input or follows a special token (add_space_prefix),
/// every space as "▁", then `SentencePieceBPE` over the whole fragment's raw bytes (no
/// pre-tokenizer; invalid UTF-8 is merged and byte-spelled as it is, like llama.cpp).
struct SentencePieceEncoder: TextEncoder {
    let model: SentencePieceBPE
    let addSpacePrefix: Bool

    func encode(_ utf8: UnsafeRawBufferPointer, _ fragments: [Fragment], parseSpecial: Bool,
                into out: inout [Int32]) throws {
        var scratch = SentencePieceBPE.Scratch()
        var text: [UInt8] = []
        var afterSpecial = true
        for f in fragments {
            switch f {
            case .token(let id):
                out.append(id)
                afterSpecial = true
            case .text(let a, let b):
                guard a <= b, b <= utf8.count else { throw LoomError(.internal, "special-token partition produced a bad fragment") }
                // Room for the prefix and every byte a space.
                let room = 3 * (b - a + 1)
                if text.count < room { text = [UInt8](repeating: 0, count: room) }
                let prefix = addSpacePrefix && afterSpecial
                let length = text.withUnsafeMutableBufferPointer { buffer in
                    Self.escape(UnsafeRawBufferPointer(rebasing: utf8[a..<b]), prefix: prefix, into: buffer)
                }
                text.withUnsafeBufferPointer { model.encode(UnsafeBufferPointer(rebasing: $0[..<length]), &scratch, into: &out) }
                afterSpecial = false
            }
        }
    }

    /// Writes `bytes` with each space as "▁" (llama_escape_whitespace), after one "▁" when
    /// `prefix`; returns the length. `buffer` holds at least 3 × (count + 1) bytes.
    static func escape(_ bytes: UnsafeRawBufferPointer, prefix: Bool, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var w = 0
        func meta() {
            buffer[w] = 0xE2
            buffer[w + 1] = 0x96
            buffer[w + 2] = 0x81
            w += 3
        }
        if prefix { meta() }
        for c in bytes {
            if c == 0x20 {
                meta()
            } else {
                buffer[w] = c
                w += 1
            }
        }
        return w
    }
}
