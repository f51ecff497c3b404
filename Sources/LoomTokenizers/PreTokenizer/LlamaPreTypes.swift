import LoomCore

/// llama.cpp's pre-tokenizer types (`tokenizer.ggml.pre`): the regex lists of
/// `llm_tokenizer_bpe` and the per-type flags of `llama_vocab::impl::load` (src/llama-vocab.cpp).
struct LlamaPreType {
    let name: String
    let regexes: [String]
    var cleanSpaces = true
    var ignoreMerges = false
    var addBOS = false
    var addSEP = false
    var noBOS = false

    static let gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
    static let llama3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let qwen2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let qwen35 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let starcoder = ["\\p{N}", gpt2]
    static let poro = " ?[^(\\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+"
    static let gpt4o = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let tekken = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let deepseekLLM = [
        "[\r\n]",
        "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+",
        "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
        "\\s+$",
        "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+",
        "\\p{N}+",
    ]
    static let deepseekCoder = ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+", "\\p{N}"]
    static let deepseekV3 = [
        "\\p{N}{1,3}",
        "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+",
        "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    ]
    static let falcon = ["[\\p{P}\\$\\+<=>\\^~\\|`]+", gpt2, "[0-9][0-9][0-9]"]
    static let defaultRegexes = ["[\\p{P}\\$\\+<=>\\^~\\|]+", gpt2, "\\p{N}+", "[0-9][0-9][0-9]"]

    /// The type for a `tokenizer.ggml.pre` value (nil or empty: llama.cpp's "default").
    static func named(_ pre: String?) throws -> LlamaPreType {
        let p = pre ?? ""
        switch p {
        case "", "default":
            return LlamaPreType(name: p.isEmpty ? "default" : p, regexes: defaultRegexes)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            return LlamaPreType(name: p, regexes: [llama3], ignoreMerges: true, addBOS: true)
        case "dbrx", "smaug-bpe":
            return LlamaPreType(name: p, regexes: [llama3])
        case "chatglm-bpe":
            return LlamaPreType(name: p, regexes: [llama3], noBOS: true)
        case "glm4", "glm5":
            return LlamaPreType(name: p, regexes: [llama3], ignoreMerges: true, noBOS: true)
        case "deepseek-llm":
            return LlamaPreType(name: p, regexes: deepseekLLM, cleanSpaces: false)
        case "deepseek-coder":
            return LlamaPreType(name: p, regexes: deepseekCoder, cleanSpaces: false)
        case "deepseek-v3":
            return LlamaPreType(name: p, regexes: deepseekV3, cleanSpaces: false)
        case "falcon":
            return LlamaPreType(name: p, regexes: falcon)
        case "mpt", "olmo", "jais", "exaone4":
            return LlamaPreType(name: p, regexes: [gpt2])
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert":
            return LlamaPreType(name: p, regexes: [gpt2])
        case "jina-v1-en", "jina-v2-code", "roberta-bpe":
            return LlamaPreType(name: p, regexes: [gpt2], addSEP: true)
        case "trillion", "granite-docling":
            return LlamaPreType(name: p, regexes: [gpt2], cleanSpaces: false)
        case "starcoder", "refact", "codeshell", "exaone", "minerva-7b":
            return LlamaPreType(name: p, regexes: starcoder)
        case "smollm", "command-r":
            return LlamaPreType(name: p, regexes: starcoder, cleanSpaces: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2":
            return LlamaPreType(name: p, regexes: [qwen2], cleanSpaces: false)
        case "stablelm2", "megrez":
            return LlamaPreType(name: p, regexes: [qwen2])
        case "hunyuan":
            return LlamaPreType(name: p, regexes: [qwen2], cleanSpaces: false)
        case "qwen35":
            return LlamaPreType(name: p, regexes: [qwen35], cleanSpaces: false)
        case "poro-chat":
            return LlamaPreType(name: p, regexes: [poro], cleanSpaces: false)
        case "bloom", "gpt3-finnish":
            return LlamaPreType(name: p, regexes: [poro])
        case "viking":
            return LlamaPreType(name: p, regexes: [poro, "\\p{N}"], cleanSpaces: false)
        case "gpt-4o", "llama4", "kanana2", "talkie":
            return LlamaPreType(name: p, regexes: [gpt4o], cleanSpaces: false)
        case "tekken":
            return LlamaPreType(name: p, regexes: [tekken], cleanSpaces: false, ignoreMerges: true, addBOS: true)
        default:
            throw LoomError.unsupported("pre-tokenizer type '\(p)' (tokenizer.ggml.pre) is not supported")
        }
    }

    /// The pre-tokenizer steps: llama.cpp's custom splitters where it has them, else the regex.
    func preTokenizer() throws -> PreTokenizer {
        var steps: [PreTokenizer.Step] = []
        for r in regexes {
            if r == "\\p{N}" {
                // Every number character on its own (the same as HF's Digits(individual_digits)).
                steps.append(.digits(individual: true))
            } else if let fast = FastSplitter.recognise(r) {
                steps.append(.fast(fast, foldCase: false))
            } else {
                steps.append(.llamaRegex(try Regex(r, flavor: .llamaCpp)))
            }
        }
        return PreTokenizer(steps: steps)
    }
}
