import LoomCore
import LoomFormats

// The vocabulary part of `convertHF`: tokenizer.json read as convert_hf_to_gguf reads it (through
// transformers' AutoTokenizer) and written as tokenizer.ggml.* metadata — BPE as "gpt2"
// (_set_vocab_gpt2), WordPiece as "bert" (BertModel.set_vocab), Unigram as "t5" (T5Model.set_vocab)
// — followed by gguf-py SpecialVocab's special tokens.

/// GGUF token types (gguf-py TokenType, llama.cpp llama_token_type).
enum GGUFTokenType: Int32 {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// A tokenizer.json: its model's vocabulary and its added tokens.
struct HFTokenizerFile {
    enum Kind: String { case bpe = "BPE", wordPiece = "WordPiece", unigram = "Unigram" }

    let json: JSONValue
    let kind: Kind
    /// id -> text: the model's vocabulary, then the added tokens (which win).
    var tokens: [Int: String] = [:]
    /// Added tokens by id.
    var added: [Int: (content: String, special: Bool)] = [:]
    /// Unigram scores by id.
    var scores: [Int: Double] = [:]
    /// The Unigram vocabulary size (ids 0..<count have a piece and a score).
    var unigramCount = 0
    var unkID: Int?
    var byteFallback = false

    /// Ids above this are refused (a vocabulary of 16M tokens is already absurd).
    static let maxID = 1 << 24

    /// The folder's tokenizer.json, which an `architecture` converter needs to be of `kind` (`described`
    /// in the error otherwise, e.g. "byte-level BPE").
    init(folder: String, architecture: String, kind expected: Kind, described: String) throws {
        try self.init(folder: folder)
        guard kind == expected else {
            throw LoomError.unsupported("convert: \(architecture) models are converted with a \(described) tokenizer.json (this one is \(kind.rawValue))")
        }
    }

    init(folder: String) throws {
        let path = folder + "/tokenizer.json"
        guard fileExists(path) else { throw LoomError.unsupported("convert: '\(folder)' has no tokenizer.json") }
        json = try JSONParser.parse(try readWholeFile(path, limit: 256 << 20))
        guard let model = json["model"], let type = model["type"]?.string, let kind = Kind(rawValue: type) else {
            throw LoomError.unsupported("convert: tokenizer.json's model '\(json["model"]?["type"]?.string ?? "?")' is not converted (BPE, WordPiece, Unigram)")
        }
        self.kind = kind
        byteFallback = model["byte_fallback"]?.bool ?? false
        switch kind {
        case .bpe:
            guard !byteFallback else {
                throw LoomError.unsupported("convert: BPE with byte_fallback (a SentencePiece-style vocabulary) is not converted; only byte-level BPE")
            }
            try readVocabObject(model)
        case .wordPiece:
            let prefix = model["continuing_subword_prefix"]?.string ?? "##"
            guard prefix == "##" else {
                throw LoomError.unsupported("convert: WordPiece continuing_subword_prefix '\(prefix)' has no GGUF form (llama.cpp's bert vocabulary assumes '##')")
            }
            try readVocabObject(model)
        case .unigram:
            guard let vocab = model["vocab"]?.array, vocab.count < Self.maxID else {
                throw LoomError.format("convert: tokenizer.json's Unigram vocab is not an array of [piece, score]")
            }
            for (id, entry) in vocab.enumerated() {
                guard let pair = entry.array, pair.count == 2, let piece = pair[0].string, let score = pair[1].double else {
                    throw LoomError.format("convert: tokenizer.json's Unigram vocab entry \(id) is not [piece, score]")
                }
                tokens[id] = piece
                scores[id] = score
            }
            unigramCount = vocab.count
            unkID = model["unk_id"]?.int
        }
        for t in json["added_tokens"]?.array ?? [] {
            guard let id = t["id"]?.int, id >= 0, id < Self.maxID, let content = t["content"]?.string else { continue }
            tokens[id] = content
            added[id] = (content, t["special"]?.bool ?? false)
        }
    }

