import LoomCore

/// Building a tokenizer from HF tokenizers' tokenizer.json (+ transformers' tokenizer_config.json),
/// with HF semantics: a BPE model, ByteLevel / Split / Digits pre-tokenizers (alone or in a
/// Sequence), added tokens with their flags, TemplateProcessing / Roberta / Bert post-processors.
extension Tokenizer {
    /// Largest token id accepted from tokenizer.json (real vocabularies stay far below).
    static let maxTokenID = 1 << 24

    public static func load(tokenizerJSON json: JSONValue, tokenizerConfig config: JSONValue?) throws -> Tokenizer {
        guard let model = json["model"], model.object != nil else {
            throw LoomError.format("tokenizer.json has no model")
        }
        let modelType = model["type"]?.string ?? (model["merges"] != nil ? "BPE" : "?")
        guard modelType == "BPE" else {
            throw LoomError.unsupported("tokenizer.json model '\(modelType)' is not supported yet (only BPE)")
        }
        if let p = model["continuing_subword_prefix"]?.string, !p.isEmpty {
            throw LoomError.unsupported("tokenizer.json: BPE continuing_subword_prefix is not supported")
        }
        if let p = model["end_of_word_suffix"]?.string, !p.isEmpty {
            throw LoomError.unsupported("tokenizer.json: BPE end_of_word_suffix is not supported")
        }

        // Vocabulary: the model's, then added tokens (which may reuse or extend ids).
        guard let vocabObj = model["vocab"]?.object else { throw LoomError.format("tokenizer.json: model.vocab is missing") }
        var byID: [Int: String] = [:]
        var maxID = -1
        for key in vocabObj.keys {
            guard let id = vocabObj[key]?.int, id >= 0, id < maxTokenID else {
                throw LoomError.format("tokenizer.json: vocab entry '\(key)' has an invalid id")
            }
            byID[id] = key
            maxID = max(maxID, id)
        }
        struct Added { let id: Int; let content: String; let special, lstrip, rstrip, singleWord, normalized: Bool }
        var added: [Added] = []
        for t in json["added_tokens"]?.array ?? [] {
            guard let id = t["id"]?.int, id >= 0, id < maxTokenID, let content = t["content"]?.string else {
                throw LoomError.format("tokenizer.json: an added token has no valid id or content")
            }
            let special = t["special"]?.bool ?? false
            added.append(Added(id: id, content: content, special: special, lstrip: t["lstrip"]?.bool ?? false,
                               rstrip: t["rstrip"]?.bool ?? false, singleWord: t["single_word"]?.bool ?? false,
                               normalized: t["normalized"]?.bool ?? !special))
            maxID = max(maxID, id)
        }
        guard maxID >= 0 else { throw LoomError.format("tokenizer.json: empty vocabulary") }
        let n = maxID + 1
        // The model sees only its own vocabulary; ids and texts of added tokens override it for
        // everything else (HF keeps them apart the same way).
        var modelTexts = [String](repeating: "", count: n)
        var modelTable = ByteStringTable(expectedCount: byID.count)
        for (id, t) in byID {
            modelTexts[id] = t
            modelTable.insert(t, Int32(id))
        }
        var texts = modelTexts
        var attrs = [TokenAttributes](repeating: [], count: n)
        for id in byID.keys { attrs[id] = .normal }
        for a in added {
            texts[a.id] = a.content
            var at: TokenAttributes = a.special ? .control : .userDefined
            if a.lstrip { at.insert(.lstrip) }
            if a.rstrip { at.insert(.rstrip) }
            if a.singleWord { at.insert(.singleWord) }
            if a.normalized { at.insert(.normalized) }
            attrs[a.id] = at
        }
        var vocab = Vocabulary(texts: texts, attributes: attrs)
        // Text → id: the model's, then added tokens; holes must not be found by text.
        var table = modelTable
        for a in added { table.insert(a.content, Int32(a.id)) }
        vocab.textTable = table

        // Merges: "a b" strings or ["a", "b"] pairs.
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

        // Pre-tokenizer.
        var steps: [PreTokenizer.Step] = []
        var names: [String] = []
        var byteLevel = false
        try buildPreTokenizer(json["pre_tokenizer"], &steps, &names, &byteLevel)
        if json["normalizer"]?["type"]?.string == "ByteLevel" { byteLevel = true }
        let normalizer = json["normalizer"]?["type"]?.string == "ByteLevel" ? Normalizer.identity : try Normalizer.from(json: json["normalizer"])

        let unkID: Int32? = model["unk_token"]?.string.flatMap { modelTable.lookup($0) }
        let bpe = try BPEModel(tokens: modelTexts, textToID: modelTable, merges: merges, byteLevel: byteLevel,
                               ignoreMerges: model["ignore_merges"]?.bool ?? false,
                               fallback: .hf(unk: unkID, fuseUnk: model["fuse_unk"]?.bool ?? false,
                                             byteFallback: model["byte_fallback"]?.bool ?? false),
                               keepFirstMerge: false, mergesNeedVocabResult: true)

        // Special ids: tokenizer_config.json names them; the model names unk.
        func configToken(_ key: String) -> Int32? {
            guard let v = config?[key] else { return nil }
            if let s = v.string { return vocab.id(of: s) }
            if let s = v["content"]?.string { return vocab.id(of: s) }
            return nil
        }
        vocab.unk = configToken("unk_token") ?? unkID
        vocab.bos = configToken("bos_token")
        vocab.eos = configToken("eos_token")
        vocab.pad = configToken("pad_token")
        vocab.sep = configToken("sep_token")
        vocab.mask = configToken("mask_token")

        // Post-processor: the ids around a single sequence.
        var prefix: [Int32] = []
        var suffix: [Int32] = []
        try buildPostProcessor(json["post_processor"], &prefix, &suffix)
        for id in prefix + suffix where !vocab.contains(id) {
            throw LoomError.format("tokenizer.json: post-processor token id \(id) is outside the vocabulary")
        }
        if vocab.bos == nil, let first = prefix.first { vocab.bos = first }
        if vocab.eos == nil, let last = suffix.last { vocab.eos = last }
        if let b = config?["add_bos_token"]?.bool {
            prefix = b ? (vocab.bos.map { [$0] } ?? []) : []
        }
        if let e = config?["add_eos_token"]?.bool {
            suffix = e ? (vocab.eos.map { [$0] } ?? []) : []
        }
        vocab.detectSpecialTokens(markControl: false)

        // Decoder → pieces.
        let decoderType = json["decoder"]?["type"]?.string
        let decoderTypes = decoderType == "Sequence" ? (json["decoder"]?["decoders"]?.array ?? []).compactMap { $0["type"]?.string } : [decoderType].compactMap { $0 }
        let byteLevelDecoder: Bool
        if decoderTypes.isEmpty {
            byteLevelDecoder = false
        } else if decoderTypes == ["ByteLevel"] {
            byteLevelDecoder = true
        } else {
            throw LoomError.unsupported("tokenizer.json decoder \(decoderTypes) is not supported yet (only ByteLevel)")
        }
        let pieces = TokenPieces(texts.map { byteLevelDecoder ? TokenPieces.byteLevelPiece(text: $0) : Array($0.utf8) })

        // Added tokens for partitioning (special ones first, as HF builds its matcher).
        var entries: [SpecialTokenMatcher.Entry] = []
        for a in added.filter(\.special) + added.filter({ !$0.special }) where !a.content.isEmpty {
            entries.append(.init(bytes: Array(a.content.utf8), id: Int32(a.id), lstrip: a.lstrip, rstrip: a.rstrip,
                                 singleWord: a.singleWord, needsParseSpecial: a.special,
                                 // HF matches these in a second pass (over normalized text; the
                                 // text is normalized after partitioning here, see Normalizer).
                                 normalized: a.normalized))
        }

        var parts = Parts(vocab: vocab, model: bpe, normalizer: normalizer, preTokenizer: PreTokenizer(steps: steps),
                          specials: SpecialTokenMatcher(entries: entries, llamaRules: false), pieces: pieces,
                          preTokenizerName: names.isEmpty ? "none" : names.joined(separator: "+"))
        parts.prefix = prefix
        parts.suffix = suffix
        parts.addBOS = vocab.bos.map { prefix.contains($0) } ?? false
        parts.addEOS = vocab.eos.map { suffix.contains($0) } ?? false
        parts.cleanUp = (config?["clean_up_tokenization_spaces"]?.bool ?? false) ? .hf : .none
        return Tokenizer(parts)
    }

