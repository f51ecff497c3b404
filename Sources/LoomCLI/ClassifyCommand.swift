import ArgumentParser
import LoomCore
import LoomEvaluation
import LoomModels

#if canImport(Glibc)
import Glibc
#endif

/// Loads a model (with weights) named by a command's option; a LoomError becomes a ValidationError.
func loadModel(_ path: String, what: String = "model") throws -> Model {
    do {
        return try Model.load(path: path, params: ModelParams())
    } catch let e as LoomError {
        throw ValidationError("cannot load \(what): \(e.message)")
    }
}

/// A number as JSON (NaN and infinities: null).
func jsonNumber(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }
func jsonNumber(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

/// Lines of a text file, or of standard input for "-" (read as a stream: pipes and process
/// substitutions work too). A trailing newline makes no extra line; "\r\n" ends a line as "\n" does.
func readTextLines(_ path: String) throws -> [String] {
    let file: UnsafeMutablePointer<FILE>
    if path == "-" {
        file = stdin
    } else {
        guard let f = fopen(path, "rb") else { throw ValidationError("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        file = f
    }
    defer { if path != "-" { fclose(file) } }
    var lines: [String] = []
    var buffer: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(buffer) }
    while true {
        let n = getline(&buffer, &capacity, file)
        guard n >= 0, let line = buffer else { break }
        var count = n
        if count > 0, line[count - 1] == 0x0A { count -= 1 }
        if count > 0, line[count - 1] == 0x0D { count -= 1 }
        lines.append(String(decoding: UnsafeRawBufferPointer(start: line, count: count), as: UTF8.self))
    }
    if ferror(file) != 0 { throw ValidationError("cannot read '\(path)': \(String(cString: strerror(errno)))") }
    return lines
}

/// What is given to `classify` and `reward`.
struct ClassifyOptions: ParsableArguments {
    @Option(name: [.short, .customLong("model")],
            help: "An HF folder with a sequence-classification head (LlamaForSequenceClassification, MistralForSequenceClassification, BertForSequenceClassification; a reward model has one label).")
    var model: String

    @Argument(help: "Texts to classify.")
    var texts: [String] = []

    @Option(name: [.short, .customLong("file")], help: "A file with one text per line ('-': standard input); its texts follow the arguments.")
    var file: String?

    @Option(name: .customLong("pair"), parsing: .upToNextOption,
            help: ArgumentHelp("Two texts A B: print both rewards and P(A preferred over B) = sigmoid(r_A - r_B) (reward models).",
                               valueName: "text"))
    var pair: [String] = []

    @Option(name: .customLong("max-length"), help: "Tokens per text after truncation, the end cut (0: the model's positions).")
    var maxLength: Int = 0

    @Flag(name: .customLong("no-special"), help: "Do not add the model's special tokens ([CLS]/[SEP], BOS) as its tokenizer would.")
    var noSpecial = false

    @Flag(name: .customLong("parse-special"), help: "Special-token text in the texts (<|im_start|>) becomes those tokens.")
    var parseSpecial = false

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: the machine's cores, at most 8).")
    var threads: Int = ContextParams.defaultThreads

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    var params: ClassifyParams {
        ClassifyParams(maxLength: maxLength > 0 ? maxLength : nil, addSpecial: !noSpecial, parseSpecial: parseSpecial,
                       threads: threads)
    }

    func validate() throws {
        guard maxLength >= 0 else { throw ValidationError("--max-length must not be negative") }
        guard threads >= 1, threads <= 512 else { throw ValidationError("-t must be in 1...512") }
        guard pair.isEmpty || pair.count == 2 else { throw ValidationError("--pair takes two texts, got \(pair.count)") }
    }
}

/// How a head's logits read (config.json problem_type, as transformers' pipelines read it).
enum ClassifierKind: String {
    case reward          // one label: the logit is the score
    case softmax         // single_label_classification (the default): softmax over the labels
    case sigmoid         // multi_label_classification: a sigmoid per label
    case regression      // regression: the raw values

    init(_ head: SequenceClassificationHead) {
        if head.labelCount == 1 { self = .reward }
        else if head.problemType == "multi_label_classification" { self = .sigmoid }
        else if head.problemType == "regression" { self = .regression }
        else { self = .softmax }
    }

    /// Probabilities of one row of logits (nil for scores and regression values).
    func probabilities(_ logits: [Float]) -> [Double]? {
        switch self {
        case .reward, .regression:
            return nil
        case .sigmoid:
            return logits.map { 0.5 * (1 + tanh(0.5 * Double($0))) }
        case .softmax:
            let m = logits.map(Double.init).max() ?? 0
            let e = logits.map { exp(Double($0) - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
    }
}

/// Runs `classify` / `reward` (`rewardOnly`: the head must have one label).
func runClassification(_ o: ClassifyOptions, rewardOnly: Bool) throws {
    let model = try loadModel(o.model)
    let head: SequenceClassificationHead
    do { head = try model.requireClassifier() } catch let e as LoomError { throw ValidationError(e.message) }
    let kind = ClassifierKind(head)
    if rewardOnly || !o.pair.isEmpty, kind != .reward {
        throw ValidationError("'\(o.model)' has \(head.labelCount) labels (\(head.labels.joined(separator: ", "))); a reward model has one"
                              + (rewardOnly ? ": use loom classify" : ""))
    }
    /// Logits of texts[first...]; numbers in messages count from 1 over all texts.
    func classify(_ texts: [String], first: Int = 0) throws -> [[Float]] {
        do {
            let ids = try model.classificationIDs(texts, params: o.params)
            if let empty = ids.firstIndex(where: { $0.isEmpty }) {
                throw ValidationError("text \(first + empty + 1) gives no tokens" + (texts[empty].isEmpty ? " (it is empty)" : ""))
            }
            let rows = try model.classify(ids: ids, threads: o.params.threads)
            guard rows.count == texts.count, rows.allSatisfy({ $0.count == head.labelCount }) else {
                throw ValidationError("the model gave \(rows.count) results for \(texts.count) texts")
            }
            return rows
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }

    if o.pair.count == 2 {
        guard o.texts.isEmpty, o.file == nil else { throw ValidationError("--pair takes no other texts") }
        let r = try classify(o.pair)
        let (ra, rb) = (r[0][0], r[1][0])
        let p = Double(LoomModels.preferenceProbability(ra, rb))
        if o.json {
            print("{\"model\": \(jsonQuoted(o.model)), \"a\": {\"text\": \(jsonQuoted(o.pair[0])), \"score\": \(jsonNumber(ra))}, "
                  + "\"b\": {\"text\": \(jsonQuoted(o.pair[1])), \"score\": \(jsonNumber(rb))}, \"preference\": \(jsonNumber(p))}")
        } else {
            print("A  " + formatFixed(Double(ra), 6).leftPadded(10) + "  " + o.pair[0].replacingNewlines())
            print("B  " + formatFixed(Double(rb), 6).leftPadded(10) + "  " + o.pair[1].replacingNewlines())
            print("P(A preferred over B) = sigmoid(r_A - r_B) = \(formatFixed(p, 6))")
        }
        return
    }

    var texts = o.texts
    if let file = o.file { texts += try readTextLines(file) }
    guard !texts.isEmpty else { throw ValidationError("give texts as arguments or with -f FILE (one text per line)") }

    // Text output streams batch by batch; JSON is printed at the end.
    var results: [String] = []
    var start = 0, number = 0
    while start < texts.count {
        let batch = Array(texts[start..<min(texts.count, start + 64)])
        let rows = try classify(batch, first: start)
        for (text, logits) in zip(batch, rows) {
            number += 1
            let probs = kind.probabilities(logits)
            if o.json {
                var fields = ["\"text\": \(jsonQuoted(text))"]
                if kind == .reward {
                    fields.append("\"score\": \(jsonNumber(logits[0]))")
                } else {
                    fields.append("\"logits\": [\(logits.map(jsonNumber).joined(separator: ", "))]")
                    if let probs {
                        fields.append("\"probs\": [\(probs.map(jsonNumber).joined(separator: ", "))]")
                        if kind == .softmax, let best = probs.indices.max(by: { probs[$0] < probs[$1] }) {
                            fields.append("\"label\": \(jsonQuoted(head.labels[best]))")
                        } else if kind == .sigmoid {
                            let on = probs.indices.filter { probs[$0] >= 0.5 }.map { jsonQuoted(head.labels[$0]) }
                            fields.append("\"labels\": [\(on.joined(separator: ", "))]")
                        }
                    }
                }
                results.append("{" + fields.joined(separator: ", ") + "}")
                continue
            }
            if kind == .reward {
                print(formatFixed(Double(logits[0]), 6).leftPadded(10) + "  " + text.replacingNewlines())
                continue
            }
            print("\(number): \(text.replacingNewlines())")
            let width = max(8, head.labels.map(\.count).max() ?? 0)
            let best = probs.flatMap { p in p.indices.max(by: { p[$0] < p[$1] }) }
            for (j, label) in head.labels.enumerated() {
                var line = "   " + label.padding(width)
                if let probs {
                    line += "  p " + formatFixed(probs[j], 4)
                    let predicted = kind == .sigmoid ? probs[j] >= 0.5 : j == best
                    line += "  logit " + formatFixed(Double(logits[j]), 6).leftPadded(10) + (predicted ? "  <- predicted" : "")
                } else {
                    line += "  value " + formatFixed(Double(logits[j]), 6).leftPadded(10)
                }
                print(line)
            }
        }
        start += batch.count
    }
    if o.json {
        let problem = head.problemType.map(jsonQuoted) ?? "null"
        print("{\"model\": \(jsonQuoted(o.model)), \"kind\": \(jsonQuoted(kind.rawValue)), \"problem_type\": \(problem), "
              + "\"labels\": [\(head.labels.map(jsonQuoted).joined(separator: ", "))], \"results\": [\(results.joined(separator: ", "))]}")
    }
}

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify texts with a sequence-classification model, or score them with a reward model.",
        discussion: """
        The model is an HF folder whose config.json names LlamaForSequenceClassification, \
        MistralForSequenceClassification (the score head read at the last non-pad token) or \
        BertForSequenceClassification (pooler on [CLS], then the classifier). Each text is tokenized as \
        transformers' tokenizer(text) does and run alone (no padding). Per text it prints the \
        probabilities (softmax over the labels, named by config.json id2label; a sigmoid per label for \
        problem_type multi_label_classification; raw values for regression) with the raw logits; for a \
        one-label head (a reward model) the score. --pair A B prints both rewards and the Bradley-Terry \
        preference probability sigmoid(r_A - r_B). --json prints one object with every result.
        """)

    @OptionGroup var options: ClassifyOptions

    func run() throws { try runClassification(options, rewardOnly: false) }
}

struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward",
        abstract: "Score texts with a reward model (a classification head with one label); --pair A B: P(A preferred over B).",
        discussion: """
        As loom classify, for a model whose head has one label (refused otherwise): one line per text, the \
        score then the text. A reward model trained on chat data scores the text it was trained on — \
        usually the chat-templated prompt and response (pass --parse-special to keep their special tokens).
        """)

    @OptionGroup var options: ClassifyOptions

    func run() throws { try runClassification(options, rewardOnly: true) }
}
