import LoomCore
import LoomFormats
import LoomKernels

/// Output types of `convertHF` (llama.cpp convert_hf_to_gguf.py's --outtype f32 / f16 / bf16 / q8_0).
public enum ConvertType: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0

    public init?(name: String) { self.init(rawValue: name.lowercased()) }

    var tensorType: TensorType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        }
    }

    var fileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .bf16: return 32
        case .q8_0: return 7
        }
    }
}

/// Converts an HF llama folder (config.json, tokenizer.json, safetensors) to a GGUF file as llama.cpp's
/// convert_hf_to_gguf.py does, so that the result loads in Loom and in llama.cpp:
///
/// - Metadata, in convert_hf_to_gguf's order: general.architecture/type/name/size_label (name from the
///   folder name, "tiny-llama" -> "Tiny Llama"; size label from the parameter count, "152K"), llama.*
///   hyper-parameters, general.file_type, vocab size, RoPE dimensions, general.quantization_version, then
///   the tokenizer: tokenizer.ggml.model "gpt2", pre (from the pre-tokenizer: ByteLevel -> "gpt-2",
///   the Llama 3 split -> "llama-bpe"), tokens (ids missing from tokenizer.json become "[PADn]",
///   UNUSED), token types (added special -> CONTROL, other added -> USER_DEFINED), merges, special token
///   ids (tokenizer_config.json's *_token, else config.json's *_token_id), add_bos/add_eos flags, chat template.
/// - Tensors in the checkpoint's order (sorted names per shard), renamed to GGUF names (TensorNames), with
///   attn_q / attn_k rows permuted from HF's rotate-half layout to GGUF's interleaved pairs (LlamaModel.permute).
/// - Types: 1-D tensors, norms and tensors not named *.weight are F32; others `type`; Q8_0 falls back to
///   F16 for rows that are not a multiple of 32. Data is converted with LoomKernels.quantize (gguf-py's bytes).
///
/// For Tests/Fixtures/tiny-llama this gives the committed model.{f32,f16,q8_0}.gguf byte for byte.
/// Only llama (LlamaForCausalLM) with a BPE tokenizer.json is handled: LoomError.unsupported otherwise.
/// `weights`, when given, supplies a tensor's values (HF row order, by GGUF name) in place of the
/// checkpoint's, or nil to keep them: how `Model.save` writes an HF model with merged adapters.
public func convertHF(folder: String, output: String, type: ConvertType,
                      weights: ((String) throws -> [Float]?)? = nil) throws {
    let hf = try HFFolder(path: folder, loadWeights: true)
    guard let config = hf.config else { throw LoomError.io("'\(folder)' has no config.json") }
    guard config.modelType == "llama" || config.architectures.contains("LlamaForCausalLM") else {
        throw LoomError.unsupported(
            "convert: only llama models are converted ('\(folder)' is \(config.modelType ?? config.architectures.first ?? "unknown"))")
    }
    guard let layers = config.numHiddenLayers, let hidden = config.hiddenSize, let heads = config.numAttentionHeads,
          heads > 0, hidden % heads == 0 else {
        throw LoomError.format("convert: config.json lacks num_hidden_layers / hidden_size / num_attention_heads")
    }
    let kvHeads = config.numKeyValueHeads ?? heads
    if let rope = config.raw["rope_scaling"]?.object ?? config.raw["rope_parameters"]?.object,
       let kind = rope["rope_type"]?.string ?? rope["type"]?.string, kind != "default" {
        throw LoomError.unsupported("convert: RoPE scaling '\(kind)' is not converted")
    }

    // Tensors, in convert_hf_to_gguf's order.
    struct Source { let file: SafetensorsFile; let info: SafetensorsTensorInfo; let gguf: String }
    var sources: [Source] = []
    var parameters = 0
    for file in hf.weightFiles {
        for info in file.tensors.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            if info.name.hasSuffix(".rotary_emb.inv_freq") || info.name.hasSuffix(".attention.masked_bias") { continue }
            guard let name = ggufName(forHF: info.name) else {
                throw LoomError.unsupported("convert: tensor '\(info.name)' has no GGUF name")
            }
            guard ["F32", "F16", "BF16"].contains(info.dtypeName) else {
                throw LoomError.unsupported("convert: tensor '\(info.name)' has dtype \(info.dtypeName)")
            }
            sources.append(Source(file: file, info: info, gguf: name))
            parameters += info.elementCount
        }
    }

    var w = GGUFWriter()
    let arch = "llama"
    w.add(key: "general.architecture", value: .string(arch))
    w.add(key: "general.type", value: .string("model"))
    w.add(key: "general.name", value: .string(modelName(folder: folder)))
    w.add(key: "general.size_label", value: .string(sizeLabel(parameters)))
    w.add(key: "\(arch).block_count", value: .uint32(UInt32(layers)))
    if let n = config.maxPositionEmbeddings { w.add(key: "\(arch).context_length", value: .uint32(UInt32(n))) }
    w.add(key: "\(arch).embedding_length", value: .uint32(UInt32(hidden)))
    if let n = config.intermediateSize { w.add(key: "\(arch).feed_forward_length", value: .uint32(UInt32(n))) }
    w.add(key: "\(arch).attention.head_count", value: .uint32(UInt32(heads)))
    w.add(key: "\(arch).attention.head_count_kv", value: .uint32(UInt32(kvHeads)))
    if let theta = config.ropeTheta { w.add(key: "\(arch).rope.freq_base", value: .float32(Float(theta))) }
    if let eps = config.rmsNormEps { w.add(key: "\(arch).attention.layer_norm_rms_epsilon", value: .float32(Float(eps))) }
    if let hd = config.raw["head_dim"]?.int {
        w.add(key: "\(arch).attention.key_length", value: .uint32(UInt32(hd)))
        w.add(key: "\(arch).attention.value_length", value: .uint32(UInt32(hd)))
    }
    w.add(key: "general.file_type", value: .uint32(type.fileType))
    let tokenizer = try readTokenizerJSON(folder)
    let vocabSize = config.vocabSize ?? tokenizer.count
    w.add(key: "\(arch).vocab_size", value: .uint32(UInt32(vocabSize)))
    w.add(key: "\(arch).rope.dimension_count", value: .uint32(UInt32(config.raw["head_dim"]?.int ?? hidden / heads)))
    w.add(key: "general.quantization_version", value: .uint32(2))
    try addTokenizer(&w, tokenizer, vocabSize: vocabSize, folder: folder, config: config)

    for s in sources {
        let hfShape = s.info.shape
        let dims = Array(hfShape.reversed())
        let nDims = hfShape.count
        var target = type.tensorType
        if nDims <= 1 || s.gguf.hasSuffix("_norm.weight") || !s.gguf.hasSuffix(".weight") { target = .f32 }
        if dims[0] % target.blockSize != 0 { target = .f16 }
        let permuteHeads: Int? = s.gguf.hasSuffix("attn_q.weight") ? heads : s.gguf.hasSuffix("attn_k.weight") ? kvHeads : nil
        try w.add(tensor: s.gguf, type: target, dims: dims) { out in
            var values = try weights?(s.gguf) ?? s.file.floats(s.info.name)
            if let h = permuteHeads { values = try permuteRows(values, shape: hfShape, heads: h, name: s.info.name) }
            guard values.count == s.info.elementCount, let dst = out.baseAddress else {
                throw LoomError.format("convert: tensor '\(s.info.name)' has the wrong size")
            }
            let row = dims[0]
            let rowBytes = target.byteCount(elements: row) ?? 0
            try values.withUnsafeBufferPointer { src in
                guard let base = src.baseAddress else { return }
                for r in 0..<(values.count / max(row, 1)) {
                    try quantize(target, base + r * row, dst + r * rowBytes, count: row)
                }
            }
        }
    }
    try w.write(to: output)
}

