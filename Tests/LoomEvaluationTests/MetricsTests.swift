import XCTest
import LoomTestSupport
import LoomCore
@testable import LoomEvaluation

/// BLEU and classification metrics against values computed with sacreBLEU and scikit-learn
/// (Tests/Fixtures/metrics/make_refs.py).
final class MetricsTests: XCTestCase {
    static func fixture() throws -> JSONValue {
        try JSONParser.parse(try readWholeFile(TestData.fixtures + "/metrics/metrics-refs.json"))
    }

    func doubles(_ v: JSONValue?) -> [Double] { (v?.array ?? []).map { $0.double ?? .nan } }

    func assertScore(_ got: BLEUScore, _ want: JSONValue, _ what: String) {
        let score = want["score"]?.double ?? .nan
        XCTAssertEqual(got.score, score, accuracy: 1e-9, what)
        XCTAssertEqual(formatFixed(got.score, 2), formatFixed(score, 2), what)
        XCTAssertEqual(got.bp, want["bp"]?.double ?? .nan, accuracy: 1e-12, what)
        XCTAssertEqual(got.sysLen, want["sys_len"]?.int, what)
        XCTAssertEqual(got.refLen, want["ref_len"]?.int, what)
        XCTAssertEqual(got.counts, doubles(want["counts"]), what)
        XCTAssertEqual(got.totals, doubles(want["totals"]), what)
        for (a, b) in zip(got.precisions, doubles(want["precisions"])) { XCTAssertEqual(a, b, accuracy: 1e-9, what) }
    }

    func testTokenizer13a() throws {
        let f = try Self.fixture()
        for t in f["tokenized"]?.array ?? [] {
            let text = t["text"]?.string ?? ""
            XCTAssertEqual(BLEU.tokenize(text), t["13a"]?.string, text)
        }
    }

    func testCorpusBLEU() throws {
        let f = try Self.fixture()
        let hyps = (f["hyps"]?.array ?? []).map { $0.string ?? "" }
        let streams = (f["refs"]?.array ?? []).map { ($0.array ?? []).map { $0.string } }
        XCTAssertGreaterThanOrEqual(hyps.count, 20)
        for c in f["corpus"]?.array ?? [] {
            let p = c["params"]
            var params = BLEUParams()
            params.lowercase = p?["lowercase"]?.bool ?? false
            params.tokenizer = BLEUTokenizer(name: p?["tokenize"]?.string ?? "13a") ?? .thirteenA
            params.smoothing = BLEUSmoothing(name: p?["smooth_method"]?.string ?? "exp") ?? .exp
            params.effectiveOrder = p?["effective_order"]?.bool ?? false
            params.maxNgramOrder = p?["max_ngram_order"]?.int ?? 4
            let refs = c["refs"]?.string == "one" ? [streams[0]] : streams
            let got = try BLEU.corpus(hypotheses: hyps, references: refs, params: params)
            let name = "\(c["name"]?.string ?? "?") / \(c["refs"]?.string ?? "?") refs"
            if name.hasPrefix("default") { print("corpus BLEU \(name): \(got.formatted)") }
            assertScore(got, c, name)
        }
    }

    func testSentenceBLEU() throws {
        let f = try Self.fixture()
        for s in f["sentence"]?.array ?? [] {
            let got = try BLEU.sentence(hypothesis: s["hyp"]?.string ?? "", references: (s["refs"]?.array ?? []).compactMap(\.string))
            assertScore(got, s, s["hyp"]?.string ?? "")
        }
        XCTAssertThrowsError(try BLEU.corpus(hypotheses: ["a"], references: [[nil]]))
        XCTAssertThrowsError(try BLEU.corpus(hypotheses: ["a", "b"], references: [["a"]]))
        XCTAssertThrowsError(try BLEU.corpus(hypotheses: ["a"], references: [["a"]], params: BLEUParams(maxNgramOrder: 0)))
    }

    func testClassificationMetrics() throws {
        let f = try Self.fixture()
        for c in f["classification"]?.array ?? [] {
            let name = c["name"]?.string ?? "?"
            let yt = (c["y_true"]?.array ?? []).compactMap(\.int), yp = (c["y_pred"]?.array ?? []).compactMap(\.int)
            XCTAssertEqual(try ClassificationMetrics.accuracy(yt, yp), c["accuracy"]?.double ?? .nan, accuracy: 1e-12, name)
            let averages = c["averages"]?.object
            for key in averages?.keys ?? [] {
                let value = averages?[key]
                let parts = key.split(separator: "/")
                let avg = MetricAverage(name: String(parts[0]))!
                let zd = Double(String(parts[1])) ?? 0
                let s = try ClassificationMetrics.averaged(yt, yp, average: avg, posLabel: 1, zeroDivision: zd)
                let want = doubles(value)
                XCTAssertEqual(s.precision, want[0], accuracy: 1e-12, "\(name) \(key) precision")
                XCTAssertEqual(s.recall, want[1], accuracy: 1e-12, "\(name) \(key) recall")
                XCTAssertEqual(s.f1, want[2], accuracy: 1e-12, "\(name) \(key) f1")
            }
            for zd in [0.0, 1.0] {
                let want = c["per_class/\(formatFixed(zd, 0))"]
                let rows = try ClassificationMetrics.perClass(yt, yp, zeroDivision: zd)
                XCTAssertEqual(rows.map { $0.label! }, (want?["labels"]?.array ?? []).compactMap(\.int), name)
                XCTAssertEqual(rows.map { Double($0.support!) }, doubles(want?["support"]), name)
                XCTAssertEqual(rows.map(\.precision), doubles(want?["precision"]), name)
                XCTAssertEqual(rows.map(\.recall), doubles(want?["recall"]), name)
                for (a, b) in zip(rows.map(\.f1), doubles(want?["f1"])) { XCTAssertEqual(a, b, accuracy: 1e-12, name) }
            }
        }
        XCTAssertThrowsError(try ClassificationMetrics.averaged([0, 1, 2], [0, 1, 2], average: .binary, posLabel: 1))
        XCTAssertThrowsError(try ClassificationMetrics.accuracy([0, 1], [0]))
        XCTAssertThrowsError(try ClassificationMetrics.accuracy([Int](), []))
    }

    func testExactMatch() throws {
        let p = ["Paris", "the cat.", "Answer: 42", "no"]
        let r = ["paris", "The cat", "Answer 41", "yes"]
        XCTAssertEqual(try ClassificationMetrics.exactMatch(predictions: p, references: r), 0)
        XCTAssertEqual(try ClassificationMetrics.exactMatch(predictions: p, references: r, ignoreCase: true), 0.25)
        XCTAssertEqual(try ClassificationMetrics.exactMatch(predictions: p, references: r, ignoreCase: true, ignorePunctuation: true), 0.5)
        XCTAssertEqual(try ClassificationMetrics.exactMatch(predictions: p, references: r, ignoreCase: true, ignorePunctuation: true,
                                                            ignoreNumbers: true), 0.75)
    }
}
