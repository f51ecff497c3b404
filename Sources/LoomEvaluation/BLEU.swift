#if canImport(Glibc)
import Glibc
#endif
import LoomCore

/// sacreBLEU's tokenizers.
public enum BLEUTokenizer: Int32, Sendable {
    /// mteval-v13a (sacreBLEU's default): punctuation split off, periods and commas kept inside numbers.
    case thirteenA = 0
    /// Whitespace only (the text is assumed to be tokenized already).
    case none = 1

    public var name: String { self == .thirteenA ? "13a" : "none" }

    public init?(name: String) {
        switch name {
        case "13a": self = .thirteenA
        case "none": self = .none
        default: return nil
        }
    }
}

/// sacreBLEU's smoothing methods (Chen & Cherry 2014).
public enum BLEUSmoothing: Int32, Sendable {
    /// NIST geometric sequence smoothing (sacreBLEU's default): the k-th zero count counts as 1/2^k.
    case exp = 0
    case none = 1
    /// Zero counts become `value` (default 0.1).
    case floor = 2
    /// add `value` (default 1) to the counts and totals of orders 2 and up.
    case addK = 3

    public var name: String {
        switch self {
        case .exp: return "exp"
        case .none: return "none"
        case .floor: return "floor"
        case .addK: return "add-k"
        }
    }

    public init?(name: String) {
        switch name {
        case "exp": self = .exp
        case "none": self = .none
        case "floor": self = .floor
        case "add-k": self = .addK
        default: return nil
        }
    }

    var defaultValue: Double { self == .floor ? 0.1 : (self == .addK ? 1 : 0) }
}

/// BLEU's settings; the defaults are sacreBLEU's corpus_bleu defaults.
public struct BLEUParams: Sendable {
    public var lowercase = false
    public var tokenizer = BLEUTokenizer.thirteenA
    public var smoothing = BLEUSmoothing.exp
    /// For floor and add-k; nil = the method's default (0.1, 1).
    public var smoothingValue: Double? = nil
    public var maxNgramOrder = 4
    /// Average only the orders up to the last one the hypotheses have n-grams of (sacreBLEU's
    /// sentence_bleu default; off for corpus BLEU).
    public var effectiveOrder = false

    public init(lowercase: Bool = false, tokenizer: BLEUTokenizer = .thirteenA, smoothing: BLEUSmoothing = .exp,
                smoothingValue: Double? = nil, maxNgramOrder: Int = 4, effectiveOrder: Bool = false) {
        self.lowercase = lowercase
        self.tokenizer = tokenizer
        self.smoothing = smoothing
        self.smoothingValue = smoothingValue
        self.maxNgramOrder = maxNgramOrder
        self.effectiveOrder = effectiveOrder
    }

    /// sacrebleu.sentence_bleu's defaults: effective order on.
    public static var sentence: BLEUParams { BLEUParams(effectiveOrder: true) }

    public static let maxOrderLimit = 8

    func validate() throws {
        guard maxNgramOrder >= 1, maxNgramOrder <= BLEUParams.maxOrderLimit else {
            throw LoomError.invalidArgument("max n-gram order must be in 1...\(BLEUParams.maxOrderLimit), got \(maxNgramOrder)")
        }
        if let v = smoothingValue, !v.isFinite || v < 0 {
            throw LoomError.invalidArgument("the smoothing value must be finite and >= 0, got \(v)")
        }
    }
}

/// A BLEU score and its statistics, as sacreBLEU's BLEUScore.
public struct BLEUScore: Sendable, Equatable {
    /// 0...100.
    public var score: Double
    /// Matched n-grams per order (fractional with add-k smoothing).
    public var counts: [Double]
    /// Hypothesis n-grams per order.
    public var totals: [Double]
    /// Per-order precisions in percent (smoothed).
    public var precisions: [Double]
    /// Brevity penalty.
    public var bp: Double
    public var sysLen: Int
    public var refLen: Int
    public var ratio: Double { refLen > 0 ? Double(sysLen) / Double(refLen) : 0 }

    /// sacreBLEU's one-line format: "BLEU = 34.12 65.0/40.0/28.6/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 20 ref_len = 20)".
    public var formatted: String {
        let f = formatFixed
        return "BLEU = \(f(score, 2)) " + precisions.map { f($0, 1) }.joined(separator: "/")
            + " (BP = \(f(bp, 3)) ratio = \(f(ratio, 3)) hyp_len = \(sysLen) ref_len = \(refLen))"
    }
}

