import LoomCore

/// Building a tokenizer from HF tokenizers' tokenizer.json (+ transformers' tokenizer_config.json),
/// with HF semantics: normalizer → pre-tokenizer → model (`TokenizerJSONModels`), added tokens
/// with their flags, post-processor ids, decoder chain.
extension Tokenizer {
    /// Largest token id accepted from tokenizer.json (real vocabularies stay far below).
    static let maxTokenID = 1 << 24
    /// Ids may run past 4 × the number of tokens by this much (holes in small vocabularies).
    static let maxIDSlack = 1 << 16

    public static func load(tokenizerJSON json: JSONValue, tokenizerConfig config: JSONValue?) throws -> Tokenizer {
        guard let model = json["model"], model.object != nil else {
            throw LoomError.format("tokenizer.json has no model")
        }
        let modelType = try TokenizerJSONModels.modelType(model)
        let normalizer = json["normalizer"]?["type"]?.string == "ByteLevel" ? Normalizer.identity : try Normalizer.from(json: json["normalizer"])

        // Vocabulary: the model's, then added tokens (which may reuse or extend ids).
        let byID = try TokenizerJSONModels.vocabulary(model, type: modelType)
        var maxID = byID.keys.max() ?? -1
        struct Added {
            let id: Int
            let content: String
            /// The content through the normalizer when `normalized` (HF matches and reports that form).
            let normalizedContent: String
            let special, lstrip, rstrip, singleWord, normalized: Bool
        }
        var added: [Added] = []
        for t in json["added_tokens"]?.array ?? [] {
            guard let id = t["id"]?.int, id >= 0, id < maxTokenID, let content = t["content"]?.string else {
                throw LoomError.format("tokenizer.json: an added token has no valid id or content")
            }
            let special = t["special"]?.bool ?? false
            let normalized = t["normalized"]?.bool ?? !special
            var normalizedContent = content
            if normalized && !normalizer.isIdentity {
                normalizedContent = String(decoding: UTF8Coding.encode(try normalizer.apply(UTF8Coding.scalars(content))), as: UTF8.self)
            }
            added.append(Added(id: id, content: content, normalizedContent: normalizedContent, special: special,
                               lstrip: t["lstrip"]?.bool ?? false,
                               rstrip: t["rstrip"]?.bool ?? false, singleWord: t["single_word"]?.bool ?? false,
                               normalized: normalized))
            maxID = max(maxID, id)
        }
        guard maxID >= 0 else { throw LoomError.format("tokenizer.json: empty vocabulary") }
        // Tables are indexed by id: a few tokens with a huge id would make a small file allocate
        // (and build pieces for) millions of empty slots. Real vocabularies are dense.
        let entries = byID.count + added.count
        guard maxID < 4 * entries + maxIDSlack else {
            throw LoomError.format("tokenizer.json: token id \(maxID) leaves most of the vocabulary empty (\(entries) tokens)")
        }
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
            texts[a.id] = a.normalizedContent
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
        for a in added {
            table.insert(a.content, Int32(a.id))
            if a.normalizedContent != a.content { table.insert(a.normalizedContent, Int32(a.id)) }
        }
        vocab.textTable = table

        // Pre-tokenizer.
        var steps: [PreTokenizer.Step] = []
        var names: [String] = []
        var byteLevel = false
        try buildPreTokenizer(json["pre_tokenizer"], &steps, &names, &byteLevel)
        if json["normalizer"]?["type"]?.string == "ByteLevel" { byteLevel = true }

        let built = try TokenizerJSONModels.build(model, type: modelType, texts: modelTexts, table: modelTable,
                                                  byteLevel: byteLevel)
        let unkID = built.unk

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
        // Without tokenizer_config.json's mask_token, HF's BERT / RoBERTa tokenizer classes default to these.
        vocab.mask = configToken("mask_token") ?? ["[MASK]", "<mask>"].lazy.compactMap { vocab.id(of: $0) }.first

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

        // Decoder: per-token pieces for streaming, the HF chain for whole sequences.
        let decoder = try TokenDecoder.from(json: json["decoder"])
        let pieces = TokenPieces.pieces(texts: texts, decoder: decoder)

        // Added tokens (special ones first, as HF builds its matcher): `normalized: false` ones
        // split the raw input; `normalized: true` ones are matched, with their content normalized,
        // in each normalized fragment (HF's AddedVocabulary::extract_and_normalize).
        var rawEntries: [SpecialTokenMatcher.Entry] = []
        var normalizedEntries: [SpecialTokenMatcher.Entry] = []
        for a in added.filter(\.special) + added.filter({ !$0.special }) where !a.content.isEmpty {
            let content = Array((a.normalized ? a.normalizedContent : a.content).utf8)
            guard !content.isEmpty else { continue }
            let entry = SpecialTokenMatcher.Entry(bytes: content, id: Int32(a.id), lstrip: a.lstrip,
                                                  rstrip: a.rstrip, singleWord: a.singleWord,
                                                  needsParseSpecial: a.special, normalized: false)
            if a.normalized { normalizedEntries.append(entry) } else { rawEntries.append(entry) }
        }
        let addedInNormalized = normalizedEntries.isEmpty ? nil : SpecialTokenMatcher(entries: normalizedEntries, llamaRules: false)
        let encoder = built.encoder(normalizer, PreTokenizer(steps: steps), addedInNormalized)

        var parts = Parts(vocab: vocab, encoder: encoder,
                          specials: SpecialTokenMatcher(entries: rawEntries, llamaRules: false), pieces: pieces,
                          preTokenizerName: names.isEmpty ? "none" : names.joined(separator: "+"))
        parts.prefix = prefix
        parts.suffix = suffix
        parts.addBOS = vocab.bos.map { prefix.contains($0) } ?? false
        parts.addEOS = vocab.eos.map { suffix.contains($0) } ?? false
        parts.cleanUp = (config?["clean_up_tokenization_spaces"]?.bool ?? false) ? .hf : .none
        parts.defaultTruncation = try truncation(json: json["truncation"])
        parts.defaultPadding = try padding(json: json["padding"], vocab: vocab)
        if let decoder, !decoder.isByteLevelOnly { parts.decoder = decoder }
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
        case "Metaspace":
            steps.append(.metaspace(try Metaspace(json: j)))
            names.append("Metaspace")
        case "BertPreTokenizer":
            steps.append(.bert)
            names.append("BertPreTokenizer")
        case "Whitespace":
            steps.append(.whitespace)
            names.append("Whitespace")
        case "Punctuation":
            let behaviorName = j["behavior"]?.string ?? "Isolated"
            guard let behavior = SplitBehavior(behaviorName) else {
                throw LoomError.format("tokenizer.json: unknown Punctuation behavior '\(behaviorName)'")
            }
            steps.append(.punctuation(behavior))
            names.append("Punctuation")
        case "CharDelimiterSplit":
            let d = UTF8Coding.scalars(j["delimiter"]?.string ?? "")
            guard d.count == 1 else { throw LoomError.format("tokenizer.json: CharDelimiterSplit needs one delimiter character") }
            steps.append(.split(nil, literal: d, behavior: .removed, invert: false))
            names.append("CharDelimiterSplit")
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
