import ArgumentParser
import LoomCore
import LoomEvaluation
import LoomModels

struct EvalMCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-mc",
        abstract: "Multiple-choice accuracy: each choice scored by its log-likelihood after the question (lm-eval-harness).",
        discussion: """
        FILE.jsonl: one item per line, {"question": "...", "choices": ["...", ...], "answer": 0} (also \
        "query"/"context", "endings", "label"/"gold"; the answer may be an index, a choice's text or a letter). \
        Each choice is scored as the continuation DELIMITER + choice. acc takes the most likely choice, \
        acc_norm the most likely per character of the choice.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "The items, JSON Lines.")
    var file: String

    @Option(help: "Put between the question and each choice (lm-eval's target_delimiter).")
    var delimiter: String = " "

    @Option(help: "Context size.")
    var ctx: Int = 2048

    @Option(name: [.short, .customLong("threads")], help: "Threads.")
    var threads: Int = ContextParams.defaultThreads

    @Option(help: "Evaluate at most this many items (0 = all).")
    var limit: Int = 0

    @Flag(help: "Print every item's prediction.")
    var verbose = false

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func run() throws {
        guard ctx >= 1, threads >= 1, limit >= 0 else { throw ValidationError("need --ctx >= 1, -t >= 1, --limit >= 0") }
        var items: [MultipleChoiceItem]
        do { items = try MultipleChoice.parseJSONL(try readTextFile(file)) } catch let e as LoomError {
            throw ValidationError("\(file): \(e.message)")
        }
        if limit > 0 { items = Array(items.prefix(limit)) }
        guard !items.isEmpty else { throw ValidationError("\(file) has no items") }
        let model = try modelOptions.load(vocabOnly: false)
        let tok = try model.tokenizer()
        let context = try Context(model: model, params: ContextParams(contextLength: ctx, threads: threads, maxSequences: 1))
        var bar = ProgressBar("eval-mc")
        var outcomes: [MultipleChoiceOutcome] = []
        for (i, item) in items.enumerated() {
            do {
                outcomes.append(try MultipleChoice.evaluate(context: context, tokenizer: tok, item: item, delimiter: delimiter))
            } catch let e as LoomError {
                bar.finish()
                throw ValidationError("item \(i + 1): \(e.message)")
            }
            let report = MultipleChoiceReport(outcomes: outcomes)
            bar.update(Double(i + 1) / Double(items.count),
                       detail: "\(i + 1)/\(items.count)" + (report.accuracy.map { ", acc \(formatFixed($0, 3))" } ?? ""))
        }
        bar.finish()
        let report = MultipleChoiceReport(outcomes: outcomes)
        if verbose && !json {
            for (i, (item, o)) in zip(items, outcomes).enumerated() {
                let mark = o.correct.map { $0 ? "ok " : "no " } ?? "   "
                print("\(mark)\(i + 1): \(item.question.replacingNewlines().prefix(70)) -> \(item.choices[o.prediction]) "
                      + "(norm: \(item.choices[o.predictionNormalized]))"
                      + (o.answer.map { " [answer: \(item.choices[$0])]" } ?? ""))
            }
        }
        func num(_ v: Double?) -> String { v.map { "\($0)" } ?? "null" }
        if json {
            print("{\"n\": \(items.count), \"answered\": \(report.answered), \"acc\": \(num(report.accuracy)), \"acc_norm\": \(num(report.accuracyNormalized)), \"predictions\": \(outcomes.map(\.prediction)), \"predictions_norm\": \(outcomes.map(\.predictionNormalized))}")
        } else if let acc = report.accuracy, let accNorm = report.accuracyNormalized {
            print("acc \(formatFixed(acc, 4))  acc_norm \(formatFixed(accNorm, 4))  (\(report.answered) items with answers of \(items.count))")
        } else {
            print("no item has an answer: predictions \(outcomes.map(\.prediction))")
        }
    }
}