    private static func buildPreTokenizer(_ j: JSONValue?, _ steps: inout [PreTokenizer.Step], _ names: inout [String],
                                          _ byteLevel: inout Bool) throws {
        guard let j, !j.isNull else { return }
        guard let type = j["type"]?.string else { throw LoomError.format("tokenizer.json: pre_tokenizer without a type") }
        switch type {
        case "Sequence":
            for p in j["pretokenizers"]?.array ?? [] { try buildPreTokenizer(p, &steps, &names, &byteLevel) }
        case "ByteLevel":
            byteLevel = true
            steps.append(.byteLevel(addPrefixSpace: j["add_prefix_space"]?.bool ?? true, useRegex: j["use_regex"]?.bool ?? true))
            names.append("ByteLevel")
        case "Split":
            let behaviorName = j["behavior"]?.string ?? "Isolated"
            guard let behavior = SplitBehavior(behaviorName) else {
                throw LoomError.format("tokenizer.json: unknown Split behavior '\(behaviorName)'")
            }
            let invert = j["invert"]?.bool ?? false
            if let r = j["pattern"]?["Regex"]?.string {
                if behavior == .isolated, !invert, let fast = FastSplitter.recognise(r) {
                    // (?i:'s|…) matches with Unicode case folding in Oniguruma; [sS] does not.
                    steps.append(.fast(fast, foldCase: r.hasPrefix("(?i:")))
                } else {
                    steps.append(.split(try Regex(r, flavor: .oniguruma), literal: [], behavior: behavior, invert: invert))
                }
            } else if let s = j["pattern"]?["String"]?.string {
                steps.append(.split(nil, literal: UTF8Coding.scalars(s), behavior: behavior, invert: invert))
            } else {
                throw LoomError.format("tokenizer.json: Split without a pattern")
            }
            names.append("Split")
        case "Digits":
            steps.append(.digits(individual: j["individual_digits"]?.bool ?? false))
            names.append("Digits")
        case "WhitespaceSplit":
            steps.append(.whitespaceSplit)
            names.append("WhitespaceSplit")
        default:
            throw LoomError.unsupported("tokenizer.json: pre-tokenizer '\(type)' is not supported yet")
        }
    }

