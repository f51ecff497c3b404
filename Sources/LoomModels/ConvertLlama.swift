import LoomCore
import LoomFormats

/// convert_hf_to_gguf's LlamaModel for LlamaForCausalLM folders with a byte-level BPE tokenizer.json:
/// `llama.*` keys, TensorNames.llamaFamily names, Q/K rows (weights and biases) permuted from HF's
/// rotate-half layout to GGUF's interleaved pairs.
struct LlamaConverter: HFArchitectureConverter {
    let name = "llama"
    let folder: String
    let config: HFConfig
    let layers: Int, hidden: Int, heads: Int, kvHeads: Int
    let tokenizer: HFTokenizerFile
    let vocabSize: Int

    init(folder: String, config: HFConfig) throws {
        guard let layers = config.numHiddenLayers, let hidden = config.hiddenSize, let heads = config.numAttentionHeads,
              heads > 0, hidden % heads == 0 else {
            throw LoomError.format("convert: config.json lacks num_hidden_layers / hidden_size / num_attention_heads")
        }
        let kvHeads = config.numKeyValueHeads ?? heads
        guard kvHeads > 0 else { throw LoomError.format("convert: num_key_value_heads is \(kvHeads)") }
        if let rope = config.raw["rope_scaling"]?.object ?? config.raw["rope_parameters"]?.object,
           let kind = rope["rope_type"]?.string ?? rope["type"]?.string, kind != "default" {
            throw LoomError.unsupported("convert: RoPE scaling '\(kind)' is not converted")
        }
        self.folder = folder
        self.config = config
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        tokenizer = try HFTokenizerFile(folder: folder, architecture: "llama", kind: .bpe, described: "byte-level BPE")
        vocabSize = config.vocabSize ?? tokenizer.tokens.count
    }

    func tensors(_ checkpoint: [CheckpointTensor]) throws -> [ConvertTensor] {
        try checkpoint.map { t in
            guard let gguf = ggufName(forHF: t.name) else {
                throw LoomError.unsupported("convert: tensor '\(t.name)' has no GGUF name")
            }
            var out = ConvertTensor(t, as: gguf)
            let permuteHeads: Int? = gguf.hasSuffix(".attn_q.weight") || gguf.hasSuffix(".attn_q.bias") ? heads
                : gguf.hasSuffix(".attn_k.weight") || gguf.hasSuffix(".attn_k.bias") ? kvHeads : nil
            if let h = permuteHeads {
                let shape = t.shape, name = t.name
                out.transform = { try permuteRows($0, shape: shape, heads: h, name: name) }
            }
            return out
        }
    }

    func addParameters(_ w: inout GGUFWriter, fileType: UInt32) throws {
        let arch = name
        w.add(key: "\(arch).block_count", value: try uint32Parameter(layers, "num_hidden_layers"))
        if let n = config.maxPositionEmbeddings { w.add(key: "\(arch).context_length", value: try uint32Parameter(n, "max_position_embeddings")) }
        w.add(key: "\(arch).embedding_length", value: try uint32Parameter(hidden, "hidden_size"))
        if let n = config.intermediateSize { w.add(key: "\(arch).feed_forward_length", value: try uint32Parameter(n, "intermediate_size")) }
        w.add(key: "\(arch).attention.head_count", value: try uint32Parameter(heads, "num_attention_heads"))
        w.add(key: "\(arch).attention.head_count_kv", value: try uint32Parameter(kvHeads, "num_key_value_heads"))
        if let theta = config.ropeTheta { w.add(key: "\(arch).rope.freq_base", value: .float32(Float(theta))) }
        if let eps = config.rmsNormEps { w.add(key: "\(arch).attention.layer_norm_rms_epsilon", value: .float32(Float(eps))) }
        if let hd = config.raw["head_dim"]?.int {
            w.add(key: "\(arch).attention.key_length", value: try uint32Parameter(hd, "head_dim"))
            w.add(key: "\(arch).attention.value_length", value: try uint32Parameter(hd, "head_dim"))
        }
        w.add(key: "general.file_type", value: .uint32(fileType))
        w.add(key: "\(arch).vocab_size", value: try uint32Parameter(vocabSize, "vocab_size"))
        w.add(key: "\(arch).rope.dimension_count", value: try uint32Parameter(config.raw["head_dim"]?.int ?? hidden / heads, "head_dim"))
    }

    func addVocabulary(_ w: inout GGUFWriter) throws {
        try addGPT2Vocabulary(&w, tokenizer, vocabSize: vocabSize, folder: folder, config: config)
    }
}

/// convert_hf_to_gguf's LlamaModel.permute: per head, rows [first half; second half] -> interleaved pairs.
/// `shape` is the HF shape (rows first); a 1-D bias is rows of one value.
func permuteRows(_ v: [Float], shape: [Int], heads: Int, name: String) throws -> [Float] {
    guard let rows = shape.first, heads > 0, rows % (2 * heads) == 0, v.count % max(rows, 1) == 0 else {
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
func ggufName(forHF name: String) -> String? { ggufName(forHF: name, in: TensorNames.llamaFamily) }
