import LoomCore
import LoomFormats

/// GGUF "t5" vocabularies: llama.cpp's UGM type (`LLAMA_VOCAB_TYPE_UGM`), SentencePiece unigram
/// models (T5, XLM-RoBERTa and their descendants).
extension Tokenizer {
    /// llama.cpp's defaults (eos 1, unk 2, pad 0, no bos; add_eos on, add_bos off), then the
    /// metadata. Encoding: `LlamaUnigramEncoder`. Pieces: "▁" → " " in normal tokens, special and
    /// user-defined ones as stored, byte tokens as their byte; detokenize drops the first
    /// piece's leading space when add_space_prefix is set.
    static func loadGGUFUnigram(_ gguf: GGUFFile) throws -> Tokenizer {
        let (texts, attrs) = try ggufTokens(gguf)
        let n = texts.count
        let scores = try ggufScores(gguf, count: n)
        var vocab = Vocabulary(texts: texts, attributes: attrs)
        ggufSpecialIDs(gguf, &vocab, bos: nil, eos: 1, unk: 2, pad: 0)
        let addBOS = gguf["tokenizer.ggml.add_bos_token"]?.bool ?? false
        let addEOS = gguf["tokenizer.ggml.add_eos_token"]?.bool ?? true
        let addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? false
        let removeExtraWhitespaces = gguf["tokenizer.ggml.remove_extra_whitespaces"]?.bool ?? false
        let charsMap = try ggufCharsMap(gguf)

        vocab.detectSpecialTokens(markControl: true)
        // llama.cpp builds its tries and min(score) from the token types as stored, before it
        // marks special tokens by text; tokenize asks for user-defined (score 0) afterwards.
        var entries: [PieceTrie.Entry] = []
        var userDefined: [PieceTrie.Entry] = []
        var minScore = Float.greatestFiniteMagnitude
        for i in 0..<n {
            let stored = attrs[i]
            if stored.contains(.normal) { minScore = min(minScore, scores[i]) }
            if stored.contains(.userDefined) {
                userDefined.append(.init(bytes: Array(texts[i].utf8), id: Int32(i), score: 0))
            }
            if !stored.intersection([.normal, .userDefined, .unused]).isEmpty {
                entries.append(.init(bytes: Array(texts[i].utf8), id: Int32(i),
                                     score: vocab.attributes[i].contains(.userDefined) ? 0 : Double(scores[i])))
            }
        }
        let encoder = LlamaUnigramEncoder(tokens: try PieceTrie(entries), userDefined: try PieceTrie(userDefined), charsMap: charsMap,
                                          unknownScore: Double(minScore - 10), unk: vocab.unk,
                                          addSpacePrefix: addSpacePrefix, removeExtraWhitespaces: removeExtraWhitespaces,
                                          escapeWhitespaces: true, treatWhitespaceAsSuffix: false)

        // Pieces (llama.cpp's token_to_piece cache), before the per-model strip attributes.
        // (llama.cpp's SPM and UGM pieces are the same: "▁" → " " in normal tokens.)
        let pieces = TokenPieces(zip(vocab.texts, vocab.attributes).map { TokenPieces.sentencePiecePiece(text: $0, attributes: $1) })
        ggufNamedTokenAttributes(gguf, &vocab)

        var parts = Parts(vocab: vocab, encoder: encoder,
                          specials: SpecialTokenMatcher(entries: ggufSpecialEntries(vocab), llamaRules: true),
                          pieces: pieces, preTokenizerName: "default")
        parts.addBOS = addBOS && vocab.bos != nil
        parts.addEOS = addEOS && vocab.eos != nil
        if parts.addBOS, let b = vocab.bos { parts.prefix = [b] }
        if parts.addEOS, let e = vocab.eos { parts.suffix = [e] }
        parts.stripFirstSpace = addSpacePrefix
        return Tokenizer(parts)
    }
    /// `tokenizer.ggml.precompiled_charsmap` (an int8 / uint8 array), if present.
    private static func ggufCharsMap(_ gguf: GGUFFile) throws -> PrecompiledCharsMap? {
        guard let value = gguf["tokenizer.ggml.precompiled_charsmap"] else { return nil }
        guard case .array(let type, let items) = value, type == .uint8 || type == .int8 else {
            throw LoomError.format("tokenizer.ggml.precompiled_charsmap is not an array of bytes")
        }
        let blob = items.map { item -> UInt8 in
            switch item {
            case .uint8(let b): return b
            case .int8(let b): return UInt8(bitPattern: b)
            default: return 0
            }
        }
        return try PrecompiledCharsMap(blob, reader: .llama)
    }
}
