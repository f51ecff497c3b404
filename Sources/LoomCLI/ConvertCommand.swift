import ArgumentParser
import LoomCore
import LoomModels

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an HF folder (llama, GPT-2, BERT or T5) to GGUF (as llama.cpp's convert_hf_to_gguf.py).",
        discussion: """
            Reads config.json, tokenizer.json and the safetensors weights. By config.json model_type: \
            llama (LlamaForCausalLM, byte-level BPE), gpt2 (GPT2LMHeadModel, byte-level BPE), bert \
            (BertModel / BertForMaskedLM, WordPiece; the encoder only) and t5 (T5ForConditionalGeneration, \
            Unigram). The output loads in Loom and in llama.cpp.
            """)

    @Argument(help: "HF model folder (config.json, tokenizer.json, safetensors).") var folder: String
    @Argument(help: "Output GGUF file (written atomically).") var output: String

    @Option(help: "f32, f16, bf16 or q8_0.") var type: String = "f16"
    @Option(help: "general.name (convert_hf_to_gguf's --model-name); default: from the folder name.") var name: String?

    func run() throws {
        guard let t = ConvertType(name: type) else { throw ValidationError("unknown type '\(type)'; f32, f16, bf16 or q8_0") }
        do {
            try convertHF(folder: folder, output: output, type: t, name: name)
            print("wrote \(output) (\(t.rawValue))")
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}
