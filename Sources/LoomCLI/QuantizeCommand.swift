import ArgumentParser
import LoomCore
import LoomFormats

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF model (llama-quantize's rules for the plain types).",
        discussion: """
        TYPE: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K. Norms and 1-D tensors stay \
        F32; output.weight gets Q6_K (Q8_0 when its rows are not a multiple of 256); rows that do not fit \
        a block fall back (Q4_K -> Q5_0, Q6_K -> Q8_0, then F16).
        """)

    @Argument(help: "Input GGUF file.") var input: String
    @Argument(help: "Output GGUF file (written atomically).") var output: String
    @Argument(help: "Target type.") var type: String

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: cores, at most 8).")
    var threads: Int = 0

    @Flag(name: .customLong("allow-requantize"), help: "Re-quantize tensors that are already quantized.")
    var allowRequantize = false

    @Flag(name: .customLong("leave-output-tensor"), help: "Keep output.weight as it is.")
    var leaveOutput = false

    func run() throws {
        guard let t = QuantizeFileType(name: type) else {
            throw ValidationError("unknown type '\(type)'; one of \(QuantizeFileType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = QuantizeOptions(type: t)
        options.threads = threads
        options.allowRequantize = allowRequantize
        options.quantizeOutput = !leaveOutput
        do {
            let done = try quantizeModel(input: input, output: output, options: options)
            for q in done {
                let change = q.from == q.to ? q.to.name : "\(q.from.name) -> \(q.to.name)"
                let name = q.name.count < 36 ? q.name + String(repeating: " ", count: 36 - q.name.count) : q.name
                print("\(name) \(q.dims) \(change)")
            }
            print("wrote \(output) (\(t.rawValue), \(done.count) tensors)")
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}