/// convert_hf_to_gguf's LlamaModel.permute: per head, rows [first half; second half] -> interleaved pairs.
private func permuteRows(_ v: [Float], shape: [Int], heads: Int, name: String) throws -> [Float] {
    guard let rows = shape.first, heads > 0, rows % (2 * heads) == 0 else {
        throw LoomError.format("convert: '\(name)' rows do not split into \(heads) heads")
    }
    let cols = v.count / max(rows, 1)
    let headDim = rows / heads, half = headDim / 2
    var out = [Float](repeating: 0, count: v.count)
    for h in 0..<heads {
        for i in 0..<half {
            for j in 0..<2 {
                let dst = (h * headDim + 2 * i + j) * cols
                let src = (h * headDim + j * half + i) * cols
                for c in 0..<cols { out[dst + c] = v[src + c] }
            }
        }
    }
    return out
}

/// The GGUF name of an HF llama tensor name (TensorNames.llamaFamily, read backwards).
func ggufName(forHF name: String) -> String? {
    for (gguf, hf) in TensorNames.llamaFamily {
        if !hf.contains("{i}") {
            if hf == name { return gguf }
            continue
        }
        let parts = hf.split(separator: "{i}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, name.hasPrefix(parts[0]), name.hasSuffix(parts[1]),
              name.count > parts[0].count + parts[1].count else { continue }
        let middle = name.dropFirst(parts[0].count).dropLast(parts[1].count)
        guard let layer = Int(middle), layer >= 0, String(layer) == middle else { continue }
        return gguf.replacing("{i}", with: String(layer))
    }
    return nil
}

/// gguf-py's Metadata name heuristic for a plain folder name: "tiny-llama" -> "Tiny Llama".
private func modelName(folder: String) -> String {
    let base = folder.split(separator: "/").last.map(String.init) ?? folder
    return base.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { word in
        word.prefix(1).uppercased() + word.dropFirst()
    }.joined(separator: " ")
}

/// gguf-py's model_weight_count_rounded_notation(n, min_digits: 2).
func sizeLabel(_ n: Int) -> String {
    let (scaled, suffix): (Double, String) = n > 1_000_000_000_000 ? (Double(n) * 1e-12, "T")
        : n > 1_000_000_000 ? (Double(n) * 1e-9, "B") : n > 1_000_000 ? (Double(n) * 1e-6, "M") : (Double(n) * 1e-3, "K")
    let rounded = String(Int(scaled.rounded(.toNearestOrEven)))
    let digits = rounded.drop(while: { $0 == "0" }).count
    let fix = max(2 - digits, 0)
    var text = String(Int(scaled.rounded(.toNearestOrEven)))
    if fix > 0 {
        let scale = pow10(fix)
        let v = (scaled * scale).rounded(.toNearestOrEven) / scale
        let whole = Int(v)
        let frac = Int(((v - Double(whole)) * scale).rounded())
        let fracText = String(frac)
        text = "\(whole)." + String(repeating: "0", count: max(0, fix - fracText.count)) + fracText
    }
    return text + suffix
}

private func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }

