import LoomCore

/// The registry of decoder architectures: GGUF `general.architecture` or HF `model_type` -> loader.
/// Adding an architecture is one file plus one line here.
public enum Architectures {
    public static let causalLM: [String: (WeightSource) throws -> CausalLM] = [
        "llama": LlamaModel.load,
        "mistral": LlamaModel.load,
    ]

    /// The network for a model's weights, or an `unsupported` error naming the architecture.
    static func loadCausalLM(architecture: String?, weights: WeightSource) throws -> CausalLM {
        let arch = architecture ?? "?"
        guard let load = causalLM[arch] else {
            throw LoomError.unsupported("'\(weights.path)': architecture '\(arch)' is not supported (supported: \(causalLM.keys.sorted().joined(separator: ", ")); load with vocab_only to read its vocabulary and metadata)")
        }
        return try load(weights)
    }
}
