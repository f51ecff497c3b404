import LoomCore

/// The `model` object of tokenizer.json: its vocabulary and the subword model it builds. One
/// case per model type; each model's own file holds its `init(json:…)`.
enum TokenizerJSONModels {
    struct Built {
        /// The model's unknown token, if it has one.
        var unk: Int32?
        /// Wraps the model in the pipeline (normalizer, pre-tokenizer, added tokens matched in
        /// normalized text).
        var encoder: (Normalizer, PreTokenizer, SpecialTokenMatcher?) -> any TextEncoder
    }

    static func modelType(_ model: JSONValue) throws -> String {
        if let t = model["type"]?.string { return t }
        // Files written before "type" existed: guess from the fields, as HF does.
        if model["merges"] != nil { return "BPE" }
        if model["vocab"]?.array != nil { return "Unigram" }
        if model["continuing_subword_prefix"] != nil { return "WordPiece" }
        if model["vocab"]?.object != nil { return "WordLevel" }
        throw LoomError.format("tokenizer.json: cannot tell the model type")
    }

    /// id → text of the model's own vocabulary: an object (BPE, WordPiece, WordLevel) or a list
    /// of [piece, score] pairs (Unigram, where the index is the id).
    static func vocabulary(_ model: JSONValue, type: String) throws -> [Int: String] {
        var byID: [Int: String] = [:]
        if let list = model["vocab"]?.array {
            guard list.count < Tokenizer.maxTokenID else { throw LoomError.format("tokenizer.json: vocabulary too large") }
            for (i, entry) in list.enumerated() {
                guard let piece = entry.array?.first?.string ?? entry.string else {
                    throw LoomError.format("tokenizer.json: vocab entry \(i) is not [piece, score]")
                }
                byID[i] = piece
            }
            return byID
        }
        guard let vocabObj = model["vocab"]?.object else { throw LoomError.format("tokenizer.json: model.vocab is missing") }
        for key in vocabObj.keys {
            guard let id = vocabObj[key]?.int, id >= 0, id < Tokenizer.maxTokenID else {
                throw LoomError.format("tokenizer.json: vocab entry '\(key)' has an invalid id")
            }
            byID[id] = key
        }
        return byID
    }

    /// - Parameters:
    ///   - texts: the model's vocabulary by id ("" for ids only added tokens use).
    ///   - table: text → id of the model's vocabulary.
    ///   - byteLevel: the pipeline has a ByteLevel pre-tokenizer or normalizer.
    static func build(_ model: JSONValue, type: String, texts: [String], table: ByteStringTable,
                      byteLevel: Bool) throws -> Built {
        switch type {
        case "BPE":
            let bpe = try BPEModel(json: model, texts: texts, table: table, byteLevel: byteLevel)
            let unk = model["unk_token"]?.string.flatMap { table.lookup($0) }
            return Built(unk: unk) { PipelineEncoder(normalizer: $0, preTokenizer: $1, addedInNormalized: $2, model: bpe) }
        case "WordPiece":
            let wordPiece = try WordPieceModel(json: model, texts: texts, table: table)
            return Built(unk: wordPiece.unk) {
                PipelineEncoder(normalizer: $0, preTokenizer: $1, addedInNormalized: $2, model: wordPiece)
            }
        case "WordLevel":
            let wordLevel = WordLevelModel(json: model, table: table)
            return Built(unk: wordLevel.unk) {
                PipelineEncoder(normalizer: $0, preTokenizer: $1, addedInNormalized: $2, model: wordLevel)
            }
        case "Unigram":
            let unigram = try UnigramModel(json: model)
            return Built(unk: unigram.unk) {
                PipelineEncoder(normalizer: $0, preTokenizer: $1, addedInNormalized: $2, model: unigram)
            }
        default:
            throw LoomError.unsupported("tokenizer.json model '\(type)' is not supported")
        }
    }
}

extension BPEModel {
    /// HF's BPE model: merges ("a b" strings or [a, b] pairs), unk / fuse_unk / byte_fallback.
    convenience init(json model: JSONValue, texts: [String], table: ByteStringTable, byteLevel: Bool) throws {
        if let p = model["continuing_subword_prefix"]?.string, !p.isEmpty {
            throw LoomError.unsupported("tokenizer.json: BPE continuing_subword_prefix is not supported")
        }
        if let p = model["end_of_word_suffix"]?.string, !p.isEmpty {
            throw LoomError.unsupported("tokenizer.json: BPE end_of_word_suffix is not supported")
        }
        var merges: [(String, String)] = []
        for m in model["merges"]?.array ?? [] {
            if let s = m.string {
                let u = Array(s.utf8)
                guard let sp = u.firstIndex(of: 0x20) else { throw LoomError.format("tokenizer.json: bad merge '\(s)'") }
                merges.append((String(decoding: u[..<sp], as: UTF8.self), String(decoding: u[(sp + 1)...], as: UTF8.self)))
            } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                merges.append((a, b))
            } else {
                throw LoomError.format("tokenizer.json: a merge is neither \"a b\" nor [a, b]")
            }
        }
        let unk: Int32? = model["unk_token"]?.string.flatMap { table.lookup($0) }
        try self.init(tokens: texts, textToID: table, merges: merges, byteLevel: byteLevel,
                      ignoreMerges: model["ignore_merges"]?.bool ?? false,
                      fallback: .hf(unk: unk, fuseUnk: model["fuse_unk"]?.bool ?? false,
                                    byteFallback: model["byte_fallback"]?.bool ?? false),
                      keepFirstMerge: false, mergesNeedVocabResult: true)
    }
}
