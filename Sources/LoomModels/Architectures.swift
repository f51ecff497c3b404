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

    /// The network for a model's weights, or an `unsupported` error naming the architecture.
    static func loadCausalLM(architecture: String?, weights: WeightSource) throws -> CausalLM {
        let arch = architecture ?? "?"
        guard let load = causalLM[arch] else {
            let supported = (Array(causalLM.keys) + Array(encoder.keys)).sorted().joined(separator: ", ")
            throw LoomError.unsupported("'\(weights.path)': architecture '\(arch)' is not supported (supported: \(supported); load with vocab_only to read its vocabulary and metadata)")
        }
        return try load(weights)
    }

    /// The decoder or the encoder of a model, whichever registry knows its architecture.
    static func load(architecture: String?, weights: WeightSource) throws -> (network: CausalLM?, encoder: EncoderModel?) {
        if let arch = architecture, let load = encoder[arch] { return (nil, try load(weights)) }
        return (try loadCausalLM(architecture: architecture, weights: weights), nil)
    }
}