    private static func buildPostProcessor(_ j: JSONValue?, _ prefix: inout [Int32], _ suffix: inout [Int32]) throws {
        guard let j, !j.isNull, let type = j["type"]?.string else { return }
        switch type {
        case "Sequence":
            for p in j["processors"]?.array ?? [] { try buildPostProcessor(p, &prefix, &suffix) }
        case "ByteLevel":
            break
        case "TemplateProcessing":
            var seenSequence = false
            var pre: [Int32] = [], post: [Int32] = []
            for piece in j["single"]?.array ?? [] {
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let name = piece["SpecialToken"]?["id"]?.string {
                    guard let ids = j["special_tokens"]?[name]?["ids"]?.array else {
                        throw LoomError.format("tokenizer.json: template token '\(name)' is not in special_tokens")
                    }
                    let values = try ids.map { v -> Int32 in
                        guard let i = v.int, i >= 0, i < Int(Int32.max) else { throw LoomError.format("tokenizer.json: bad template id") }
                        return Int32(i)
                    }
                    if seenSequence { post += values } else { pre += values }
                }
            }
            prefix = pre + prefix
            suffix += post
        case "RobertaProcessing", "BertProcessing":
            guard let cls = j["cls"]?.array, cls.count == 2, let c = cls[1].int,
                  let sep = j["sep"]?.array, sep.count == 2, let s = sep[1].int,
                  c >= 0, s >= 0, c < Int(Int32.max), s < Int(Int32.max) else {
                throw LoomError.format("tokenizer.json: \(type) without cls/sep")
            }
            prefix = [Int32(c)] + prefix
            suffix += [Int32(s)]
        default:
            throw LoomError.unsupported("tokenizer.json: post-processor '\(type)' is not supported yet")
        }
    }
}
