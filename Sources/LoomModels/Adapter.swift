import LoomCore
import LoomFormats
import LoomKernels

/// A fine-tuning adapter, as PEFT or llama.cpp saves it. Immutable once loaded: one adapter may serve
/// any number of contexts and threads (`Context.setAdapters`), or be merged into a model's weights
/// (`Model.mergeLoRA`, LoRA and (IA)³ only).
///
/// - LoRA: per targeted weight W [out × in], the pair A [r × in], B [out × r] with
///   ΔW = scaling · B·A, scaling = lora_alpha / r (/ √r with rsLoRA). (LoRA.swift)
/// - (IA)³: learned vectors scaling k / v outputs and the down projection's input. (LoRA.swift)
/// - Prompt tuning: learned input embeddings of virtual tokens put before every sequence.
/// - Prefix tuning: learned per-layer keys and values of virtual tokens put before every sequence.
///   (VirtualTokens.swift)
public final class Adapter: @unchecked Sendable {
    public enum Kind: Int32, Sendable {
        case lora = 0, ia3 = 1, promptTuning = 2, prefixTuning = 3
    }

    public struct Pair: Sendable {
        public let rank: Int
        public let inputs: Int
        public let outputs: Int
        public let a: [Float]        // [rank × inputs]
        public let b: [Float]        // [outputs × rank]
    }

    public let path: String
    public let kind: Kind
    /// LoRA: per layer and target (nil: not adapted).
    public let pairs: [[Pair?]]
    public let scaling: Float
    /// Rows of q/k deltas (and prefix keys) in HF's rotate-half order (PEFT) or llama.cpp's
    /// interleaved order (GGUF).
    public let ropeStyle: RoPEStyle
    /// (IA)³: per layer and target, the learned vector. Empty for other kinds.
    public let ia3: [[[Float]?]]
    /// Prompt and prefix tuning: the virtual tokens. Nil for other kinds.
    public let virtualTokens: VirtualTokens?

    init(path: String, kind: Kind, pairs: [[Pair?]] = [], scaling: Float = 1, ropeStyle: RoPEStyle = .halves,
         ia3: [[[Float]?]] = [], virtualTokens: VirtualTokens? = nil) {
        self.path = path
        self.kind = kind
        self.pairs = pairs
        self.scaling = scaling
        self.ropeStyle = ropeStyle
        self.ia3 = ia3
        self.virtualTokens = virtualTokens
    }

    /// Loads a PEFT adapter folder (adapter_config.json + adapter_model.safetensors: LORA, IA3,
    /// PROMPT_TUNING or PREFIX_TUNING) or a llama.cpp GGUF LoRA adapter; the kind comes from the file.
    public static func load(path: String) throws -> Adapter {
        guard isDirectory(path) else { return try loadGGUF(path) }
        let config = try JSONParser.parse(try readWholeFile(path + "/adapter_config.json", limit: 1 << 20))
        switch config["peft_type"]?.string ?? "LORA" {
        case "LORA": return try loadPEFT(path, config)
        case "IA3": return try loadIA3(path, config)
        case "PROMPT_TUNING", "PREFIX_TUNING": return try loadVirtualTokens(path, config)
        case let other:
            throw LoomError.unsupported("'\(path)' is a \(other) adapter; Loom runs LORA, IA3, PROMPT_TUNING and PREFIX_TUNING")
        }
    }
}
