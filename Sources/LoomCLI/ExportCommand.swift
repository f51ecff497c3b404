import ArgumentParser
import LoomCore
import LoomModels

/// `loom export`: merges LoRA / (IA)³ adapters into a GGUF model and writes the result (llama.cpp's
/// export-lora).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Merge adapters into a GGUF model and save it as a new GGUF.",
        discussion: """
        F32/F16/BF16 weights keep their type; a quantized weight an adapter touches is written as F32 \
        (not requantized: run `loom quantize` on the output for that). The output loads in Loom and llama.cpp.
        """)

    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("lora"), help: "An adapter to merge, PATH or PATH:SCALE (PEFT LoRA / IA3 folder or GGUF LoRA; repeatable).")
    var lora: [String] = []

    @Option(name: [.short, .customLong("output")], help: "The GGUF file to write.")
    var output: String

    func run() throws {
        let m = try model.load(vocabOnly: false)
        do {
            for spec in lora {
                let (adapter, scale) = try loadAdapter(spec: spec)
                try m.mergeLoRA(adapter, scale: scale)
                FileHandleErr.write("merged \(adapter.path) at scale \(scale)\n")
            }
            try m.save(path: output)
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
        FileHandleErr.write("wrote \(output)\n")
    }
}
