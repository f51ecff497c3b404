import LoomCore
import LoomFormats

/// GGUF SentencePiece vocabularies, following llama.cpp's `llama_vocab::impl::load`:
/// `tokenizer.ggml.model = "llama"` (LLAMA_VOCAB_TYPE_SPM: score-driven merging) and
/// `"gemma4"` (a BPE vocabulary with pre-tokenizer GEMMA4: ranked merges over "▁"-escaped UTF-8).
extension Tokenizer {
    /// SentencePiece ("llama"): llama.cpp's `llm_tokenizer_spm_session` with its defaults
    /// (bos 1, eos 2, unk 0, add_bos, add_space_prefix, no clean-up).
    static func loadGGUFSentencePiece(_ gguf: GGUFFile) throws -> Tokenizer {
        let (texts, attrs) = try ggufTokens(gguf)
        let n = texts.count
        let scores = try ggufScores(gguf, count: n)
        var vocab = Vocabulary(texts: texts, attributes: attrs)
        ggufSpecialIDs(gguf, &vocab, bos: 1, eos: 2, unk: 0)

        let addBOS = gguf["tokenizer.ggml.add_bos_token"]?.bool ?? true
        let addEOS = gguf["tokenizer.ggml.add_eos_token"]?.bool ?? false
        let addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? true

        vocab.detectSpecialTokens(markControl: true)
        // Pieces (llama.cpp's token_to_piece cache) come before the per-model strip attributes.
        let pieces = TokenPieces((0..<n).map { TokenPieces.sentencePiecePiece(text: vocab.texts[$0], attributes: vocab.attributes[$0]) })
        ggufNamedTokenAttributes(gguf, &vocab)

        // byte_to_token: "<0xXX>", else the byte itself as a token. (llama.cpp throws when
        // neither exists; the unknown token stands in here.)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            var single = UInt8(b)
            byteTokens[b] = vocab.id(of: byteTokenText(UInt8(b))) ?? vocab.textTable.lookup(&single, 1) ?? vocab.unk ?? -1
        }
        let model = try SentencePieceBPE.scored(texts: vocab.texts, scores: scores, table: vocab.textTable, byteTokens: byteTokens)

        var parts = Parts(vocab: vocab, encoder: SentencePieceEncoder(model: model, addSpacePrefix: addSpacePrefix),
                          specials: SpecialTokenMatcher(entries: ggufSpecialEntries(vocab), llamaRules: true), pieces: pieces,
                          preTokenizerName: "spm")
        parts.addBOS = addBOS && vocab.bos != nil
        parts.addEOS = addEOS && vocab.eos != nil
        if parts.addBOS, let b = vocab.bos { parts.prefix = [b] }
        if parts.addEOS, let e = vocab.eos { parts.suffix = [e] }
        parts.cleanUp = .none
        parts.stripFirstSpace = addSpacePrefix
        return Tokenizer(parts)
    }

    /// Gemma 4 ("gemma4"): llama.cpp's BPE session with pre-tokenizer GEMMA4 (spaces escaped,
    /// newline runs split off, no byte-level encoding, `<0xXX>` byte fallback), add_bos forced on,
    /// clean_spaces on, no special-id defaults.
    static func loadGGUFGemma4(_ gguf: GGUFFile) throws -> Tokenizer {
        let (texts, attrs) = try ggufTokens(gguf)
        let n = texts.count
        let merges = try ggufMerges(gguf)
        var vocab = Vocabulary(texts: texts, attributes: attrs)
        ggufSpecialIDs(gguf, &vocab, bos: nil, eos: nil)

        // llama.cpp overrides add_bos = false for Gemma 4 (PR 21500).
        let addBOS = true
        let addEOS = gguf["tokenizer.ggml.add_eos_token"]?.bool ?? false
        let addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? false

        vocab.detectSpecialTokens(markControl: true)
        let pieces = TokenPieces((0..<n).map { TokenPieces.sentencePiecePiece(text: vocab.texts[$0], attributes: vocab.attributes[$0]) })
        ggufNamedTokenAttributes(gguf, &vocab)

        let byteTokens = (0..<256).map { vocab.id(of: byteTokenText(UInt8($0))) ?? -1 }
        let model = try SentencePieceBPE.ranked(vocabCount: n, merges: merges, table: vocab.textTable, byteTokens: byteTokens)

        var parts = Parts(vocab: vocab, encoder: SentencePieceStyleBPEEncoder(model: model),
                          specials: SpecialTokenMatcher(entries: ggufSpecialEntries(vocab), llamaRules: true), pieces: pieces,
                          preTokenizerName: "gemma4")
        parts.addBOS = addBOS && vocab.bos != nil
        parts.addEOS = addEOS && vocab.eos != nil
        if parts.addBOS, let b = vocab.bos { parts.prefix = [b] }
        if parts.addEOS, let e = vocab.eos { parts.suffix = [e] }
        parts.cleanUp = .llama
        parts.stripFirstSpace = addSpacePrefix
        return Tokenizer(parts)
    }
    /// "<0xXX>" with upper-case hex digits.
    static func byteTokenText(_ b: UInt8) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        return String(decoding: Array("<0x".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)], UInt8(ascii: ">")], as: UTF8.self)
    }
}

extension TokenPieces {
    /// llama.cpp's `token_to_piece` for SentencePiece vocabularies (and SentencePiece-style BPE):
    /// normal tokens with each "▁" as a space; control, unknown and user-defined tokens as stored,
    /// byte tokens as their byte, anything else empty (as for BPE).
    static func sentencePiecePiece(text: String, attributes a: TokenAttributes) -> [UInt8] {
        if a.contains(.normal) && a.intersection([.unknown, .control, .userDefined]).isEmpty {
            return CleanUp.replaceAll(Array(text.utf8), SentencePieceBPE.meta, [0x20])
        }
        return llamaPiece(text: text, attributes: a)
    }
}
