import LoomCore
import LoomFormats

/// convert_hf_to_gguf's GPT2Model for GPT2LMHeadModel folders with a byte-level BPE tokenizer.json:
/// `gpt2.*` keys, TensorNames.gpt2 names (checkpoints with or without the `transformer.` prefix), the
/// Conv1D weights (c_attn, c_proj, c_fc: stored [in, out]) transposed to [out, in].
///
/// llama.cpp's gpt2 graph (and Loom's GGUF reading) fixes what HF leaves configurable, so folders whose
/// config.json asks for something else are refused rather than converted into a different model: the
/// activation must be a tanh GELU (gelu_new, gelu_pytorch_tanh, gelu_fast), scores scaled by 1/√head_dim
/// only (scale_attn_weights, no scale_attn_by_inverse_layer_idx).
struct GPT2Converter: HFArchitectureConverter {
    let name = "gpt2"
    let folder: String
    let config: HFConfig
    let model: GPT2Config
    let contextLength: Int
    let tokenizer: HFTokenizerFile
    let vocabSize: Int

    init(folder: String, config: HFConfig) throws {
        let c = try GPT2Config.fromHF(config)
        try c.validate()
        guard c.activation == .geluTanh else {
            throw LoomError.unsupported("convert: GPT-2 activation_function '\(config.raw["activation_function"]?.string ?? "?")' has no GGUF form (llama.cpp's gpt2 uses the tanh GELU)")
        }
        guard c.scalesAttentionByHeadDim, !c.scalesAttentionByInverseLayer else {
            throw LoomError.unsupported("convert: GPT-2 scale_attn_weights=false or scale_attn_by_inverse_layer_idx=true has no GGUF form")
        }
        self.folder = folder
        self.config = config
        model = c
        // transformers' GPT2Config: n_ctx, else n_positions (1024 by default).
        contextLength = config.raw["n_ctx"]?.int ?? config.raw["n_positions"]?.int ?? 1024
        tokenizer = try HFTokenizerFile(folder: folder, architecture: "GPT-2", kind: .bpe, described: "byte-level BPE")
        vocabSize = config.vocabSize ?? tokenizer.tokens.count
    }

    /// "transformer.h.3.attn.c_attn.weight" (or "h.3.attn.c_attn.weight") -> "blk.3.attn_qkv.weight".
    static func ggufName(forHF hf: String) -> String? {
        if hf == "lm_head.weight" { return "output.weight" }
        let bare = hf.hasPrefix("transformer.") ? String(hf.dropFirst("transformer.".count)) : hf
        let table = TensorNames.gpt2.map { entry in
            (gguf: entry.gguf, hf: entry.hf.hasPrefix("transformer.") ? String(entry.hf.dropFirst("transformer.".count)) : entry.hf)
        }
        return LoomModels.ggufName(forHF: bare, in: table)
    }

    func tensors(_ checkpoint: [CheckpointTensor]) throws -> [ConvertTensor] {
        var out: [ConvertTensor] = []
        for t in checkpoint {
            // Causal-mask buffers of older checkpoints.
            if t.name.hasSuffix(".attn.bias") || t.name.hasSuffix(".attn.masked_bias") { continue }
            guard let gguf = Self.ggufName(forHF: t.name) else {
                throw LoomError.unsupported("convert: GPT-2 tensor '\(t.name)' has no GGUF name")
            }
            guard [".c_attn.weight", ".c_proj.weight", ".c_fc.weight"].contains(where: { t.name.hasSuffix($0) }) else {
                out.append(ConvertTensor(t, as: gguf))
                continue
            }
            guard t.shape.count == 2 else { throw LoomError.format("convert: '\(t.name)' is not a matrix") }
            let rows = t.shape[0], cols = t.shape[1]
            out.append(ConvertTensor(gguf: gguf, shape: [cols, rows], from: t) { v in
                try transposed(v, rows: rows, cols: cols, name: t.name)
            })
        }
        return out
    }

    func addParameters(_ w: inout GGUFWriter, fileType: UInt32) throws {
        w.add(key: "gpt2.block_count", value: try uint32Parameter(model.layerCount, "n_layer"))
        w.add(key: "gpt2.context_length", value: try uint32Parameter(contextLength, "n_ctx"))
        w.add(key: "gpt2.embedding_length", value: try uint32Parameter(model.hiddenSize, "n_embd"))
        // llama.cpp writes 4·n_embd; n_inner when a config sets another width (its tensors have that shape).
        w.add(key: "gpt2.feed_forward_length", value: try uint32Parameter(model.feedForwardSize, "n_inner"))
        w.add(key: "gpt2.attention.head_count", value: try uint32Parameter(model.headCount, "n_head"))
        w.add(key: "gpt2.attention.layer_norm_epsilon", value: .float32(model.layerNormEps))
        w.add(key: "general.file_type", value: .uint32(fileType))
    }

    func addVocabulary(_ w: inout GGUFWriter) throws {
        try addGPT2Vocabulary(&w, tokenizer, vocabSize: vocabSize, folder: folder, config: config)
    }
}

/// A rows × cols row-major matrix as cols × rows.
func transposed(_ v: [Float], rows: Int, cols: Int, name: String) throws -> [Float] {
    guard v.count == rows * cols else { throw LoomError.format("convert: '\(name)' has the wrong size") }
    var out = [Float](repeating: 0, count: v.count)
    for r in 0..<rows {
        for c in 0..<cols { out[c * rows + r] = v[r * cols + c] }
    }
    return out
}
