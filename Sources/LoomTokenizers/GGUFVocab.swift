import LoomCore
import LoomFormats

/// Building a tokenizer from GGUF `tokenizer.ggml.*` metadata, following llama.cpp's
/// `llama_vocab::impl::load`. `tokenizer.ggml.model` picks the vocabulary kind; each kind's file
/// holds its loader (BPE "gpt2" here).
extension Tokenizer {
    public static func load(gguf: GGUFFile) throws -> Tokenizer {
        guard let modelName = gguf["tokenizer.ggml.model"]?.string else {
            throw LoomError.format("'\(gguf.file.path)' has no tokenizer (tokenizer.ggml.model is missing)")
        }
        switch modelName {
        case "gpt2":
            return try loadGGUFBPE(gguf)
        case "llama":
            return try loadGGUFSentencePiece(gguf)
        case "gemma4":
            return try loadGGUFGemma4(gguf)
        case "bert":
            return try loadGGUFWordPiece(gguf)
        case "t5":
            return try loadGGUFUnigram(gguf)
        default:
            throw LoomError.unsupported("tokenizer model '\(modelName)' is not supported")
        }
    }

    /// Token texts (empty ones renamed as llama.cpp does) and GGUF token types.
    static func ggufTokens(_ gguf: GGUFFile) throws -> (texts: [String], attributes: [TokenAttributes]) {
        guard let tokenValues = gguf["tokenizer.ggml.tokens"]?.array, gguf["tokenizer.ggml.tokens"]?.strings?.count == tokenValues.count else {
            throw LoomError.format("tokenizer.ggml.tokens is missing or not an array of strings")
        }
        let n = tokenValues.count
        guard n > 0, n < Int(Int32.max) / 2 else { throw LoomError.format("tokenizer.ggml.tokens has \(n) entries") }
        var texts = [String]()
        texts.reserveCapacity(n)
        for (i, v) in tokenValues.enumerated() {
            let s = v.string ?? ""
            texts.append(s.isEmpty ? "[EMPTY_\(i)]" : s)
        }
        var attrs = [TokenAttributes](repeating: .normal, count: n)
        if let tt = gguf["tokenizer.ggml.token_type"] {
            guard case .array(let et, let items) = tt, et == .int32 else {
                throw LoomError.format("tokenizer.ggml.token_type is not an array of int32")
            }
            guard items.count >= n else {
                throw LoomError.format("tokenizer.ggml.token_type has \(items.count) entries for \(n) tokens")
            }
            for i in 0..<n { attrs[i] = TokenAttributes(ggufType: items[i].int ?? 0) }
        }
        return (texts, attrs)
    }


    /// `tokenizer.ggml.scores`: float32 or int32, at least one per token; none: all 0.
    static func ggufScores(_ gguf: GGUFFile, count n: Int) throws -> [Float] {
        guard let value = gguf["tokenizer.ggml.scores"] else { return [Float](repeating: 0, count: n) }
        guard case .array(let type, let items) = value, type == .float32 || type == .int32 else {
            throw LoomError.format("tokenizer.ggml.scores is not an array of float32 or int32")
        }
        guard items.count >= n else {
            throw LoomError.format("tokenizer.ggml.scores has \(items.count) entries for \(n) tokens")
        }
        return (0..<n).map { i in
            switch items[i] {
            case .float32(let v): return v
            case .int32(let v): return Float(v)
            default: return 0
            }
        }
    }

    /// `tokenizer.ggml.merges` split as llama.cpp does: at the first space after the first
    /// byte; without one, ("", "") (which never matches).
    static func ggufMerges(_ gguf: GGUFFile) throws -> [(String, String)] {
        guard let strings = gguf["tokenizer.ggml.merges"]?.strings else {
            throw LoomError.format("tokenizer.ggml.merges is missing or not an array of strings")
        }
        return strings.map { m in
            let u = Array(m.utf8)
            guard u.count > 1, let sp = u[1...].firstIndex(of: 0x20) else { return ("", "") }
            return (String(decoding: u[..<sp], as: UTF8.self), String(decoding: u[(sp + 1)...], as: UTF8.self))
        }
    }

