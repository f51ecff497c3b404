import ArgumentParser
import LoomCore
import LoomModels

@main
struct Loom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Loom: an embeddable LLM runtime.",
        version: "0.2.0",   // LOOM_VERSION_* of include/loom.h
        subcommands: [GenerateCommand.self, ChatCommand.self, TokenizeCommand.self, InfoCommand.self, BenchCommand.self, TrainTokenizerCommand.self, QuantizeCommand.self, ConvertCommand.self,
                      PerplexityCommand.self, EvalMCCommand.self, MetricsCommand.self, ExportCommand.self,
                      ClassifyCommand.self, RewardCommand.self, IndexCommand.self, AskCommand.self]
    )
}

/// Where the default model lives: $LOOM_MODEL, else $LOOM_CACHE (or ~/.cache/loom)/models/…
func defaultModelPath() -> String {
    let env = ProcessEnvironment()
    if let m = env["LOOM_MODEL"], !m.isEmpty { return m }
    let cache = env["LOOM_CACHE"] ?? ((env["HOME"] ?? ".") + "/.cache/loom")
    return cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
}

/// Options shared by the commands that take a model.
struct ModelOptions: ParsableArguments {
    @Option(name: [.short, .customLong("model")], help: "GGUF file or HF folder (default: SmolLM2-135M-Instruct Q4_1 in the cache).")
    var model: String?

    var path: String { model ?? defaultModelPath() }

    func load(vocabOnly: Bool) throws -> Model {
        do {
            return try Model.load(path: path, params: ModelParams(vocabOnly: vocabOnly))
        } catch let e as LoomError {
            throw ValidationError("cannot load model: \(e.message)" + (model == nil ? " (run scripts/fetch-model.sh for the default model)" : ""))
        }
    }
}