    private mutating func readVocabObject(_ model: JSONValue) throws {
        guard let vocab = model["vocab"]?.object else {
            throw LoomError.format("convert: tokenizer.json's \(kind.rawValue) vocab is not an object")
        }
        for key in vocab.keys {
            guard let id = vocab[key]?.int, id >= 0, id < Self.maxID else { continue }
            tokens[id] = key
        }
    }

    /// The added tokens in tokenizer.json order (SpecialVocab looks special tokens up among them).
    var addedTokens: [JSONValue] { json["added_tokens"]?.array ?? [] }
}

// MARK: - Vocabularies

/// convert_hf_to_gguf's get_vocab_base (BPE and WordPiece): a token per id below `vocabSize` —
/// "[PADn]" (UNUSED) for ids without one, added tokens CONTROL when special or special-looking and
/// USER_DEFINED ("▁" as " ") otherwise, the rest NORMAL.
private func baseVocabulary(_ t: HFTokenizerFile, vocabSize: Int) throws -> (tokens: [String], types: [GGUFTokenType]) {
    guard vocabSize > 0, vocabSize < HFTokenizerFile.maxID else { throw LoomError.format("convert: vocab_size \(vocabSize)") }
    if let top = t.tokens.keys.max(), top >= vocabSize {
        throw LoomError.format("convert: tokenizer.json has token id \(top), beyond vocab_size \(vocabSize)")
    }
    var tokens: [String] = [], types: [GGUFTokenType] = []
    tokens.reserveCapacity(vocabSize)
    types.reserveCapacity(vocabSize)
    for i in 0..<vocabSize {
        guard var text = t.tokens[i] else {
            tokens.append("[PAD\(i)]")
            types.append(.unused)
            continue
        }
        if let a = t.added[i] {
            if a.special || looksSpecial(text) {
                types.append(.control)
            } else {
                text = text.replacing("\u{2581}", with: " ")
                types.append(.userDefined)
            }
        } else {
            types.append(.normal)
        }
        tokens.append(text)
    }
    return (tokens, types)
}

/// convert_hf_to_gguf's does_token_look_special.
func looksSpecial(_ t: String) -> Bool {
    ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(t)
        || (t.hasPrefix("<|") && t.hasSuffix("|>")) || (t.hasPrefix("<｜") && t.hasSuffix("｜>"))
        || (t.hasPrefix("<unused") && t.hasSuffix(">"))
}

/// tokenizer.ggml.pre of a byte-level BPE tokenizer. convert_hf_to_gguf hashes a test encoding against
/// known models; the common cases by their structure here: the ByteLevel pre-tokenizer (GPT-2's regex)
/// -> "gpt-2", the Llama 3 split -> "llama-bpe".
private func bpePreTokenizer(_ json: JSONValue) throws -> String {
    let pre = json["pre_tokenizer"]
    if pre?["type"]?.string == "ByteLevel", pre?["use_regex"]?.bool ?? true { return "gpt-2" }
    if let list = pre?["pretokenizers"]?.array, let pattern = list.first?["pattern"]?["Regex"]?.string,
       pattern.contains("(?i:'s|'t|'re|'ve|'m|'ll|'d)") {
        return "llama-bpe"
    }
    throw LoomError.unsupported("convert: the tokenizer's pre-tokenizer is not recognised")
}

private func tokenList(_ tokens: [String]) -> GGUFValue { .array(.string, tokens.map { .string($0) }) }
private func typeList(_ types: [GGUFTokenType]) -> GGUFValue { .array(.int32, types.map { .int32($0.rawValue) }) }

/// _set_vocab_gpt2: "gpt2" tokens and types, then the special vocabulary with the merges.
func addGPT2Vocabulary(_ w: inout GGUFWriter, _ t: HFTokenizerFile, vocabSize: Int, folder: String, config: HFConfig) throws {
    let (tokens, types) = try baseVocabulary(t, vocabSize: vocabSize)
    w.add(key: "tokenizer.ggml.model", value: .string("gpt2"))
    w.add(key: "tokenizer.ggml.pre", value: .string(try bpePreTokenizer(t.json)))
    w.add(key: "tokenizer.ggml.tokens", value: tokenList(tokens))
    w.add(key: "tokenizer.ggml.token_type", value: typeList(types))
    try SpecialVocabulary(folder: folder, tokenizer: t, config: config, vocabularySize: nil, loadMerges: true).add(to: &w)
}

/// BertModel.set_vocab: the token-type count, then "bert" tokens in llama.cpp's phantom-space form
/// (non-control tokens: "##piece" -> "piece", "word" -> "▁word"), types and the special vocabulary.
/// tokenizer.ggml.pre: llama.cpp and Loom do not read it for "bert" vocabularies; convert_hf_to_gguf
/// takes it from a hash table of known models that does not know Loom's fixtures, and the fixture
/// files carry "gpt-2", which is what is written.
func addBertVocabulary(_ w: inout GGUFWriter, _ t: HFTokenizerFile, vocabSize: Int, tokenTypeCount: Int, folder: String,
                       config: HFConfig) throws {
    let (tokens, types) = try baseVocabulary(t, vocabSize: vocabSize)
    let phantom = zip(tokens, types).map { token, type -> String in
        if type == .control { return token }
        if token.hasPrefix("##") { return String(token.dropFirst(2)) }
        return "\u{2581}" + token
    }
    w.add(key: "tokenizer.ggml.token_type_count", value: try uint32Parameter(tokenTypeCount, "type_vocab_size"))
    w.add(key: "tokenizer.ggml.model", value: .string("bert"))
    w.add(key: "tokenizer.ggml.pre", value: .string("gpt-2"))
    w.add(key: "tokenizer.ggml.tokens", value: tokenList(phantom))
    w.add(key: "tokenizer.ggml.token_type", value: typeList(types))
    try SpecialVocabulary(folder: folder, tokenizer: t, config: config, vocabularySize: phantom.count, loadMerges: false)
        .add(to: &w)
}

/// T5Model.set_vocab from tokenizer.json's Unigram model (llama.cpp reads the same from spiece.model):
/// per id below `vocabSize`, the piece and its score — UNKNOWN for unk_id, CONTROL for special added
/// tokens, USER_DEFINED for other added tokens, BYTE for "<0xXX>" with byte_fallback, NORMAL otherwise;
/// added tokens beyond the Unigram vocabulary get score -1000 (as added_tokens.json's do), ids without a
/// token "[PADn]" with -10000 (UNUSED). Then add_space_prefix (the Metaspace pre-tokenizer prepends
/// "▁"), remove_extra_whitespaces (a Replace of " {2,}" in the normalizer), the Precompiled normalizer's
/// charsmap and the special vocabulary. Other normalizers (e.g. NFKC) have no GGUF form: a warning
/// is logged and the file tokenizes without them.
func addT5Vocabulary(_ w: inout GGUFWriter, _ t: HFTokenizerFile, vocabSize: Int, folder: String, config: HFConfig) throws {
    guard vocabSize > 0, vocabSize < HFTokenizerFile.maxID else { throw LoomError.format("convert: vocab_size \(vocabSize)") }
    if let top = t.tokens.keys.max(), top >= vocabSize {
        throw LoomError.format("convert: tokenizer.json has token id \(top), beyond vocab_size \(vocabSize)")
    }
    var tokens: [String] = [], scores: [GGUFValue] = [], types: [GGUFTokenType] = []
    for i in 0..<vocabSize {
        guard let text = t.tokens[i] else {
            tokens.append("[PAD\(i)]")
            scores.append(.float32(-10000))
            types.append(.unused)
            continue
        }
        tokens.append(text)
        scores.append(.float32(Float(t.scores[i] ?? -1000)))
        if i == t.unkID {
            types.append(.unknown)
        } else if let a = t.added[i] {
            types.append(a.special ? .control : .userDefined)
        } else if t.byteFallback, isByteToken(text) {
            types.append(.byte)
        } else {
            types.append(.normal)
        }
    }
    let (addSpacePrefix, normalization) = try unigramTextHandling(t.json)
    w.add(key: "tokenizer.ggml.model", value: .string("t5"))
    w.add(key: "tokenizer.ggml.pre", value: .string("default"))
    w.add(key: "tokenizer.ggml.tokens", value: tokenList(tokens))
    w.add(key: "tokenizer.ggml.scores", value: .array(.float32, scores))
    w.add(key: "tokenizer.ggml.token_type", value: typeList(types))
    w.add(key: "tokenizer.ggml.add_space_prefix", value: .bool(addSpacePrefix))
    w.add(key: "tokenizer.ggml.remove_extra_whitespaces", value: .bool(normalization.removeExtraWhitespaces))
    if !normalization.charsMap.isEmpty {
        w.add(key: "tokenizer.ggml.precompiled_charsmap", value: .array(.uint8, normalization.charsMap.map { .uint8($0) }))
    }
    try SpecialVocabulary(folder: folder, tokenizer: t, config: config, vocabularySize: tokens.count, loadMerges: false)
        .add(to: &w)
}

/// "<0x0A>": SentencePiece's byte pieces.
private func isByteToken(_ s: String) -> Bool {
    let u = Array(s.utf8)
    return u.count == 6 && s.hasPrefix("<0x") && s.hasSuffix(">") && u[3...4].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) }
}

