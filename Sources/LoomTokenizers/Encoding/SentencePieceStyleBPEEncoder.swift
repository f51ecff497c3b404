import LoomCore

/// llama.cpp's BPE path for SentencePiece-style BPE vocabularies (pre-tokenizer GEMMA4): spaces
/// as "▁" (escape_whitespaces), invalid UTF-8 as U+FFFD (its regex split decodes the text), words
/// = runs of newlines and runs of everything else ("[^\n]+|[\n]+"), each merged on its own with
/// `SentencePieceBPE`. A run of newlines that is itself a token stays whole (llama.cpp's Gemma 4
/// fix, PR 21343).
struct SentencePieceStyleBPEEncoder: TextEncoder {
    let model: SentencePieceBPE

    func encode(_ utf8: UnsafeRawBufferPointer, _ fragments: [Fragment], parseSpecial: Bool,
                into out: inout [Int32]) throws {
        var scratch = SentencePieceBPE.Scratch()
        var scalars: [UInt32] = []
        var text: [UInt8] = []
        for f in fragments {
            switch f {
            case .token(let id):
                out.append(id)
            case .text(let a, let b):
                guard a <= b, b <= utf8.count else { throw LoomError(.internal, "special-token partition produced a bad fragment") }
                scalars.removeAll(keepingCapacity: true)
                UTF8Coding.decode(UnsafeRawBufferPointer(rebasing: utf8[a..<b]), into: &scalars)
                text.removeAll(keepingCapacity: true)
                text.reserveCapacity(scalars.count + scalars.count / 2)
                for c in scalars {
                    if c == 0x20 {
                        text.append(contentsOf: SentencePieceBPE.meta)
                    } else {
                        UTF8Coding.append(c, to: &text)
                    }
                }
                text.withUnsafeBufferPointer { encodeWords($0, &scratch, &out) }
            }
        }
    }

    private func encodeWords(_ text: UnsafeBufferPointer<UInt8>, _ scratch: inout SentencePieceBPE.Scratch, _ out: inout [Int32]) {
        let n = text.count
        var start = 0
        while start < n {
            let newlines = text[start] == 0x0A
            var end = start + 1
            while end < n && (text[end] == 0x0A) == newlines { end += 1 }
            let word = UnsafeBufferPointer(rebasing: text[start..<end])
            if newlines, let id = model.tokenID(word) {
                out.append(id)
            } else {
                model.encode(word, &scratch, into: &out)
            }
            start = end
        }
    }
}