// MARK: - Tokenizer (convert_hf_to_gguf's _set_vocab_gpt2 + gguf-py SpecialVocab)

struct HFTokenizerVocab {
    var tokens: [Int: String] = [:]
    var added: [Int: (content: String, special: Bool)] = [:]
    var merges: [String] = []
    var pre = "gpt-2"
    var count: Int { (tokens.keys.max() ?? -1) + 1 }
    var ids: [String: Int] = [:]
}

private func readTokenizerJSON(_ folder: String) throws -> HFTokenizerVocab {
    let path = folder + "/tokenizer.json"
    guard fileExists(path) else { throw LoomError.unsupported("convert: '\(folder)' has no tokenizer.json") }
    let json = try JSONParser.parse(try readWholeFile(path, limit: 256 << 20))
    guard let model = json["model"], model["type"]?.string == "BPE", model["byte_fallback"]?.bool != true,
          let vocab = model["vocab"]?.object else {
        throw LoomError.unsupported("convert: only byte-level BPE tokenizer.json files are converted")
    }
    var v = HFTokenizerVocab()
    for key in vocab.keys {
        guard let id = vocab[key]?.int, id >= 0, id < 1 << 24 else { continue }
        v.tokens[id] = key
        v.ids[key] = id
    }
    for t in json["added_tokens"]?.array ?? [] {
        guard let id = t["id"]?.int, id >= 0, id < 1 << 24, let content = t["content"]?.string else { continue }
        v.tokens[id] = content
        v.ids[content] = id
        v.added[id] = (content, t["special"]?.bool ?? false)
    }
    for m in model["merges"]?.array ?? [] {
        if let s = m.string { v.merges.append(s) } else if let pair = m.array?.compactMap(\.string), pair.count == 2 {
            v.merges.append(pair[0] + " " + pair[1])
        }
    }
    // The pre-tokenizer: convert_hf_to_gguf hashes a test encoding; the common cases by their structure.
    let pre = json["pre_tokenizer"]
    if pre?["type"]?.string == "ByteLevel", pre?["use_regex"]?.bool ?? true {
        v.pre = "gpt-2"
    } else if let list = pre?["pretokenizers"]?.array,
              let pattern = list.first?["pattern"]?["Regex"]?.string, pattern.contains("(?i:'s|'t|'re|'ve|'m|'ll|'d)") {
        v.pre = "llama-bpe"
    } else {
        throw LoomError.unsupported("convert: the tokenizer's pre-tokenizer is not recognised")
    }
    return v
}

