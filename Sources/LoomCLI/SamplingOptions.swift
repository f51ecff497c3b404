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

    @Option(help: "Seed of the draw (default: random).")
    var seed: UInt64?

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: the machine's cores, at most 8).")
    var threads: Int = ContextParams.defaultThreads

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context size (0 = the model's, capped at 4096).")
    var contextSize: Int = 0

    @Option(name: .customLong("stop"), help: "Stop string (repeatable).")
    var stop: [String] = []

    var generation: GenerationParams {
        GenerationParams(maxTokens: n, sampling: SamplingParams(
            temperature: temp, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty, seed: seed),
            stop: stop)
    }

    var context: ContextParams { ContextParams(contextLength: contextSize, threads: threads) }
}
