/// Token attributes, as llama.cpp's `llama_token_attr` (bit values match).
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    static let normalized = TokenAttributes(rawValue: 1 << 6)
    static let lstrip = TokenAttributes(rawValue: 1 << 7)
    static let rstrip = TokenAttributes(rawValue: 1 << 8)
    static let singleWord = TokenAttributes(rawValue: 1 << 9)

    /// GGUF `tokenizer.ggml.token_type` values.
    init(ggufType: Int) {
        switch ggufType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []  // UNDEFINED
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

/// The token inventory: texts as stored, attributes, special ids, end-of-generation set.
struct Vocabulary: Sendable {
    var texts: [String]
    var attributes: [TokenAttributes]
    /// Stored text → id (the last id wins for duplicate texts, as in llama.cpp and HF).
    var textTable: ByteStringTable

    var bos: Int32?
    var eos: Int32?
    var eot: Int32?
    var eom: Int32?
    var unk: Int32?
    var sep: Int32?
    var pad: Int32?
    var mask: Int32?
    var fimPre: Int32?
    var fimSuf: Int32?
    var fimMid: Int32?
    var fimPad: Int32?
    var fimRep: Int32?
    var fimSep: Int32?
    var eog: Set<Int32> = []

    init(texts: [String], attributes: [TokenAttributes]) {
        self.texts = texts
        self.attributes = attributes
        self.textTable = ByteStringTable(strings: texts)
    }

    var count: Int { texts.count }

    func id(of text: String) -> Int32? { textTable.lookup(text) }

    func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) < texts.count }

    /// Texts llama.cpp recognises as end-of-turn, in the order it lists them.
    static let eotTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                           "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
    static let eomTexts = ["<|eom_id|>"]
    static let fimPreTexts = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                              "<|code_prefix|>", "<|prefix|>"]
    static let fimSufTexts = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                              "<|code_suffix|>", "<|suffix|>"]
    static let fimMidTexts = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                              "<|code_middle|>", "<|middle|>"]
    static let fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSepTexts = ["<|file_sep|>"]
    /// Texts llama.cpp treats as end of generation.
    static let eogTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                           "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                           "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                           "<｜end▁of▁sentence｜>", "[e~["]

    /// llama.cpp's text-based detection of special tokens and the end-of-generation set
    /// (llama_vocab::impl::load): tokens found by text are forced to CONTROL. `markControl`
    /// is false for HF vocabularies, whose token kinds come from `added_tokens`.
    mutating func detectSpecialTokens(markControl: Bool) {
        func find(_ list: [String], _ current: Int32?, _ vocab: inout Vocabulary) -> Int32? {
            guard current == nil else { return current }
            for t in list {
                if let id = vocab.id(of: t) {
                    if markControl { vocab.attributes[Int(id)].insert(.control) }
                    return id
                }
            }
            return nil
        }
        eot = find(Self.eotTexts, eot, &self)
        eom = find(Self.eomTexts, eom, &self)
        fimPre = find(Self.fimPreTexts, fimPre, &self)
        fimSuf = find(Self.fimSufTexts, fimSuf, &self)
        fimMid = find(Self.fimMidTexts, fimMid, &self)
        fimPad = find(Self.fimPadTexts, fimPad, &self)
        fimRep = find(Self.fimRepTexts, fimRep, &self)
        fimSep = find(Self.fimSepTexts, fimSep, &self)

        if markControl {
            // Control tokens whose text says "unused" are unused.
            for i in attributes.indices where attributes[i].contains(.control) && !attributes[i].contains(.unused) {
                if texts[i].contains("unused") { attributes[i].insert(.unused) }
            }
        }

        var set = Set<Int32>()
        for id in [fimPad, fimRep, fimSep] { if let id { set.insert(id) } }
        for t in Self.eogTexts {
            if let id = id(of: t) {
                set.insert(id)
                if markControl { attributes[Int(id)].insert(.control) }
            }
        }
        if markControl {
            // gpt-oss: these are always rendered.
            for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
                if let id = id(of: t) { attributes[Int(id)] = .userDefined }
            }
        }
        for id in [eos, eot, eom] { if let id { set.insert(id) } }

        // o200k_harmony / solar-open: "<|end|>" is not end of generation when "<|return|>" and
        // "<|call|>" (or "<|calls|>" and "<|flush|>") exist.
        let texts = self.texts
        let has = { (t: String) in set.contains { Int($0) < texts.count && texts[Int($0)] == t } }
        if (has("<|return|>") && has("<|call|>") && has("<|end|>")) || (has("<|calls|>") && has("<|flush|>") && has("<|end|>")) {
            if let end = set.first(where: { Int($0) < texts.count && texts[Int($0)] == "<|end|>" }) {
                set.remove(end)
                if markControl { attributes[Int(end)] = .userDefined }
            }
        }
        // gemma4 / plamo: "</s>" is a normal token there.
        if has("<|tool_response>") || has("<|plamo:eos|>"), let s = set.first(where: { Int($0) < texts.count && texts[Int($0)] == "</s>" }) {
            set.remove(s)
            if markControl { attributes[Int(s)] = .normal }
        }
        eog = set
    }
}
