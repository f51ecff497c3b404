import ArgumentParser
import LoomCore
import LoomTokenizers
#if canImport(Glibc)
import Glibc
#endif

struct TrainTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-tokenizer",
        abstract: "Train a BPE tokenizer on text files (HF tokenizers' BpeTrainer, same merges) and write tokenizer.json.",
        discussion: "Files are read line by line, as HF's Tokenizer.train(files) reads them. Byte-level by default "
            + "(GPT-2 pre-tokenizer, all 256 byte symbols); --no-byte-level splits on white space and punctuation.")

    @Option(help: "Vocabulary size, special tokens and initial alphabet included.")
    var vocabSize: Int

    @Option(name: .customLong("special-token"), help: "A special token (repeatable); they get ids 0, 1, ... in order.")
    var specialTokens: [String] = []

    @Option(help: "Stop when the most frequent pair occurs fewer times than this.")
    var minFrequency: Int = 0

    @Option(help: "The unknown token (for --no-byte-level); added after the special tokens if missing.")
    var unkToken: String?

    @Option(help: "Keep at most this many initial characters (the most frequent).")
    var limitAlphabet: Int?

    @Flag(name: .customLong("no-byte-level"), help: "HF Whitespace pre-tokenizer and an alphabet from the data.")
    var noByteLevel = false

    @Option(name: [.short, .customLong("threads")], help: "Threads counting words (default: one per core, at most 8).")
    var threads: Int = 0

    @Option(name: [.short, .customLong("output")], help: "Where to write tokenizer.json.")
    var output: String

    @Argument(help: "Training text files.")
    var files: [String]

    func run() throws {
        let options = BPETrainingOptions(vocabSize: vocabSize, specialTokens: specialTokens, minFrequency: minFrequency,
                                         byteLevel: !noByteLevel, unkToken: unkToken, limitAlphabet: limitAlphabet,
                                         threadCount: threads)
        let start = monotonicSeconds()
        do {
            var trainer = BPETrainer(options: options)
            for f in files { try trainer.addFile(f) }
            let trained = try trainer.train()
            let elapsed = monotonicSeconds() - start
            try trained.write(to: output)
            print("trained on \(trainer.byteCount) bytes (\(trained.sequences) lines, \(trained.distinctWords) distinct words) "
                + "in \(format3(elapsed)) s")
            print("vocabulary: \(trained.tokens.count) tokens (\(trained.specialTokens.count) special, "
                + "\(trained.mergeIDs.count) merges) -> \(output)")
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}

/// Seconds with three decimals.
private func format3(_ x: Double) -> String {
    let ms = Int((x * 1000).rounded())
    let frac = String(ms % 1000)
    return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
}
