import ArgumentParser
import LoomCore
import LoomGeneration
import LoomModels

#if canImport(Glibc)
import Glibc
#endif

/// Writes streamed text to stdout at once.
func writeOut(_ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
    fflush(stdout)
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Continue a prompt.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.short, .customLong("prompt")], help: "The prompt (special tokens such as <|im_start|> are parsed).")
    var prompt: String

    func run() throws {
        let model = try modelOptions.load(vocabOnly: false)
        let tok = try model.tokenizer()
        let ids = try tok.tokenize(prompt, addSpecial: true, parseSpecial: true)
        let params = sampling.generation
        let stream: ((Int32, [UInt8]) -> Bool)? = params.numBeams > 1 ? nil : { _, piece in
            writeOut(piece)
            return true
        }
        let r: GenerationResult
        if model.seq2seq != nil {
            // Encoder-decoder (T5): the prompt is the encoder's input; print only the decoder's text.
            guard let first = try Generator.generate(seq2seq: model, input: ids, params: params, threads: sampling.threads,
                                                     onText: stream).first else { return }
            r = first
        } else {
            writeOut(Array(prompt.utf8))
            let ctx = try Context(model: model, params: sampling.context)
            try ctx.setAdapters(try sampling.adapters())
            r = try Generator.generate(context: ctx, prompt: ids, params: params, onText: stream)
        }
        if params.numBeams > 1 { writeOut(Array(r.text.utf8)) }
        writeOut(Array("\n".utf8))
        FileHandleErr.write("[\(r.ids.count) tokens, finish: \(r.finishReason.name)]\n")
    }
}

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Chat with a model: answer QUESTION, or talk interactively when none is given.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customLong("system"), help: "A system message.")
    var system: String?

    @Argument(help: "A question (omit for an interactive session).")
    var question: String?

    func run() throws {
        let model = try modelOptions.load(vocabOnly: false)
        let tok = try model.tokenizer()
        let ctx = try Context(model: model, params: sampling.context)
        try ctx.setAdapters(try sampling.adapters())
        var messages: [ChatMessage] = system.map { [ChatMessage(role: "system", content: $0)] } ?? []

        func answer(_ text: String) throws {
            messages.append(ChatMessage(role: "user", content: text))
            let prompt = try ChatTemplate.apply(model: model, messages: messages, addGenerationPrompt: true)
            let ids = try tok.tokenize(prompt, addSpecial: false, parseSpecial: true)
            let r = try Generator.generate(context: ctx, prompt: ids, params: sampling.generation) { _, piece in
                writeOut(piece)
                return true
            }
            writeOut(Array("\n".utf8))
            messages.append(ChatMessage(role: "assistant", content: r.text))
        }

        if let question {
            try answer(question)
            return
        }
        FileHandleErr.write("Chatting with \(model.path). Empty line or Ctrl-D to quit.\n")
        while true {
            writeOut(Array("> ".utf8))
            guard let line = readLine(), !line.isEmpty else { break }
            try answer(line)
        }
    }
}

enum FileHandleErr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
    }
}
