import ArgumentParser
import LoomCore
import LoomEvaluation

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Text and classification metrics: BLEU (sacreBLEU-compatible), accuracy/precision/recall/F1 (scikit-learn), exact match.",
        subcommands: [BLEUCommand.self, ClassificationCommand.self, ExactMatchCommand.self])
}

/// One segment per line (a trailing newline does not make an extra empty segment).
func readLines(_ path: String) throws -> [String] {
    var lines = try readTextFile(path).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
}

struct BLEUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bleu",
        abstract: "Corpus BLEU of hypotheses against one or more reference files (sacrebleu's defaults), or sentence BLEU per line.")

    @Option(name: .customLong("hyp"), help: "Hypotheses, one per line.")
    var hyp: String

    @Option(name: [.short, .customLong("ref")], help: "References, one per line, parallel to the hypotheses (repeatable: several references; an empty line in a second or later file means none).")
    var refs: [String]

    @Flag(name: [.customShort("l"), .customLong("lowercase")], help: "Case-insensitive BLEU.")
    var lowercase = false

    @Option(help: "Tokenizer: 13a (default) or none.")
    var tokenize: String = "13a"

    @Option(help: "Smoothing: exp (default), floor, add-k or none.")
    var smooth: String = "exp"

    @Option(name: .customLong("smooth-value"), help: "Value for floor (default 0.1) or add-k (default 1).")
    var smoothValue: Double?

    @Option(name: .customLong("max-ngram-order"), help: "Largest n-gram order.")
    var maxNgramOrder: Int = 4

    @Flag(name: .customLong("effective-order"), help: "Average only the orders the hypotheses have n-grams of.")
    var effectiveOrder = false

    @Flag(help: "Sentence BLEU of every line (sacrebleu.sentence_bleu: effective order on) instead of corpus BLEU.")
    var sentence = false

    func run() throws {
        guard let tok = BLEUTokenizer(name: tokenize) else { throw ValidationError("--tokenize is 13a or none") }
        guard let sm = BLEUSmoothing(name: smooth) else { throw ValidationError("--smooth is exp, floor, add-k or none") }
        guard !refs.isEmpty else { throw ValidationError("give at least one --ref file") }
        let hyps = try readLines(hyp)
        var streams: [[String?]] = []
        for (k, path) in refs.enumerated() {
            let lines = try readLines(path)
            guard lines.count == hyps.count else {
                throw ValidationError("\(path) has \(lines.count) lines, \(hyp) \(hyps.count)")
            }
            streams.append(lines.map { k > 0 && $0.isEmpty ? nil : $0 })
        }
        var params = BLEUParams(lowercase: lowercase, tokenizer: tok, smoothing: sm, smoothingValue: smoothValue,
                                maxNgramOrder: maxNgramOrder, effectiveOrder: effectiveOrder || sentence)
        do {
            if sentence {
                for (i, h) in hyps.enumerated() {
                    let r = try BLEU.sentence(hypothesis: h, references: streams.compactMap { $0[i] }, params: params)
                    print(r.formatted)
                }
            } else {
                params.effectiveOrder = effectiveOrder
                print(try BLEU.corpus(hypotheses: hyps, references: streams, params: params).formatted)
            }
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}

struct ClassificationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classification",
        abstract: "Accuracy, and precision/recall/F1 per class and averaged (macro, micro, weighted), as scikit-learn's classification_report.")

    @Option(name: .customLong("true"), help: "True labels, one per line.")
    var truth: String

    @Option(name: .customLong("pred"), help: "Predicted labels, one per line.")
    var pred: String

    @Option(name: .customLong("zero-division"), help: "Value of a ratio with a zero denominator: 0, 1 or nan.")
    var zeroDivision: String = "0"

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func run() throws {
        let t = try readLines(truth), p = try readLines(pred)
        let zd: Double
        switch zeroDivision {
        case "0": zd = 0
        case "1": zd = 1
        case "nan": zd = .nan
        default: throw ValidationError("--zero-division is 0, 1 or nan")
        }
        do {
            let acc = try ClassificationMetrics.accuracy(t, p)
            let rows = try ClassificationMetrics.perClass(t, p, zeroDivision: zd)
            let avgs = try [MetricAverage.micro, .macro, .weighted].map { ($0, try ClassificationMetrics.averaged(t, p, average: $0, zeroDivision: zd)) }
            if json {
                let q = jsonQuoted
                func n(_ v: Double) -> String { v.isNaN ? "null" : "\(v)" }
                let classes = rows.map { "{\"label\": \(q($0.label ?? "")), \"precision\": \(n($0.precision)), \"recall\": \(n($0.recall)), \"f1\": \(n($0.f1)), \"support\": \($0.support ?? 0)}" }
                let averages = avgs.map { "\(q($0.0.name)): {\"precision\": \(n($0.1.precision)), \"recall\": \(n($0.1.recall)), \"f1\": \(n($0.1.f1))}" }
                print("{\"accuracy\": \(acc), \"classes\": [\(classes.joined(separator: ", "))], \(averages.joined(separator: ", "))}")
                return
            }
            let width = max(12, rows.map { ($0.label ?? "").count }.max() ?? 0)
            print("label".padding(width) + "  precision     recall         f1    support")
            func line(_ name: String, _ s: ClassScores<String>, _ support: Int) {
                print(name.padding(width) + "  " + [s.precision, s.recall, s.f1].map { formatFixed($0, 4).leftPadded(9) }.joined(separator: "  ")
                      + String(support).leftPadded(11))
            }
            for r in rows { line(r.label ?? "", r, r.support ?? 0) }
            print("")
            print("accuracy".padding(width) + "  " + formatFixed(acc, 4).leftPadded(31) + String(t.count).leftPadded(11))
            for (a, s) in avgs { line("\(a.name) avg", s, t.count) }
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}

struct ExactMatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exact-match", abstract: "Share of predictions equal to their references (HF evaluate's exact_match).")

    @Option(name: .customLong("pred"), help: "Predictions, one per line.")
    var pred: String

    @Option(name: [.short, .customLong("ref")], help: "References, one per line.")
    var ref: String

    @Flag(name: .customLong("ignore-case")) var ignoreCase = false
    @Flag(name: .customLong("ignore-punctuation")) var ignorePunctuation = false
    @Flag(name: .customLong("ignore-numbers")) var ignoreNumbers = false

    func run() throws {
        do {
            let v = try ClassificationMetrics.exactMatch(predictions: try readLines(pred), references: try readLines(ref),
                                                         ignoreCase: ignoreCase, ignorePunctuation: ignorePunctuation,
                                                         ignoreNumbers: ignoreNumbers)
            print("exact_match \(formatFixed(v, 4))")
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }
}