/// BLEU (Papineni et al. 2002) computed as sacreBLEU 2.x computes it: the same tokenizers,
/// n-gram clipping against the maximum count over the references, closest reference length (the
/// shorter one on ties), brevity penalty, smoothing and effective order. Scores agree with
/// `sacrebleu.corpus_bleu` / `sentence_bleu` to floating-point rounding.
public enum BLEU {
    /// Corpus BLEU. `references[r][i]` is reference stream r's reference for hypothesis i (every
    /// stream as long as the hypotheses); nil entries mean "no such reference for that sentence"
    /// (sacreBLEU's None: a variable number of references).
    public static func corpus(hypotheses: [String], references: [[String?]], params: BLEUParams = BLEUParams()) throws -> BLEUScore {
        try params.validate()
        guard !references.isEmpty else { throw LoomError.invalidArgument("BLEU needs at least one reference stream") }
        for (r, stream) in references.enumerated() where stream.count != hypotheses.count {
            throw LoomError.invalidArgument("reference stream \(r) has \(stream.count) sentences, the hypotheses \(hypotheses.count)")
        }
        var stats = Stats(order: params.maxNgramOrder)
        var interner = Interner()
        for (i, hyp) in hypotheses.enumerated() {
            let refs = references.compactMap { $0[i] }
            guard !refs.isEmpty else { throw LoomError.invalidArgument("hypothesis \(i) has no reference") }
            stats.add(segment: hyp, references: refs, params: params, interner: &interner)
        }
        return compute(stats: stats, params: params)
    }

    /// BLEU of one hypothesis against its references (sacrebleu.sentence_bleu with `.sentence` params).
    public static func sentence(hypothesis: String, references: [String], params: BLEUParams = .sentence) throws -> BLEUScore {
        try corpus(hypotheses: [hypothesis], references: references.map { [$0] }, params: params)
    }

    /// sacreBLEU's tokenization of one segment (after optional lowercasing), tokens joined by spaces.
    public static func tokenize(_ text: String, tokenizer: BLEUTokenizer = .thirteenA, lowercase: Bool = false) -> String {
        tokens(text, tokenizer: tokenizer, lowercase: lowercase).joined(separator: " ")
    }

    static func tokens(_ text: String, tokenizer: BLEUTokenizer, lowercase: Bool) -> [String] {
        var s = lowercase ? text.lowercased() : text
        s = PythonText.rstrip(s)
        if tokenizer == .thirteenA { s = Tokenizer13a.tokenize(s) }
        return PythonText.split(s)
    }

    // MARK: statistics

    /// Token strings mapped to ids by their exact scalars (Python compares code points; Swift's
    /// String equality would merge canonically equivalent spellings).
    struct Interner {
        var ids: [[UInt8]: Int] = [:]
        mutating func id(_ s: String) -> Int {
            let key = Array(s.utf8)
            if let i = ids[key] { return i }
            let i = ids.count
            ids[key] = i
            return i
        }
    }

    struct Stats {
        var order: Int
        var sysLen = 0
        var refLen = 0
        var correct: [Double]
        var total: [Double]

        init(order: Int) {
            self.order = order
            correct = Array(repeating: 0, count: order)
            total = Array(repeating: 0, count: order)
        }

        static func ngrams(_ t: [Int], order: Int) -> [[Int]: Int] {
            var c: [[Int]: Int] = [:]
            for n in 1...order where t.count >= n {
                for i in 0...(t.count - n) { c[Array(t[i..<(i + n)]), default: 0] += 1 }
            }
            return c
        }

        mutating func add(segment: String, references: [String], params: BLEUParams, interner: inout Interner) {
            var refMax: [[Int]: Int] = [:]
            var refLens: [Int] = []
            for ref in references {
                let t = BLEU.tokens(ref, tokenizer: params.tokenizer, lowercase: params.lowercase).map { interner.id($0) }
                refLens.append(t.count)
                for (g, c) in Stats.ngrams(t, order: order) { refMax[g] = max(refMax[g] ?? 0, c) }
            }
            let h = BLEU.tokens(segment, tokenizer: params.tokenizer, lowercase: params.lowercase).map { interner.id($0) }
            // Closest reference length; the shorter one on ties.
            var closestDiff = -1, closestLen = -1
            for l in refLens {
                let d = abs(h.count - l)
                if closestDiff == -1 || d < closestDiff {
                    closestDiff = d
                    closestLen = l
                } else if d == closestDiff, l < closestLen {
                    closestLen = l
                }
            }
            sysLen += h.count
            refLen += closestLen
            for (g, c) in Stats.ngrams(h, order: order) {
                total[g.count - 1] += Double(c)
                if let r = refMax[g] { correct[g.count - 1] += Double(min(c, r)) }
            }
        }
    }