/// SentencePiece's normalizer_spec as tokenizer.json spells it.
private struct UnigramNormalization {
    var charsMap: [UInt8] = []
    var removeExtraWhitespaces = false
}

/// add_dummy_prefix from the Metaspace pre-tokenizer (prepend_scheme "always" / "first", or the older
/// add_prefix_space), and the normalizer's charsmap / extra-whitespace removal.
private func unigramTextHandling(_ json: JSONValue) throws -> (Bool, UnigramNormalization) {
    func metaspace(_ v: JSONValue?) -> JSONValue? {
        guard let v else { return nil }
        if v["type"]?.string == "Metaspace" { return v }
        for item in v["pretokenizers"]?.array ?? [] { if let m = metaspace(item) { return m } }
        return nil
    }
    guard let m = metaspace(json["pre_tokenizer"]) else {
        throw LoomError.unsupported("convert: a Unigram tokenizer.json without a Metaspace pre-tokenizer has no GGUF form")
    }
    guard (m["replacement"]?.string ?? "\u{2581}") == "\u{2581}" else {
        throw LoomError.unsupported("convert: Metaspace replacement '\(m["replacement"]?.string ?? "")' has no GGUF form (▁)")
    }
    let addPrefix: Bool
    if let scheme = m["prepend_scheme"]?.string {
        addPrefix = scheme != "never"
    } else {
        addPrefix = m["add_prefix_space"]?.bool ?? true
    }
    var n = UnigramNormalization()
    var unrepresented: [String] = []
    func visit(_ v: JSONValue?) throws {
        guard let v, let type = v["type"]?.string else { return }
        switch type {
        case "Sequence":
            for item in v["normalizers"]?.array ?? [] { try visit(item) }
        case "Precompiled":
            guard let text = v["precompiled_charsmap"]?.string else { return }
            guard let blob = decodeBase64(text) else { throw LoomError.format("convert: precompiled_charsmap is not base64") }
            n.charsMap = blob
        case "Replace":
            if v["pattern"]?["Regex"]?.string == " {2,}" { n.removeExtraWhitespaces = true } else { unrepresented.append(type) }
        case "Strip":
            break   // part of SentencePiece's extra-whitespace removal
        default:
            unrepresented.append(type)
        }
    }
    try visit(json["normalizer"])
    if !unrepresented.isEmpty {
        Log.warn("convert: tokenizer.json normalizer(s) \(unrepresented.joined(separator: ", ")) have no GGUF form; the converted vocabulary tokenizes without them")
    }
    return (addPrefix, n)
}