private func addTokenizer(_ w: inout GGUFWriter, _ v: HFTokenizerVocab, vocabSize: Int, folder: String,
                          config: HFConfig) throws {
    var tokens: [GGUFValue] = []
    var types: [GGUFValue] = []
    for i in 0..<vocabSize {
        if let t = v.tokens[i] {
            tokens.append(.string(t))
            if let a = v.added[i] {
                types.append(.int32(a.special || looksSpecial(t) ? 3 : 4))
            } else {
                types.append(.int32(1))
            }
        } else {
            tokens.append(.string("[PAD\(i)]"))
            types.append(.int32(5))
        }
    }
    w.add(key: "tokenizer.ggml.model", value: .string("gpt2"))
    w.add(key: "tokenizer.ggml.pre", value: .string(v.pre))
    w.add(key: "tokenizer.ggml.tokens", value: .array(.string, tokens))
    w.add(key: "tokenizer.ggml.token_type", value: .array(.int32, types))
    if !v.merges.isEmpty { w.add(key: "tokenizer.ggml.merges", value: .array(.string, v.merges.map { .string($0) })) }
    let tcPath = folder + "/tokenizer_config.json"
    let tc = fileExists(tcPath) ? try JSONParser.parse(try readWholeFile(tcPath, limit: 64 << 20)) : nil
    for kind in ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] {
        var id: Int?
        if let t = tc?["\(kind)_token"], let content = t.string ?? t["content"]?.string { id = v.ids[content] }
        if id == nil { id = config.raw["\(kind)_token_id"]?.int }
        if let id, id >= 0, id < vocabSize { w.add(key: "tokenizer.ggml.\(kind)_token_id", value: .uint32(UInt32(id))) }
    }
    for kind in ["bos", "eos"] {
        if let b = tc?["add_\(kind)_token"]?.bool { w.add(key: "tokenizer.ggml.add_\(kind)_token", value: .bool(b)) }
    }
    if let template = tc?["chat_template"]?.string { w.add(key: "tokenizer.chat_template", value: .string(template)) }
}

/// gguf-py's does_token_look_special, for the common spellings.
private func looksSpecial(_ t: String) -> Bool {
    (t.hasPrefix("<|") && t.hasSuffix("|>")) || (t.hasPrefix("<｜") && t.hasSuffix("｜>"))
        || (t.hasPrefix("<") && t.hasSuffix(">") && t.count > 2 && !t.contains(" "))
}