    /// sacreBLEU's compute_bleu.
    static func compute(stats: Stats, params: BLEUParams) -> BLEUScore {
        var correct = stats.correct, total = stats.total
        let order = stats.order
        let smoothValue = params.smoothingValue ?? params.smoothing.defaultValue
        var bp = 1.0
        if stats.sysLen < stats.refLen {
            bp = stats.sysLen > 0 ? exp(1 - Double(stats.refLen) / Double(stats.sysLen)) : 0
        }
        var precisions = [Double](repeating: 0, count: order)
        if !correct.contains(where: { $0 != 0 }) {
            return BLEUScore(score: 0, counts: correct, totals: total, precisions: precisions, bp: bp,
                             sysLen: stats.sysLen, refLen: stats.refLen)
        }
        var smoothMteval = 1.0
        var effOrder = order
        for n in 1...order {
            if params.smoothing == .addK, n > 1 {
                correct[n - 1] += smoothValue
                total[n - 1] += smoothValue
            }
            if total[n - 1] == 0 { break }
            if params.effectiveOrder { effOrder = n }
            if correct[n - 1] == 0 {
                if params.smoothing == .exp {
                    smoothMteval *= 2
                    precisions[n - 1] = 100 / (smoothMteval * total[n - 1])
                } else if params.smoothing == .floor {
                    precisions[n - 1] = 100 * smoothValue / total[n - 1]
                }
            } else {
                precisions[n - 1] = 100 * correct[n - 1] / total[n - 1]
            }
        }
        // sacreBLEU's my_log: log(0) is -9999999999. Summed left to right, as Python's sum().
        var sum = 0.0
        for p in precisions[0..<effOrder] { sum += p == 0 ? -9_999_999_999 : log(p) }
        let score = bp * exp(sum / Double(effOrder))
        return BLEUScore(score: score, counts: correct, totals: total, precisions: precisions, bp: bp,
                         sysLen: stats.sysLen, refLen: stats.refLen)
    }
}

/// printf's "%.Nf" (C rounding of the exact binary value, as Python's format).
public func formatFixed(_ v: Double, _ digits: Int) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    let n = withVaList([v]) { vsnprintf(&buf, buf.count, "%.\(max(0, min(digits, 17)))f", $0) }
    guard n >= 0, n < buf.count else { return "\(v)" }
    return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// sacreBLEU's `13a` tokenizer (mteval-v13a.pl's, with its regular expressions applied as Python's
/// re.sub applies them: left to right, non-overlapping).
enum Tokenizer13a {
    static func tokenize(_ line: String) -> String {
        var s = line.replacingAll("<skipped>", with: "")
        s = s.replacingAll("-\n", with: "")
        s = s.replacingAll("\n", with: " ")
        if s.unicodeScalars.contains("&") {
            s = s.replacingAll("&quot;", with: "\"")
            s = s.replacingAll("&amp;", with: "&")
            s = s.replacingAll("&lt;", with: "<")
            s = s.replacingAll("&gt;", with: ">")
        }
        var c = [Unicode.Scalar](" ".unicodeScalars) + Array(s.unicodeScalars) + [" "]
        let space: Unicode.Scalar = " "
        // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(c.count * 2)
        for ch in c {
            if isSymbol(ch) { out += [space, ch, space] } else { out.append(ch) }
        }
        c = out
        // ([^0-9])([\.,]) -> "\1 \2 "
        c = substitutePairs(c, first: { !isDigit($0) }, second: isPeriodOrComma) { a, b in [a, space, b, space] }
        // ([\.,])([^0-9]) -> " \1 \2"
        c = substitutePairs(c, first: isPeriodOrComma, second: { !isDigit($0) }) { a, b in [space, a, space, b] }
        // ([0-9])(-) -> "\1 \2 "
        c = substitutePairs(c, first: isDigit, second: { $0 == "-" }) { a, b in [a, space, b, space] }
        var result = ""
        result.unicodeScalars.append(contentsOf: c)
        return result
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
    static func isPeriodOrComma(_ c: Unicode.Scalar) -> Bool { c == "." || c == "," }

    /// { | } ~, [ \ ] ^ _ `, space ! " # $ % &, ( ) * +, : ; < = > ? @, /
    static func isSymbol(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    /// re.sub of a two-character pattern: scans left to right; a match is replaced and scanning
    /// resumes after it.
    static func substitutePairs(_ c: [Unicode.Scalar], first: (Unicode.Scalar) -> Bool, second: (Unicode.Scalar) -> Bool,
                                replace: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(c.count + c.count / 2)
        var i = 0
        while i < c.count {
            if i + 1 < c.count, first(c[i]), second(c[i + 1]) {
                out += replace(c[i], c[i + 1])
                i += 2
            } else {
                out.append(c[i])
                i += 1
            }
        }
        return out
    }
}

extension String {
    /// Python's str.replace(old, new) over Unicode scalars (no canonical-equivalence matching).
    func replacingAll(_ old: String, with new: String) -> String {
        let o = Array(old.unicodeScalars)
        let s = Array(unicodeScalars)
        guard !o.isEmpty, s.count >= o.count else { return self }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if i + o.count <= s.count, s[i] == o[0], Array(s[i..<(i + o.count)]) == o {
                out.append(contentsOf: new.unicodeScalars)
                i += o.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }
}
