import LoomCore

/// How precision, recall and F1 are averaged over classes (scikit-learn's `average`).
public enum MetricAverage: Int32, Sendable {
    /// Only the positive class (`posLabel`); the labels must be at most two distinct values.
    case binary = 0
    /// From the summed true/false positives and negatives of every class.
    case micro = 1
    /// The unweighted mean of the per-class values.
    case macro = 2
    /// The mean of the per-class values weighted by each class's support (true count).
    case weighted = 3

    public var name: String { ["binary", "micro", "macro", "weighted"][Int(rawValue)] }

    public init?(name: String) {
        switch name {
        case "binary": self = .binary
        case "micro": self = .micro
        case "macro": self = .macro
        case "weighted": self = .weighted
        default: return nil
        }
    }
}

/// Precision, recall and F1 of one class (or an average).
public struct ClassScores<Label: Hashable & Comparable & Sendable>: Sendable {
    public var label: Label?
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// True occurrences of the class (nil for averages).
    public var support: Int?
}

/// Classification metrics computed as scikit-learn computes them: labels are the sorted union of
/// the true and predicted labels; a ratio whose denominator is 0 takes `zeroDivision` (scikit-learn's
/// zero_division: 0 — its "warn" default —, 1 or NaN; NaN values are left out of the averages).
public enum ClassificationMetrics {
    static func check<L>(_ yTrue: [L], _ yPred: [L]) throws {
        guard yTrue.count == yPred.count else {
            throw LoomError.invalidArgument("y_true has \(yTrue.count) labels, y_pred \(yPred.count)")
        }
        guard !yTrue.isEmpty else { throw LoomError.invalidArgument("no labels") }
    }

    /// Share of predictions equal to the truth (sklearn.metrics.accuracy_score).
    public static func accuracy<L: Equatable>(_ yTrue: [L], _ yPred: [L]) throws -> Double {
        try check(yTrue, yPred)
        return Double(zip(yTrue, yPred).filter { $0 == $1 }.count) / Double(yTrue.count)
    }

    /// Sorted union of the labels (sklearn's unique_labels).
    public static func labels<L: Hashable & Comparable>(_ yTrue: [L], _ yPred: [L]) -> [L] {
        Array(Set(yTrue).union(yPred)).sorted()
    }

    struct Counts { var tp = 0, pred = 0, truth = 0 }

    static func counts<L: Hashable>(_ yTrue: [L], _ yPred: [L], labels: [L]) -> [Counts] {
        var index: [L: Int] = [:]
        for (i, l) in labels.enumerated() { index[l] = i }
        var c = [Counts](repeating: Counts(), count: labels.count)
        for (t, p) in zip(yTrue, yPred) {
            if let i = index[t] { c[i].truth += 1 }
            if let j = index[p] { c[j].pred += 1 }
            if t == p, let i = index[t] { c[i].tp += 1 }
        }
        return c
    }

    static func divide(_ a: Double, _ b: Double, _ zeroDivision: Double) -> Double { b == 0 ? zeroDivision : a / b }

    static func scores(_ c: Counts, _ zeroDivision: Double) -> (Double, Double, Double) {
        (divide(Double(c.tp), Double(c.pred), zeroDivision), divide(Double(c.tp), Double(c.truth), zeroDivision),
         divide(2 * Double(c.tp), Double(c.truth + c.pred), zeroDivision))
    }

    static func checkZeroDivision(_ z: Double) throws {
        guard z == 0 || z == 1 || z.isNaN else { throw LoomError.invalidArgument("zero_division must be 0, 1 or NaN, got \(z)") }
    }

    /// Per-class precision, recall, F1 and support, one entry per label of the sorted union
    /// (sklearn precision_recall_fscore_support(average=None)).
    public static func perClass<L: Hashable & Comparable & Sendable>(_ yTrue: [L], _ yPred: [L], zeroDivision: Double = 0) throws -> [ClassScores<L>] {
        try check(yTrue, yPred)
        try checkZeroDivision(zeroDivision)
        let ls = labels(yTrue, yPred)
        return zip(ls, counts(yTrue, yPred, labels: ls)).map { l, c in
            let (p, r, f) = scores(c, zeroDivision)
            return ClassScores(label: l, precision: p, recall: r, f1: f, support: c.truth)
        }
    }

