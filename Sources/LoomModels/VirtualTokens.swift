import LoomCore
import LoomFormats
import LoomKernels

/// Learned virtual tokens that every sequence starts with (PEFT prompt tuning and prefix tuning).
/// A context running such an adapter fills positions 0..<count of a sequence with them before its
/// first real token; the sequence's cached tokens show them as ids -1, -2, … (never valid input).
public struct VirtualTokens: Sendable {
    public enum Kind: Sendable {
        /// Input embeddings [count × hidden] run through the network like tokens (PEFT PROMPT_TUNING).
        case inputEmbeddings
        /// Per layer keys and values [count × kvHeads·headDim] put straight into the KV cache, the
        /// keys as they are after RoPE (PEFT PREFIX_TUNING).
        case keyValuePrefix
    }

    public let kind: Kind
    public let count: Int
    /// Floats per virtual token (per layer, for keys and values).
    public let width: Int
    /// Prompt tuning: [count × width].
    public let embeddings: [Float]
    /// Prefix tuning: per layer, [count × width] (keys' head dimensions in `ropeStyle` order).
    public let keys: [[Float]]
    public let values: [[Float]]
    public let ropeStyle: RoPEStyle

    /// The id cached for virtual token k.
    public static func id(_ k: Int) -> Int32 { Int32(-1 - k) }
}

extension Adapter {
    /// A PEFT PROMPT_TUNING or PREFIX_TUNING folder (causal LM, no prefix projection).
    static func loadVirtualTokens(_ dir: String, _ config: JSONValue) throws -> Adapter {
        let prefix = config["peft_type"]?.string == "PREFIX_TUNING"
        if let task = config["task_type"]?.string, task != "CAUSAL_LM" {
            throw LoomError.unsupported("'\(dir)': \(task) adapters are not supported (CAUSAL_LM only)")
        }
        guard let count = config["num_virtual_tokens"]?.int, count > 0, count <= 1 << 14,
              let width = config["token_dim"]?.int, width > 0, width <= 1 << 16 else {
            throw LoomError.format("'\(dir)/adapter_config.json' lacks a valid num_virtual_tokens or token_dim")
        }
        guard (config["num_transformer_submodules"]?.int ?? 1) == 1 else {
            throw LoomError.unsupported("'\(dir)': virtual tokens for several transformer submodules (encoder-decoder) are not supported")
        }
        let st = try SafetensorsFile(path: dir + "/adapter_model.safetensors")
        guard let t = st.tensor(named: "prompt_embeddings") else {
            throw LoomError.format("'\(dir)/adapter_model.safetensors' has no 'prompt_embeddings'")
        }
        guard prefix else {
            guard t.shape == [count, width] else {
                throw LoomError.format("'\(dir)': prompt_embeddings has shape \(t.shape), expected [\(count), \(width)]")
            }
            let tokens = VirtualTokens(kind: .inputEmbeddings, count: count, width: width,
                                       embeddings: try st.floats("prompt_embeddings"), keys: [], values: [], ropeStyle: .halves)
            return Adapter(path: dir, kind: .promptTuning, virtualTokens: tokens)
        }
        if config["prefix_projection"]?.bool == true {
            throw LoomError.unsupported("'\(dir)': prefix tuning with prefix_projection (an MLP over the prefix) is not supported")
        }
        guard let layers = config["num_layers"]?.int, layers > 0, layers <= 1024, t.shape == [count, layers * 2 * width] else {
            throw LoomError.format("'\(dir)': prompt_embeddings has shape \(t.shape), expected [num_virtual_tokens, num_layers × 2 × token_dim]")
        }
        // Per virtual token: (layer, key/value) blocks of `width` floats — PEFT's
        // view(count, layers·2, heads, headDim).permute(2, 0, 3, 1, 4).split(2).
        let all = try st.floats("prompt_embeddings")
        var keys = [[Float]](repeating: [], count: layers), values = keys
        for l in 0..<layers {
            for p in 0..<count {
                let key: Int = (p * layers * 2 + 2 * l) * width
                let value: Int = key + width
                keys[l].append(contentsOf: all[key..<value])
                values[l].append(contentsOf: all[value..<(value + width)])
            }
        }
        let tokens = VirtualTokens(kind: .keyValuePrefix, count: count, width: width, embeddings: [],
                                   keys: keys, values: values, ropeStyle: .halves)
        return Adapter(path: dir, kind: .prefixTuning, virtualTokens: tokens)
    }
}

extension VirtualTokens {
    /// Checked against `network`'s shapes, with prefix keys in its RoPE order.
    func bound(to network: CausalLM, path: String) throws -> VirtualTokens {
        switch kind {
        case .inputEmbeddings:
            guard network is LlamaModel else {
                throw LoomError.unsupported("prompt tuning runs on llama-family models")
            }
            guard width == network.hiddenSize else {
                throw LoomError.invalidArgument("'\(path)': virtual tokens of width \(width); the model's hidden size is \(network.hiddenSize)")
            }
            return self
        case .keyValuePrefix:
            let kvWidth = network.kvHeads * network.headDim
            guard keys.count == network.layerCount, width == kvWidth else {
                throw LoomError.invalidArgument("'\(path)': prefix of \(keys.count) layers × \(width); the model has \(network.layerCount) layers × \(kvWidth) (kv heads × head dim)")
            }
            guard let llama = network as? LlamaModel, llama.config.ropeStyle != ropeStyle else { return self }
            let reordered = keys.map {
                AppliedLoRA.reorderRoPERows($0, heads: count * network.kvHeads, headDim: network.headDim, rank: 1,
                                            to: llama.config.ropeStyle)
            }
            return VirtualTokens(kind: kind, count: count, width: width, embeddings: [], keys: reordered,
                                 values: values, ropeStyle: llama.config.ropeStyle)
        }
    }
}