    /// Special token ids from metadata over the kind's defaults (llama.cpp ignores out-of-range ids).
    static func ggufSpecialIDs(_ gguf: GGUFFile, _ vocab: inout Vocabulary, bos: Int32?, eos: Int32?, unk: Int32? = nil,
                               sep: Int32? = nil, pad: Int32? = nil, mask: Int32? = nil) {
        let n = vocab.count
        func defaultID(_ v: Int32?) -> Int32? { v.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        func keyID(_ key: String, _ current: Int32?) -> Int32? {
            guard let v = gguf[key]?.int else { return current }
            return v >= 0 && v < n ? Int32(v) : current
        }
        vocab.bos = keyID("tokenizer.ggml.bos_token_id", defaultID(bos))
        vocab.eos = keyID("tokenizer.ggml.eos_token_id", defaultID(eos))
        vocab.eot = keyID("tokenizer.ggml.eot_token_id", nil)
        vocab.eom = keyID("tokenizer.ggml.eom_token_id", nil)
        vocab.unk = keyID("tokenizer.ggml.unknown_token_id", defaultID(unk))
        vocab.sep = keyID("tokenizer.ggml.seperator_token_id", defaultID(sep))
        vocab.pad = keyID("tokenizer.ggml.padding_token_id", defaultID(pad))
        vocab.mask = keyID("tokenizer.ggml.mask_token_id", defaultID(mask))
        vocab.fimPre = keyID("tokenizer.ggml.fim_pre_token_id", keyID("tokenizer.ggml.prefix_token_id", nil))
        vocab.fimSuf = keyID("tokenizer.ggml.fim_suf_token_id", keyID("tokenizer.ggml.suffix_token_id", nil))
        vocab.fimMid = keyID("tokenizer.ggml.fim_mid_token_id", keyID("tokenizer.ggml.middle_token_id", nil))
        vocab.fimPad = keyID("tokenizer.ggml.fim_pad_token_id", nil)
        vocab.fimRep = keyID("tokenizer.ggml.fim_rep_token_id", nil)
        vocab.fimSep = keyID("tokenizer.ggml.fim_sep_token_id", nil)
    }

    /// llama.cpp's special-token partition entries: CONTROL, USER_DEFINED and UNKNOWN tokens.
    static func ggufSpecialEntries(_ vocab: Vocabulary) -> [SpecialTokenMatcher.Entry] {
        var entries: [SpecialTokenMatcher.Entry] = []
        for i in 0..<vocab.count {
            let a = vocab.attributes[i]
            guard !a.intersection([.control, .userDefined, .unknown]).isEmpty else { continue }
            entries.append(.init(bytes: Array(vocab.texts[i].utf8), id: Int32(i), lstrip: a.contains(.lstrip),
                                 rstrip: a.contains(.rstrip), singleWord: false,
                                 needsParseSpecial: !a.intersection([.control, .unknown]).isEmpty, normalized: false))
        }
        return entries
    }

    /// Byte-level BPE ("gpt2"): llama.cpp's `llm_tokenizer_bpe` with the named pre-tokenizer.
    static func loadGGUFBPE(_ gguf: GGUFFile) throws -> Tokenizer {
        let preName = gguf["tokenizer.ggml.pre"]?.string
        let pre = try LlamaPreType.named(preName)

        let (texts, attrs) = try ggufTokens(gguf)
        let n = texts.count

        let merges = try ggufMerges(gguf)

        var vocab = Vocabulary(texts: texts, attributes: attrs)

        // Special token ids: llama.cpp's BPE defaults (bos = eos = 11), then the metadata.
        ggufSpecialIDs(gguf, &vocab, bos: pre.noBOS ? nil : 11, eos: 11)

        var addBOS = pre.addBOS
        var addEOS = false
        if let b = gguf["tokenizer.ggml.add_bos_token"]?.bool { addBOS = b }
        if let b = gguf["tokenizer.ggml.add_eos_token"]?.bool { addEOS = b }
        let addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? false

        vocab.detectSpecialTokens(markControl: true)

        // Pieces (llama.cpp's token_to_piece cache), before the per-model strip attributes.
        let pieces = TokenPieces((0..<n).map { TokenPieces.llamaPiece(text: vocab.texts[$0], attributes: vocab.attributes[$0]) })

        ggufNamedTokenAttributes(gguf, &vocab)

        let entries = ggufSpecialEntries(vocab)

        let model = try BPEModel(tokens: vocab.texts, textToID: vocab.textTable, merges: merges, byteLevel: true,
                                 ignoreMerges: pre.ignoreMerges, fallback: .llamaBytes, keepFirstMerge: true,
                                 mergesNeedVocabResult: false)

        let encoder = PipelineEncoder(normalizer: .identity, preTokenizer: try pre.preTokenizer(), addedInNormalized: nil, model: model)
        var parts = Parts(vocab: vocab, encoder: encoder,
                          specials: SpecialTokenMatcher(entries: entries, llamaRules: true), pieces: pieces,
                          preTokenizerName: pre.name)
        parts.addBOS = addBOS && vocab.bos != nil
        parts.addEOS = addEOS && vocab.eos != nil
        if parts.addBOS, let b = vocab.bos { parts.prefix = [b] }
        if parts.addEOS, let e = vocab.eos { parts.suffix = [e] }
        parts.cleanUp = pre.cleanSpaces ? .llama : .none
        parts.stripFirstSpace = addSpacePrefix
        return Tokenizer(parts)
    }
}
