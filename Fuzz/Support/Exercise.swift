import LoomCore
import LoomModels
import LoomTokenizers

/// What the fuzz targets do with whatever loaded: every query a program would make next.
public enum Exercise {
    /// Tokenizes the sample text (with and without specials), decodes the ids back, streams them and
    /// asks for pieces and texts of a few ids, valid and not.
    public static func tokenizer(_ tok: Tokenizer, text: String = Fuzz.sampleText) {
        for (add, parse) in [(true, true), (false, false)] {
            guard let ids = try? tok.tokenize(text, addSpecial: add, parseSpecial: parse) else { continue }
            _ = try? tok.detokenize(ids, renderSpecial: parse)
            _ = try? tok.decode(ids, renderSpecial: !parse)
            var stream = StreamingDecoder(renderSpecial: parse)
            for id in ids.prefix(64) { _ = try? stream.push(id, tok) }
            _ = stream.flush()
        }
        let n = Int32(truncatingIfNeeded: tok.vocabSize)
        for id in [0, 1, 2, n / 2, n - 1, n, -1] {
            _ = try? tok.tokenToPiece(id, renderSpecial: true)
            _ = try? tok.tokenText(id)
        }
        _ = tok.endOfGenerationTokens
    }

    /// Metadata, tokenizer, then one small forward pass of whatever network the model has.
    public static func model(_ m: Model) {
        for (k, v) in m.metadata.prefix(256) { _ = m.metadataValue(k); _ = v.utf8.count }
        _ = m.chatTemplate
        _ = m.tensorTotals
        let tok = try? m.tokenizer()
        if let tok { tokenizer(tok) }
        if m.network != nil, let ctx = Fuzz.attempt("context", { try Context(model: m, params: ContextParams(contextLength: 8, batchSize: 4, threads: 1, maxSequences: 2)) }) {
            let v = Int32(truncatingIfNeeded: ctx.vocabSize)
            _ = Fuzz.attempt("decode", { try ctx.decode([0, max(0, v - 1), 1], logits: .all) })
            _ = try? ctx.logits(row: 0)
            _ = try? ctx.decode([1], sequence: 1)
        }
        if let enc = m.encoder {
            _ = Fuzz.attempt("encode", { try enc.encode([[0, 1, 2], [1]], threads: 1) })
        }
        if m.seq2seq != nil {
            _ = Fuzz.attempt("generate", { try m.seq2seqGenerate(ids: [0, 1], maxNewTokens: 2, threadCount: 1) })
        }
    }
}