    /// Averaged precision, recall and F1 (sklearn precision_recall_fscore_support / precision_score /
    /// recall_score / f1_score with `average`; `posLabel` only for .binary).
    public static func averaged<L: Hashable & Comparable & Sendable>(_ yTrue: [L], _ yPred: [L], average: MetricAverage,
                                                                     posLabel: L? = nil, zeroDivision: Double = 0) throws -> ClassScores<L> {
        try check(yTrue, yPred)
        try checkZeroDivision(zeroDivision)
        let ls = labels(yTrue, yPred)
        switch average {
        case .binary:
            guard ls.count <= 2 else {
                throw LoomError.invalidArgument("average binary needs at most 2 distinct labels, got \(ls.count): choose micro, macro or weighted")
            }
            guard let pos = posLabel else { throw LoomError.invalidArgument("average binary needs a positive label") }
            if !ls.contains(pos), ls.count >= 2 {
                throw LoomError.invalidArgument("the positive label \(pos) is not one of the labels \(ls)")
            }
            let c = counts(yTrue, yPred, labels: [pos])[0]
            let (p, r, f) = scores(c, zeroDivision)
            return ClassScores(label: pos, precision: p, recall: r, f1: f, support: nil)
        case .micro:
            let all = counts(yTrue, yPred, labels: ls).reduce(Counts()) { Counts(tp: $0.tp + $1.tp, pred: $0.pred + $1.pred, truth: $0.truth + $1.truth) }
            let (p, r, f) = scores(all, zeroDivision)
            return ClassScores(label: nil, precision: p, recall: r, f1: f, support: nil)
        case .macro, .weighted:
            let cs = counts(yTrue, yPred, labels: ls)
            let per = cs.map { scores($0, zeroDivision) }
            let weights = average == .weighted ? cs.map { Double($0.truth) } : nil
            return ClassScores(label: nil, precision: nanAverage(per.map { $0.0 }, weights),
                               recall: nanAverage(per.map { $0.1 }, weights), f1: nanAverage(per.map { $0.2 }, weights),
                               support: nil)
        }
    }

    /// sklearn's _nanaverage: NaNs left out; all-zero weights fall back to the plain mean.
    static func nanAverage(_ a: [Double], _ weights: [Double]?) -> Double {
        let keep = a.indices.filter { !a[$0].isNaN }
        guard !keep.isEmpty else { return .nan }
        if let w = weights {
            let ws = keep.reduce(0.0) { $0 + w[$1] }
            if ws != 0 { return keep.reduce(0.0) { $0 + a[$1] * w[$1] } / ws }
        }
        return keep.reduce(0.0) { $0 + a[$1] } / Double(keep.count)
    }

    /// Exact match (HF evaluate's exact_match): the share of predictions equal to their reference
    /// after the chosen normalisations (case folded to lower case, ASCII punctuation removed, ASCII
    /// digits removed).
    public static func exactMatch(predictions: [String], references: [String], ignoreCase: Bool = false,
                                  ignorePunctuation: Bool = false, ignoreNumbers: Bool = false) throws -> Double {
        try check(predictions, references)
        func norm(_ s: String) -> [Unicode.Scalar] {
            var t = Array((ignoreCase ? s.lowercased() : s).unicodeScalars)
            if ignorePunctuation {
                t.removeAll { c in
                    let v = c.value
                    return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
                }
            }
            if ignoreNumbers { t.removeAll { $0.value >= 0x30 && $0.value <= 0x39 } }
            return t
        }
        let same = zip(predictions, references).filter { norm($0) == norm($1) }.count
        return Double(same) / Double(predictions.count)
    }
}
