import ArgumentParser
import LoomCore
import LoomEvaluation
import LoomModels

#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on stderr, redrawn in place ("\r"), finished with a newline.
struct ProgressBar {
    let label: String
    var last = -1

    init(_ label: String) { self.label = label }

    mutating func update(_ fraction: Double, detail: String = "") {
        let f = max(0, min(1, fraction.isFinite ? fraction : 0))
        let width = 30
        let filled = Int(f * Double(width))
        let percent = Int(f * 100)
        guard percent != last || f >= 1 else { return }
        last = percent
        FileHandleErr.write("\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                            + "] \(String(percent).leftPadded(3))%" + (detail.isEmpty ? "" : " " + detail))
    }

    func finish() { FileHandleErr.write("\n") }
}

/// Reads a whole text file as UTF-8 (invalid bytes replaced).
func readTextFile(_ path: String) throws -> String {
    do {
        return String(decoding: try readWholeFile(path), as: UTF8.self)
    } catch let e as LoomError {
        throw ValidationError("cannot read '\(path)': \(e.message)")
    }
}

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file: exp(mean negative log-likelihood of every predicted token).",
        discussion: """
        The text is tokenized with the model's BOS rule. Inputs longer than --ctx tokens are scored with \
        Hugging Face's sliding-window recipe: windows of --ctx tokens start every --stride tokens, and each \
        window scores only the tokens no earlier window scored (--stride = --ctx: disjoint windows). \
        llama.cpp's llama-perplexity instead scores the second half of each disjoint chunk of n_ctx tokens.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.short, .customLong("file")], help: "The text file (with --ids: token ids separated by spaces, commas or newlines).")
    var file: String

    @Option(help: "Tokens per window (default: the whole text if it fits the model's trained context, capped at 4096).")
    var ctx: Int = 0

    @Option(help: "Tokens between window starts, 1 ... ctx (default: ctx).")
    var stride: Int = 0

    @Option(name: [.short, .customLong("threads")], help: "Threads.")
    var threads: Int = ContextParams.defaultThreads

    @Option(name: [.short, .customLong("batch-size")], help: "Most tokens per forward pass.")
    var batchSize: Int = 512

    @Flag(help: "The file holds token ids, not text.")
    var ids = false

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func run() throws {
        guard ctx >= 0, stride >= 0, threads >= 1, batchSize >= 1 else {
            throw ValidationError("need --ctx >= 0, --stride >= 0, -t >= 1, -b >= 1")
        }
        let model = try modelOptions.load(vocabOnly: false)
        let text = try readTextFile(file)
        let tokens: [Int32]
        if ids {
            var list: [Int32] = []
            for part in text.split(whereSeparator: { " ,\n\r\t[]".contains($0) }) {
                guard let v = Int32(part) else { throw ValidationError("'\(part)' in \(file) is not a token id") }
                list.append(v)
            }
            tokens = list
        } else {
            tokens = try model.tokenizer().tokenize(text, addSpecial: true, parseSpecial: false)
        }
        var bar = ProgressBar("perplexity")
        let start = monotonicSeconds()
        let r: PerplexityResult
        do {
            r = try Perplexity.compute(model: model, ids: tokens,
                                       params: PerplexityParams(windowLength: ctx, stride: stride, batchSize: batchSize, threads: threads)) { f in
                let elapsed = monotonicSeconds() - start
                bar.update(f, detail: f > 0 ? "\(formatFixed(elapsed, 1)) s, ~\(formatFixed(elapsed / f - elapsed, 0)) s left" : "")
                return true
            }
        } catch let e as LoomError {
            bar.finish()
            throw ValidationError(e.message)
        }
        bar.finish()
        let seconds = monotonicSeconds() - start
        if json {
            print("{\"perplexity\": \(r.perplexity), \"nll_sum\": \(r.nllSum), \"n_scored\": \(r.tokenCount), \"n_tokens\": \(tokens.count), \"windows\": \(r.windowCount), \"ctx\": \(r.windowLength), \"stride\": \(r.stride), \"seconds\": \(seconds)}")
        } else {
            print("perplexity: \(formatFixed(r.perplexity, 4))  (mean NLL \(formatFixed(r.meanNLL, 5)) over \(r.tokenCount) scored of \(tokens.count) tokens; \(r.windowCount) window\(r.windowCount == 1 ? "" : "s") of \(r.windowLength), stride \(r.stride); \(formatFixed(seconds, 1)) s)")
        }
    }
}
