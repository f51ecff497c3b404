import LoomCore
import LoomFormats

/// GGUF "bert" vocabularies: llama.cpp's WPM type (`LLAMA_VOCAB_TYPE_WPM`).
extension Tokenizer {
    /// llama.cpp's defaults (bos = [CLS] 101, unk 100, sep = [SEP] 102, pad 0, mask 103), then the
    /// metadata. With `addSpecial`, llama.cpp's WPM tokenize always puts BOS before and SEP after
    /// (add_bos / add_sep only inform callers). Pieces: "▁" → " " in normal tokens, special ones
    /// as stored; detokenize applies llama.cpp's clean_spaces.
    static func loadGGUFWordPiece(_ gguf: GGUFFile) throws -> Tokenizer {
        let (texts, attrs) = try ggufTokens(gguf)
        var vocab = Vocabulary(texts: texts, attributes: attrs)
        ggufSpecialIDs(gguf, &vocab, bos: 101, eos: nil, unk: 100, sep: 102, pad: 0, mask: 103)
        let addBOS = gguf["tokenizer.ggml.add_bos_token"]?.bool ?? true
        // BertNormalizer options: strip_accents follows lowercase unless given.
        let lowercase = gguf["tokenizer.ggml.normalizer.lowercase"]?.bool ?? true
        let stripAccents = gguf["tokenizer.ggml.normalizer.strip_accents"]?.bool ?? lowercase

        vocab.detectSpecialTokens(markControl: true)
        // Pieces (llama.cpp's token_to_piece cache), before the per-model strip attributes.
        let pieces = TokenPieces(zip(vocab.texts, vocab.attributes).map { wordPiecePiece(text: $0, attributes: $1) })
        ggufNamedTokenAttributes(gguf, &vocab)

        let maxTokenLength = vocab.texts.reduce(0) { max($0, $1.utf8.count) }
        let encoder = LlamaWordPieceEncoder(vocabulary: vocab.textTable, maxTokenLength: maxTokenLength, unk: vocab.unk,
                                            lowercase: lowercase, stripAccents: stripAccents)
        var parts = Parts(vocab: vocab, encoder: encoder,
                          specials: SpecialTokenMatcher(entries: ggufSpecialEntries(vocab), llamaRules: true),
                          pieces: pieces, preTokenizerName: "default")
        parts.prefix = vocab.bos.map { [$0] } ?? []
        parts.suffix = vocab.sep.map { [$0] } ?? []
        parts.addBOS = addBOS && vocab.bos != nil
        parts.cleanUp = .llama
        return Tokenizer(parts)
    }

    /// llama.cpp's `token_to_piece` for WPM: control, unknown and user-defined tokens as stored,
    /// normal tokens with "▁" as " ", anything else (llama.cpp aborts on byte tokens) empty.
    static func wordPiecePiece(text: String, attributes a: TokenAttributes) -> [UInt8] {
        if !a.intersection([.unknown, .control, .userDefined]).isEmpty { return Array(text.utf8) }
        guard a.contains(.normal) else { return [] }
        return CleanUp.replaceAll(Array(text.utf8), LlamaWordPieceEncoder.wordPrefix, [0x20])
    }
}
