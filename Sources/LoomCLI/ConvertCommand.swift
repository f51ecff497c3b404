import ArgumentParser
import LoomCore
import LoomModels

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an HF llama folder to GGUF (as llama.cpp's convert_hf_to_gguf.py).")

    @Argument(help: "HF model folder (config.json, tokenizer.json, safetensors).") var folder: String
    @Argument(help: "Output GGUF file (written atomically).") var output: String

    @Option(help: "f32, f16, bf16 or q8_0.") var type: String = "f16"

    func run() throws {
        guard let t = ConvertType(name: type) else { throw ValidationError("unknown type '\(type)'; f32, f16, bf16 or q8_0") }
        do {
            try convertHF(folder: folder, output: output, type: t)
            print("wrote \(output) (\(t.rawValue))")
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}
