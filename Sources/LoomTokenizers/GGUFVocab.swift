import LoomCore
import LoomFormats

/// Building a tokenizer from GGUF `tokenizer.ggml.*` metadata, following llama.cpp's
/// `llama_vocab::impl::load` for BPE ("gpt2") vocabularies.
extension Tokenizer {
    public static func load(gguf: GGUFFile) throws -> Tokenizer {
        guard let modelName = gguf["tokenizer.ggml.model"]?.string else {
            throw LoomError.format("'\(gguf.file.path)' has no tokenizer (tokenizer.ggml.model is missing)")
        }
        guard modelName == "gpt2" else {
            throw LoomError.unsupported("tokenizer model '\(modelName)' is not supported yet (only byte-level BPE, 'gpt2')")
        }
        let preName = gguf["tokenizer.ggml.pre"]?.string
        let pre = try LlamaPreType.named(preName)

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

        guard let mergeStrings = gguf["tokenizer.ggml.merges"]?.strings else {
            throw LoomError.format("tokenizer.ggml.merges is missing or not an array of strings")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeStrings.count)
        for m in mergeStrings {
            // llama.cpp splits at the first space after the first byte; no space: ("", "").
            let u = Array(m.utf8)
            if u.count > 1, let sp = u[1...].firstIndex(of: 0x20) {
                merges.append((String(decoding: u[..<sp], as: UTF8.self), String(decoding: u[(sp + 1)...], as: UTF8.self)))
            } else {
                merges.append(("", ""))
            }
        }

        var vocab = Vocabulary(texts: texts, attributes: attrs)

        // Special token ids: llama.cpp's BPE defaults (bos = eos = 11), then the metadata.
        func defaultID(_ v: Int32?) -> Int32? { v.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        func keyID(_ key: String, _ current: Int32?) -> Int32? {
            guard let v = gguf[key]?.int else { return current }
            return v >= 0 && v < n ? Int32(v) : current
        }
        vocab.bos = keyID("tokenizer.ggml.bos_token_id", pre.noBOS ? nil : defaultID(11))
        vocab.eos = keyID("tokenizer.ggml.eos_token_id", defaultID(11))
        vocab.eot = keyID("tokenizer.ggml.eot_token_id", nil)
        vocab.eom = keyID("tokenizer.ggml.eom_token_id", nil)
        vocab.unk = keyID("tokenizer.ggml.unknown_token_id", nil)
        vocab.sep = keyID("tokenizer.ggml.seperator_token_id", nil)
        vocab.pad = keyID("tokenizer.ggml.padding_token_id", nil)
        vocab.mask = keyID("tokenizer.ggml.mask_token_id", nil)
        vocab.fimPre = keyID("tokenizer.ggml.fim_pre_token_id", keyID("tokenizer.ggml.prefix_token_id", nil))
        vocab.fimSuf = keyID("tokenizer.ggml.fim_suf_token_id", keyID("tokenizer.ggml.suffix_token_id", nil))
        vocab.fimMid = keyID("tokenizer.ggml.fim_mid_token_id", keyID("tokenizer.ggml.middle_token_id", nil))
        vocab.fimPad = keyID("tokenizer.ggml.fim_pad_token_id", nil)
        vocab.fimRep = keyID("tokenizer.ggml.fim_rep_token_id", nil)
        vocab.fimSep = keyID("tokenizer.ggml.fim_sep_token_id", nil)

        var addBOS = pre.addBOS
        var addEOS = false
        if let b = gguf["tokenizer.ggml.add_bos_token"]?.bool { addBOS = b }
        if let b = gguf["tokenizer.ggml.add_eos_token"]?.bool { addEOS = b }
        let addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? false

        vocab.detectSpecialTokens(markControl: true)

        // Pieces (llama.cpp's token_to_piece cache), before the per-model strip attributes.
        let pieces = TokenPieces((0..<n).map { TokenPieces.llamaPiece(text: vocab.texts[$0], attributes: vocab.attributes[$0]) })

        // Per-model token attributes llama.cpp sets by name.
        let arch = gguf["general.architecture"]?.string ?? ""
        let modelNameLower = (gguf["general.name"]?.string ?? "").lowercased()
        let preRaw = preName ?? ""
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { preRaw.contains($0) })
            || ["nomic-bert-moe", "jina-bert-v3"].contains(where: { arch.contains($0) }) {
            if let id = vocab.id(of: "<mask>") { vocab.attributes[Int(id)].insert(.lstrip) }
        } else if modelNameLower.contains("modern-bert") {
            if let id = vocab.id(of: "[MASK]") { vocab.attributes[Int(id)].insert(.lstrip) }
        }

        // Special tokens for partitioning: CONTROL, USER_DEFINED and UNKNOWN ones.
        var entries: [SpecialTokenMatcher.Entry] = []
        for i in 0..<n {
            let a = vocab.attributes[i]
            guard !a.intersection([.control, .userDefined, .unknown]).isEmpty else { continue }
            entries.append(.init(bytes: Array(vocab.texts[i].utf8), id: Int32(i), lstrip: a.contains(.lstrip),
                                 rstrip: a.contains(.rstrip), singleWord: false,
                                 needsParseSpecial: !a.intersection([.control, .unknown]).isEmpty, normalized: false))
        }

        let model = try BPEModel(tokens: vocab.texts, textToID: vocab.textTable, merges: merges, byteLevel: true,
                                 ignoreMerges: pre.ignoreMerges, fallback: .llamaBytes, keepFirstMerge: true,
                                 mergesNeedVocabResult: false)

        var parts = Parts(vocab: vocab, model: model, preTokenizer: try pre.preTokenizer(),
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
