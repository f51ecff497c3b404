import ArgumentParser
import LoomGeneration
import LoomModels

/// Sampling and runtime options shared by `generate` and `chat`.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.short, .customLong("n-predict")], help: "Most new tokens (<= 0: until the context is full).")
    var n: Int = 256

    @Option(help: "Temperature; 0 = greedy.")
    var temp: Double = 0

    @Option(name: .customLong("top-k"), help: "Top-k (0 = off).")
    var topK: Int = 0

    @Option(name: .customLong("top-p"), help: "Top-p (1 = off).")
    var topP: Double = 1

    @Option(name: .customLong("min-p"), help: "Min-p (0 = off).")
    var minP: Double = 0

    @Option(name: .customLong("repeat-penalty"), help: "HF repetition penalty (1 = off).")
    var repeatPenalty: Double = 1

    @Option(name: .customLong("typical-p"), help: "Locally typical sampling mass (1 = off).")
    var typicalP: Double = 1

    @Option(name: .customLong("no-repeat-ngram-size"), help: "Ban repeating n-grams of this size (0 = off).")
    var noRepeatNGramSize: Int = 0

    @Option(name: .customLong("min-new-tokens"), help: "End tokens are banned until this many tokens are new.")
    var minNewTokens: Int = 0

    @Option(name: .customLong("num-beams"), help: "Beam search with this many beams (greedy; 1 = off).")
    var numBeams: Int = 1

    @Option(name: .customLong("length-penalty"), help: "Beam scores are divided by length^this.")
    var lengthPenalty: Double = 1

    @Option(name: .customLong("lora"), help: "An adapter, PATH or PATH:SCALE (PEFT LoRA / IA3 / prompt or prefix tuning folder, or GGUF LoRA; repeatable).")
    var lora: [String] = []

    /// The --lora adapters, loaded.
    func adapters() throws -> [(adapter: Adapter, scale: Float)] {
        try lora.map(loadAdapter(spec:))
    }

    @Option(help: "Seed of the draw (default: random).")
    var seed: UInt64?

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: the machine's cores, at most 8).")
    var threads: Int = ContextParams.defaultThreads

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context size (0 = the model's, capped at 4096).")
    var contextSize: Int = 0

    @Option(name: .customLong("stop"), help: "Stop string (repeatable).")
    var stop: [String] = []

    var generation: GenerationParams {
        var s = SamplingParams(temperature: temp, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
                               noRepeatNGramSize: noRepeatNGramSize, seed: seed)
        s.typicalP = typicalP
        s.minNewTokens = minNewTokens
        return GenerationParams(maxTokens: n, sampling: s, stop: stop, numBeams: numBeams, lengthPenalty: lengthPenalty)
    }

    var context: ContextParams { ContextParams(contextLength: contextSize, threads: threads) }
}

/// An adapter given as PATH or PATH:SCALE (scale 1 by default).
func loadAdapter(spec: String) throws -> (adapter: Adapter, scale: Float) {
    if let colon = spec.lastIndex(of: ":"), let scale = Float(spec[spec.index(after: colon)...]) {
        return (try Adapter.load(path: String(spec[..<colon])), scale)
    }
    return (try Adapter.load(path: spec), 1)
}
