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

    /// Sequence-classification heads (reward models among them), by the HF config.json `architectures`
    /// entry: loaded on top of the network of the folder's `model_type` (Model.classifier).
    public static let sequenceClassification: [String: (WeightSource, Int) throws -> SequenceClassificationHead] = [
        "LlamaForSequenceClassification": SequenceClassificationHead.loadLastToken,
        "MistralForSequenceClassification": SequenceClassificationHead.loadLastToken,
        "BertForSequenceClassification": SequenceClassificationHead.loadPooled,
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
        var classifier: SequenceClassificationHead? = nil
    }

    /// The classification head an HF folder's `architectures` names, on a network of hidden size `d`.
    static func loadClassifier(weights: WeightSource, hiddenSize d: Int) throws -> SequenceClassificationHead? {
        guard case .hf(let folder) = weights.source, let names = folder.config?.architectures else { return nil }
        guard let load = names.lazy.compactMap({ sequenceClassification[$0] }).first else { return nil }
        return try load(weights, d)
    }

    /// The decoder, the encoder or the encoder-decoder of a model, whichever registry knows its architecture.
    static func load(architecture: String?, weights: WeightSource) throws -> Networks {
        if let arch = architecture, let load = encoder[arch] {
            let e = try load(weights)
            return Networks(encoder: e, classifier: try loadClassifier(weights: weights, hiddenSize: e.hiddenSize))
        }
        if let arch = architecture, let load = seq2seq[arch] { return Networks(seq2seq: try load(weights)) }
        let n = try loadCausalLM(architecture: architecture, weights: weights)
        return Networks(network: n, classifier: try loadClassifier(weights: weights, hiddenSize: n.hiddenSize))
    }
}
