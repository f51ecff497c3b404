import LoomCore
import LoomFormats

/// convert_hf_to_gguf's T5Model for T5ForConditionalGeneration folders: `t5.*` keys, the names of
/// T5TensorNames (the loader's map, read backwards), the first of shared / encoder.embed_tokens /
/// decoder.embed_tokens as token_embd (the others dropped), lm_head as output. The vocabulary is the
/// Unigram model of tokenizer.json (llama.cpp reads spiece.model; see addT5Vocabulary).
///
/// llama.cpp's t5 graph (and Loom's GGUF reading) fixes what HF leaves configurable: the feed-forward
/// is gated-gelu (ffn_gate present) or relu, relative positions reach 128, and the decoder output is
/// not scaled. Other activations and distances are refused; a model that scales its decoder output by
/// d_model^-0.5 (tied embeddings in older configs, or scale_decoder_outputs) gets the scale folded into
/// an `output.weight` of its own, so that the file gives HF's logits in Loom and in llama.cpp (which
/// convert_hf_to_gguf's file, without it, does not).
struct T5Converter: HFArchitectureConverter {
    let name = "t5"
    let folder: String
    let config: HFConfig
    let model: T5Config
    let tokenizer: HFTokenizerFile
    let vocabSize: Int

    /// Per-layer GGUF names (after "enc.blk.N." / "dec.blk.N."), without ".weight".
    static let layerParts = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_o", "attn_rel_b", "cross_attn_norm",
                             "cross_attn_q", "cross_attn_k", "cross_attn_v", "cross_attn_o", "ffn_norm", "ffn_gate",
                             "ffn_up", "ffn_down"]

    init(folder: String, config: HFConfig) throws {
        let c = try T5Config.fromHF(config)
        try c.validate()
        guard (c.gatedFeedForward && c.activation == .geluTanh) || (!c.gatedFeedForward && c.activation == .relu) else {
            throw LoomError.unsupported("convert: T5 feed_forward_proj '\(config.raw["feed_forward_proj"]?.string ?? "?")' has no GGUF form (gated-gelu or relu)")
        }
        guard c.relativeMaxDistance == 128 else {
            throw LoomError.unsupported("convert: T5 relative_attention_max_distance \(c.relativeMaxDistance) has no GGUF form (llama.cpp uses 128)")
        }
        self.folder = folder
        self.config = config
        model = c
        tokenizer = try HFTokenizerFile(folder: folder, architecture: "T5", kind: .unigram, described: "Unigram")
        vocabSize = config.vocabSize ?? tokenizer.tokens.count
    }

    /// "encoder.block.3.layer.0.SelfAttention.q.weight" -> "enc.blk.3.attn_q.weight".
    static func ggufName(forHF hf: String, gated: Bool) -> String? {
        for fixed in ["token_embd.weight", "output.weight", "enc.output_norm.weight", "dec.output_norm.weight"]
        where T5TensorNames.hfName(fixed, gated: gated) == hf {
            return fixed
        }
        let parts = hf.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[1] == "block", let layer = Int(parts[2]), layer >= 0, String(layer) == parts[2] else {
            return nil
        }
        let stack: String
        switch parts[0] {
        case "encoder": stack = "enc"
        case "decoder": stack = "dec"
        default: return nil
        }
        for part in layerParts {
            let gguf = "\(stack).blk.\(layer).\(part).weight"
            if T5TensorNames.hfName(gguf, gated: gated) == hf { return gguf }
        }
        return nil
    }

    func tensors(_ checkpoint: [CheckpointTensor]) throws -> [ConvertTensor] {
        var out: [ConvertTensor] = []
        var embedding: CheckpointTensor?
        var hasOutput = false
        for t in checkpoint {
            if ["shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"].contains(t.name) {
                if embedding == nil {
                    embedding = t
                    out.append(ConvertTensor(t, as: "token_embd.weight"))
                }
                continue
            }
            guard let gguf = Self.ggufName(forHF: t.name, gated: model.gatedFeedForward) else {
                throw LoomError.unsupported("convert: T5 tensor '\(t.name)' has no GGUF name")
            }
            var tensor = ConvertTensor(t, as: gguf)
            if gguf == "output.weight" {
                hasOutput = true
                if model.scaleDecoderOutput { tensor.transform = scaled }
            }
            out.append(tensor)
        }
        if model.scaleDecoderOutput, !hasOutput, let e = embedding,
           let at = out.firstIndex(where: { $0.gguf == "token_embd.weight" }) {
            out.insert(ConvertTensor(gguf: "output.weight", shape: e.shape, from: e, transform: scaled), at: at + 1)
        }
        return out
    }

    /// HF's decoder output scaling, d_model^-0.5, applied to the output projection instead.
    private var scaled: ([Float]) throws -> [Float] {
        let scale = 1 / Float(model.modelDim).squareRoot()
        return { $0.map { $0 * scale } }
    }

    func addParameters(_ w: inout GGUFWriter, fileType: UInt32) throws {
        let c = model
        // T5Config has no n_positions (some hub configs do); convert_hf_to_gguf assumes 512.
        w.add(key: "t5.context_length", value: try uint32Parameter(config.raw["n_positions"]?.int ?? 512, "n_positions"))
        w.add(key: "t5.embedding_length", value: try uint32Parameter(c.modelDim, "d_model"))
        w.add(key: "t5.feed_forward_length", value: try uint32Parameter(c.feedForwardDim, "d_ff"))
        w.add(key: "t5.block_count", value: try uint32Parameter(c.encoderLayerCount, "num_layers"))
        w.add(key: "t5.decoder_block_count", value: try uint32Parameter(c.decoderLayerCount, "num_decoder_layers"))
        w.add(key: "t5.attention.head_count", value: try uint32Parameter(c.headCount, "num_heads"))
        w.add(key: "t5.attention.key_length", value: try uint32Parameter(c.headDim, "d_kv"))
        w.add(key: "t5.attention.value_length", value: try uint32Parameter(c.headDim, "d_kv"))
        w.add(key: "t5.attention.layer_norm_epsilon", value: .float32(c.layerNormEps))
        w.add(key: "t5.attention.relative_buckets_count", value: try uint32Parameter(c.relativeBucketCount, "relative_attention_num_buckets"))
        w.add(key: "t5.attention.layer_norm_rms_epsilon", value: .float32(c.layerNormEps))
        w.add(key: "t5.decoder_start_token_id", value: try uint32Parameter(c.decoderStartTokenID, "decoder_start_token_id"))
        w.add(key: "general.file_type", value: .uint32(fileType))
    }

    func addVocabulary(_ w: inout GGUFWriter) throws {
        try addT5Vocabulary(&w, tokenizer, vocabSize: vocabSize, folder: folder, config: config)
    }
}
