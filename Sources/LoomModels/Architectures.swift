import LoomCore

/// The registry of decoder architectures: GGUF `general.architecture` or HF `model_type` -> loader.
/// Adding an architecture is one file plus one line here.
public enum Architectures {
    public static let causalLM: [String: (WeightSource) throws -> CausalLM] = [
        "llama": LlamaModel.load,
        "mistral": LlamaModel.load,
        "gpt2": GPT2Model.load,
    ]

    /// Encoder-only architectures (Model.encoder; no Context, no KV cache).
    public static let encoder: [String: (WeightSource) throws -> EncoderModel] = [
        "bert": BertModel.load,
    ]

    /// Encoder-decoder architectures (Model.seq2seq; they run whole generations, not through a Context).
    public static let seq2seq: [String: (WeightSource) throws -> T5Model] = [
        "t5": T5Model.load,
    ]

    /// The network for a model's weights, or an `unsupported` error naming the architecture.
    static func loadCausalLM(architecture: String?, weights: WeightSource) throws -> CausalLM {
        let arch = architecture ?? "?"
        guard let load = causalLM[arch] else {
            let supported = (Array(causalLM.keys) + Array(encoder.keys) + Array(seq2seq.keys)).sorted().joined(separator: ", ")
            throw LoomError.unsupported("'\(weights.path)': architecture '\(arch)' is not supported (supported: \(supported); load with vocab_only to read its vocabulary and metadata)")
        }
        return try load(weights)
    }

    /// The networks of a loaded model: exactly one is set (none for vocab_only loads).
    struct Networks {
        var network: CausalLM? = nil
        var encoder: EncoderModel? = nil
        var seq2seq: T5Model? = nil
    }

    /// The decoder, the encoder or the encoder-decoder of a model, whichever registry knows its architecture.
    static func load(architecture: String?, weights: WeightSource) throws -> Networks {
        if let arch = architecture, let load = encoder[arch] { return Networks(encoder: try load(weights)) }
        if let arch = architecture, let load = seq2seq[arch] { return Networks(seq2seq: try load(weights)) }
        return Networks(network: try loadCausalLM(architecture: architecture, weights: weights))
    }
}