/// Standard base64 (RFC 4648), padding optional; nil for anything else.
func decodeBase64(_ text: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count * 3 / 4)
    var acc: UInt32 = 0, bits = 0
    var ended = false
    for c in text.utf8 {
        let v: UInt32
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): v = 62
        case UInt8(ascii: "/"): v = 63
        case UInt8(ascii: "="): ended = true; continue
        default: return nil
        }
        guard !ended else { return nil }
        acc = (acc << 6) | v
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
        }
    }
    return out
}

// MARK: - Special tokens (gguf-py SpecialVocab)

/// gguf-py's SpecialVocab: BPE merges (when asked), special token ids from tokenizer_config.json's
/// *_token (looked up among tokenizer.json's added tokens; the post-processor's template may fill them
/// in) and then config.json's *_token_id, add_bos / add_eos / add_sep from the post-processor and
/// tokenizer_config.json, the chat template, and the normalizer's lowercase / strip_accents — in the
/// order gguf-py writes them. Not ported: additional_chat_templates/*.jinja.
struct SpecialVocabulary {
    private(set) var merges: [String] = []
    /// Special token ids, by kind, in the order they were found.
    private(set) var ids: [(kind: String, id: Int)] = []
    /// add_*_token flags, in the order they were set.
    private(set) var addFlags: [(kind: String, value: Bool)] = []
    private(set) var chatTemplate: JSONValue?
    private(set) var lowercase: Bool?
    private(set) var stripAccents: Bool?

