import LoomCore
import LoomModels
import LoomTokenizers

/// A multiple-choice question: the model picks the choice it finds most likely after the question.
public struct MultipleChoiceItem: Sendable, Equatable {
    public var question: String
    public var choices: [String]
    /// Index of the right choice, when known.
    public var answer: Int?

    public init(question: String, choices: [String], answer: Int? = nil) {
        self.question = question
        self.choices = choices
        self.answer = answer
    }
}

/// What the model made of one item.
public struct MultipleChoiceOutcome: Sendable {
    /// Per choice: log p(delimiter + choice | question), and whether it is the greedy continuation.
    public var logProbabilities: [Double]
    public var isGreedy: [Bool]
    /// Characters (Unicode scalars) of each choice, the acc_norm divisor.
    public var lengths: [Int]
    /// argmax of the log-likelihoods (acc) and of the log-likelihoods per character (acc_norm).
    public var prediction: Int
    public var predictionNormalized: Int
    public var answer: Int?

    public var correct: Bool? { answer.map { $0 == prediction } }
    public var correctNormalized: Bool? { answer.map { $0 == predictionNormalized } }
}

/// Accuracy over a set of items.
public struct MultipleChoiceReport: Sendable {
    public var outcomes: [MultipleChoiceOutcome]

    public init(outcomes: [MultipleChoiceOutcome]) { self.outcomes = outcomes }

    /// Items with an answer.
    public var answered: Int { outcomes.filter { $0.answer != nil }.count }
    /// Share of answered items whose highest log-likelihood choice is the answer (lm-eval `acc`).
    public var accuracy: Double? { share { $0.correct } }
    /// The same with log-likelihoods divided by the choice's length in characters (lm-eval `acc_norm`).
    public var accuracyNormalized: Double? { share { $0.correctNormalized } }

    private func share(_ f: (MultipleChoiceOutcome) -> Bool?) -> Double? {
        let marks = outcomes.compactMap(f)
        return marks.isEmpty ? nil : Double(marks.filter { $0 }.count) / Double(marks.count)
    }
}

/// lm-eval-harness's `multiple_choice` output type: each choice is scored as the continuation
/// `delimiter + choice` of the question (target_delimiter, " " by default); `acc` takes the highest
/// log-likelihood, `acc_norm` the highest log-likelihood divided by the choice's length in characters.
public enum MultipleChoice {
    public static func evaluate(context ctx: Context, tokenizer: Tokenizer, item: MultipleChoiceItem,
                                delimiter: String = " ", addSpecial: Bool = false) throws -> MultipleChoiceOutcome {
        guard !item.choices.isEmpty else { throw LoomError.invalidArgument("the item has no choices") }
        if let a = item.answer, a < 0 || a >= item.choices.count {
            throw LoomError.outOfRange("answer \(a) is outside 0..<\(item.choices.count) choices")
        }
        var lls: [Double] = [], greedy: [Bool] = [], lengths: [Int] = []
        for choice in item.choices {
            let r = try Loglikelihood.score(context: ctx, tokenizer: tokenizer, context: item.question,
                                            continuation: delimiter + choice, addSpecial: addSpecial)
            lls.append(r.logProbability)
            greedy.append(r.isGreedy)
            lengths.append(choice.unicodeScalars.count)
        }
        let norm = zip(lls, lengths).map { $0 / Double($1) }   // as numpy: x/0 is ±inf or nan
        return MultipleChoiceOutcome(logProbabilities: lls, isGreedy: greedy, lengths: lengths,
                                     prediction: argmax(lls), predictionNormalized: argmax(norm), answer: item.answer)
    }

    public static func evaluate(context ctx: Context, tokenizer: Tokenizer, items: [MultipleChoiceItem],
                                delimiter: String = " ", addSpecial: Bool = false,
                                progress: ((Int, Int) -> Bool)? = nil) throws -> MultipleChoiceReport {
        var outcomes: [MultipleChoiceOutcome] = []
        for (i, item) in items.enumerated() {
            outcomes.append(try evaluate(context: ctx, tokenizer: tokenizer, item: item, delimiter: delimiter, addSpecial: addSpecial))
            if let progress, !progress(i + 1, items.count) { throw LoomError(.aborted, "evaluation stopped by the progress callback") }
        }
        return MultipleChoiceReport(outcomes: outcomes)
    }

    /// numpy's argmax: the first maximum; a NaN wins (as numpy's).
    static func argmax(_ v: [Double]) -> Int {
        var best = 0
        for i in v.indices {
            if v[i].isNaN { return i }
            if v[i] > v[best] { best = i }
        }
        return best
    }

    /// Items from JSON Lines: one object per line with the question ("question", "query" or
    /// "context"), the choices ("choices" or "endings") and optionally the answer ("answer",
    /// "label" or "gold": an index, a choice's text, or a letter A, B, … naming a choice).
    /// Blank lines are skipped.
    public static func parseJSONL(_ text: String) throws -> [MultipleChoiceItem] {
        var items: [MultipleChoiceItem] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: " \t\r")
            if trimmed.isEmpty { continue }
            let v: JSONValue
            do { v = try JSONParser.parse(Array(trimmed.utf8)) } catch let e as LoomError {
                throw LoomError.format("line \(n + 1): \(e.message)")
            }
            guard let question = (v["question"] ?? v["query"] ?? v["context"])?.string else {
                throw LoomError.format("line \(n + 1): no \"question\" (or \"query\", \"context\") string")
            }
            guard let list = (v["choices"] ?? v["endings"])?.array, !list.isEmpty else {
                throw LoomError.format("line \(n + 1): no \"choices\" (or \"endings\") list")
            }
            var choices: [String] = []
            for c in list {
                guard let s = c.string else { throw LoomError.format("line \(n + 1): the choices must be strings") }
                choices.append(s)
            }
            var answer: Int?
            if let a = v["answer"] ?? v["label"] ?? v["gold"] {
                if let i = a.int {
                    answer = i
                } else if let s = a.string {
                    if let i = choices.firstIndex(of: s) {
                        answer = i
                    } else if let i = Int(s) {
                        answer = i
                    } else if s.count == 1, let u = s.unicodeScalars.first, u.value >= 65, u.value < 65 + UInt32(choices.count) {
                        answer = Int(u.value) - 65
                    } else {
                        throw LoomError.format("line \(n + 1): the answer \"\(s)\" is neither a choice, an index nor a letter")
                    }
                } else if !a.isNull {
                    throw LoomError.format("line \(n + 1): the answer must be an index or a string")
                }
            }
            if let a = answer, a < 0 || a >= choices.count {
                throw LoomError.format("line \(n + 1): answer \(a) is outside 0..<\(choices.count)")
            }
            items.append(MultipleChoiceItem(question: question, choices: choices, answer: answer))
        }
        return items
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