    private var kinds = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
    private let vocabularySize: Int?

    init(folder: String, tokenizer: HFTokenizerFile, config: HFConfig, vocabularySize: Int?, loadMerges: Bool) throws {
        self.vocabularySize = vocabularySize
        if loadMerges { try readMerges(tokenizer.json) }
        if let normalizer = tokenizer.json["normalizer"] { readNormalizer(normalizer) }
        try readTokenizerConfig(folder: folder, tokenizer: tokenizer)
        for kind in kinds {
            var id = config.raw["\(kind)_token_id"]
            if id == nil || id == .null { id = config.raw["text_config"]?["\(kind)_token_id"] }
            try setID(kind, id)
        }
    }

    /// Writes what was found (SpecialVocab.add_to_gguf); kinds without a GGUF key (cls, add_unk, ...) are skipped.
    func add(to w: inout GGUFWriter) {
        if !merges.isEmpty { w.add(key: "tokenizer.ggml.merges", value: .array(.string, merges.map { .string($0) })) }
        let idKeys = ["bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "sep": "seperator_token_id",
                      "pad": "padding_token_id", "mask": "mask_token_id", "eot": "eot_token_id", "eom": "eom_token_id"]
        for (kind, id) in ids {
            guard let key = idKeys[kind], id <= Int(UInt32.max) else { continue }
            w.add(key: "tokenizer.ggml." + key, value: .uint32(UInt32(id)))
        }
        for (kind, value) in addFlags where ["bos", "eos", "sep"].contains(kind) {
            w.add(key: "tokenizer.ggml.add_\(kind)_token", value: .bool(value))
        }
        switch chatTemplate {
        case .string(let s):
            w.add(key: "tokenizer.chat_template", value: .string(s))
        case .array(let choices):
            var names: [String] = []
            var defaultTemplate: String?
            for choice in choices {
                guard let template = choice["template"]?.string else { continue }
                let name = String((choice["name"]?.string ?? "").map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
                guard !name.isEmpty else { continue }
                if name == "default" {
                    defaultTemplate = template
                } else {
                    if !names.contains(name) { names.append(name) }
                    w.add(key: "tokenizer.chat_template.\(name)", value: .string(template))
                }
            }
            if !names.isEmpty { w.add(key: "tokenizer.chat_templates", value: .array(.string, names.map { .string($0) })) }
            if let defaultTemplate { w.add(key: "tokenizer.chat_template", value: .string(defaultTemplate)) }
        default:
            break
        }
        if let lowercase { w.add(key: "tokenizer.ggml.normalizer.lowercase", value: .bool(lowercase)) }
        if let stripAccents { w.add(key: "tokenizer.ggml.normalizer.strip_accents", value: .bool(stripAccents)) }
    }

    /// Merges as strings "a b"; the pair form's spaces inside a part become U+0120, as gguf-py writes them.
    private mutating func readMerges(_ json: JSONValue) throws {
        guard let list = json["model"]?["merges"]?.array, let first = list.first else { return }
        if first.string != nil {
            merges = list.compactMap(\.string)
        } else if let pair = first.array, pair.count == 2, pair[0].string != nil {
            merges = try list.map { m in
                guard let p = m.array, p.count == 2, let a = p[0].string, let b = p[1].string else {
                    throw LoomError.format("convert: tokenizer.json has a malformed merge")
                }
                return a.replacing(" ", with: "\u{120}") + " " + b.replacing(" ", with: "\u{120}")
            }
        } else {
            throw LoomError.format("convert: tokenizer.json's merges are in an unknown format")
        }
    }

    private mutating func readNormalizer(_ n: JSONValue) {
        switch n["type"]?.string {
        case "Lowercase": lowercase = true
        case "StripAccents": stripAccents = true
        case "BertNormalizer":
            if let v = n["lowercase"], !v.isNull { lowercase = v.bool ?? truthy(v) }
            if let v = n["strip_accents"], !v.isNull { stripAccents = v.bool ?? truthy(v) }
        case "Sequence":
            for item in n["normalizers"]?.array ?? [] { readNormalizer(item) }
        default: break
        }
    }

    /// _set_special_token: the first id of each kind wins; ids at or beyond the vocabulary are skipped.
    private mutating func setID(_ kind: String, _ value: JSONValue?) throws {
        guard let value, case .number = value, let id = value.int else { return }
        guard id >= 0 else { throw LoomError.format("convert: special token \(kind) has id \(id)") }
        if let n = vocabularySize, id >= n { return }
        if !ids.contains(where: { $0.kind == kind }) { ids.append((kind, id)) }
    }

    private mutating func setFlag(_ kind: String, _ value: Bool, keepExisting: Bool = false) {
        if let i = addFlags.firstIndex(where: { $0.kind == kind }) {
            if !keepExisting { addFlags[i].value = value }
        } else {
            addFlags.append((kind, value))
        }
    }

    /// _try_load_from_tokenizer_json: the post-processor's template, then tokenizer_config.json.
    private mutating func readTokenizerConfig(folder: String, tokenizer t: HFTokenizerFile) throws {
        let tcPath = folder + "/tokenizer_config.json"
        var tc = fileExists(tcPath) ? (try JSONParser.parse(try readWholeFile(tcPath, limit: 64 << 20))).object : nil
        func tcTruthy() -> Bool { (tc?.count ?? 0) > 0 }
        func setTC(_ key: String, _ value: JSONValue?) { tc?.set(key, value ?? .null) }

        var bos = tc?["bos_token"], cls = tc?["cls_token"], eos = tc?["eos_token"], sep = tc?["sep_token"]
        if !truthy(bos), truthy(cls), tcTruthy() { bos = cls; setTC("bos_token", cls) }
        if !truthy(eos), truthy(sep), tcTruthy() { eos = sep; setTC("eos_token", sep) }
        if let post = t.json["post_processor"], truthy(post) {
            for processor in post["processors"]?.array ?? [post] {
                switch processor["type"]?.string {
                case "ByteLevel":
                    setFlag("bos", false, keepExisting: true)
                    setFlag("eos", false, keepExisting: true)
                case "RobertaProcessing":
                    setFlag("bos", true)
                    setFlag("eos", true)
                    setFlag("sep", true)
                    if !truthy(cls), tcTruthy() {
                        cls = processor["cls"]?.array?.first ?? bos
                        setTC("cls_token", cls)
                    }
                    if !truthy(sep), tcTruthy() {
                        sep = processor["sep"]?.array?.first ?? eos
                        setTC("sep_token", sep)
                    }
                case "TemplateProcessing":
                    let single = processor["single"]?.array ?? []
                    var pair = processor["pair"]?.array ?? []
                    func specialID(_ v: JSONValue?) -> JSONValue? {
                        guard let id = v?["SpecialToken"]?["id"], truthy(id) else { return nil }
                        return id
                    }
                    var first: JSONValue?, last: JSONValue?
                    if single.count > 1 {
                        first = specialID(single.first)
                        if let f = first {
                            if !tcTruthy() {
                                bos = f
                            } else if f != bos && f != cls {
                                if !truthy(bos) { bos = f; setTC("bos_token", f) }
                                if !truthy(cls) { cls = f; setTC("cls_token", f) }
                            }
                            setFlag("bos", f == bos || f == cls)
                        }
                        last = specialID(single.last)
                        if let l = last {
                            if !tcTruthy() {
                                eos = l
                            } else if l != eos {
                                if !kinds.contains("eot") {
                                    kinds.append("eot")
                                    setTC("eot_token", eos)
                                } else if !kinds.contains("eom") {
                                    kinds.append("eom")
                                    setTC("eom_token", eos)
                                }
                                eos = l
                                setTC("eos_token", l)
                            }
                            setFlag("eos", l == eos)
                        }
                    }
                    guard !pair.isEmpty else { continue }
                    let start = first != nil && specialID(pair.first) == first ? 1 : 0
                    let stop = last != nil && specialID(pair.last) == last ? pair.count - 1 : pair.count
                    pair = start < stop ? Array(pair[start..<stop]) : []
                    guard let a = pair.first, let b = pair.last, a["Sequence"]?["id"]?.string == "A",
                          b["Sequence"]?["id"]?.string == "B", pair.count > 2 else { continue }
                    let middle = Array(pair[1..<(pair.count - 1)])
                    var addSep = false
                    if let entry = specialID(middle.first), (entry == sep || entry == eos), last == nil { addSep = true }
                    if middle.count == 2, let entry = specialID(middle.last), entry == sep || entry == eos { addSep = true }
                    setFlag("sep", addSep)
                    if addSep, !truthy(sep), tcTruthy() { setTC("sep_token", eos) }
                default:
                    break
                }
            }
        }
        guard let config = tc, tcTruthy() else { return }

        var alternative: JSONValue?
        if fileExists(folder + "/chat_template.jinja") {
            alternative = .string(String(decoding: try readWholeFile(folder + "/chat_template.jinja", limit: 64 << 20), as: UTF8.self))
        } else if fileExists(folder + "/chat_template.json") {
            alternative = try JSONParser.parse(try readWholeFile(folder + "/chat_template.json", limit: 64 << 20))["chat_template"]
        }
        let template = config.keys.contains("chat_template") ? config["chat_template"] : alternative
        switch template {
        case .string?, .array?: chatTemplate = template
        default: break
        }
        for kind in kinds {
            if let add = config["add_\(kind)_token"]?.bool { setFlag(kind, add, keepExisting: true) }
            let content: String
            switch config["\(kind)_token"] {
            case .string(let s)?: content = s
            case .object(let o)?:
                guard let s = o["content"]?.string else { continue }
                content = s
            default: continue
            }
            let match = t.addedTokens.first { $0["content"]?.string.map { Array($0.utf8) == Array(content.utf8) } ?? false }
            try setID(kind, match?["id"])
        }
    }
}

/// Python's truthiness of a JSON value (None, false, 0, "", [] and {} are false).
private func truthy(_ v: JSONValue?) -> Bool {
    switch v {
    case nil, .null?: return false
    case .bool(let b)?: return b
    case .number(let d)?: return d != 0
    case .string(let s)?: return !s.isEmpty
    case .array(let a)?: return !a.isEmpty
    case .object(let o)?: return o.count > 0
    }
}
