import XCTest
import Foundation
import LoomTestSupport
import LoomCore
@testable import LoomModels

/// Sequence-classification heads against HF transformers' fp32 outputs: tiny-llama-reward
/// (LlamaForSequenceClassification, one label: a reward model) and tiny-bert-classifier
/// (BertForSequenceClassification, two labels).
final class SequenceClassificationTests: XCTestCase {
    struct Case {
        let text: String
        let ids: [Int32]
        let expected: [Float]
    }

    static func cases(_ folder: String, key: String) throws -> [Case] {
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/" + folder + "/refs.json"))
        return (json["cases"]?.array ?? []).map { c in
            let v = c[key]
            let expected = v?.array?.compactMap { $0.double.map(Float.init) } ?? [v?.double.map(Float.init) ?? .nan]
            return Case(text: c["text"]?.string ?? "", ids: (c["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) },
                        expected: expected)
        }
    }

    func maxDiff(_ got: [[Float]], _ cases: [Case]) -> Float {
        XCTAssertEqual(got.count, cases.count)
        var worst: Float = 0
        for (g, c) in zip(got, cases) {
            XCTAssertEqual(g.count, c.expected.count)
            for (a, b) in zip(g, c.expected) { worst = max(worst, abs(a - b)) }
        }
        return worst
    }

    func testRewardModelMatchesTransformers() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama-reward")
        let head = try XCTUnwrap(model.classifier)
        XCTAssertEqual(head.labelCount, 1)
        XCTAssertEqual(head.labels, ["LABEL_0"])
        XCTAssertEqual(head.readout, .lastToken(padID: 0))
        let cases = try Self.cases("tiny-llama-reward", key: "score")
        XCTAssertEqual(cases.count, 4)
        // The tokenizer gives the reference ids.
        XCTAssertEqual(try model.classificationIDs(cases.map(\.text)), cases.map(\.ids))
        let fromIDs = try model.classify(ids: cases.map(\.ids), threads: 2)
        let fromText = try model.classify(cases.map(\.text), params: ClassifyParams(threads: 2))
        let diff = maxDiff(fromIDs, cases)
        print("tiny-llama-reward: max |Δscore| = \(diff)")
        XCTAssertLessThanOrEqual(diff, 1e-4)
        XCTAssertEqual(fromIDs, fromText)
        XCTAssertEqual(try model.reward(cases.map(\.text), params: ClassifyParams(threads: 2)), fromIDs.map { $0[0] })
        // One at a time equals the batch (rows are independent), and small batches split rows.
        for (i, c) in cases.enumerated() {
            XCTAssertEqual(try model.classify(ids: [c.ids], threads: 1)[0][0], fromIDs[i][0], accuracy: 1e-5)
        }
        let pool = ThreadPool(threadCount: 2)
        let split = try Model.lastTokenStates(try XCTUnwrap(model.network), rows: cases.map(\.ids), pool: pool, batchTokens: 7)
        let whole = try Model.lastTokenStates(try XCTUnwrap(model.network), rows: cases.map(\.ids), pool: pool)
        XCTAssertEqual(split.count, whole.count)
        XCTAssertLessThanOrEqual(zip(split, whole).map { abs($0 - $1) }.max() ?? 1, 1e-5)
    }

    func testRewardReadsTheLastNonPadToken() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama-reward")
        let ids = try Self.cases("tiny-llama-reward", key: "score")[0].ids
        // Trailing pad tokens (id 0) do not change the reward: HF reads the last non-pad token.
        let plain = try model.classify(ids: [ids], threads: 1)[0][0]
        let padded = try model.classify(ids: [ids + [0, 0, 0]], threads: 1)[0][0]
        XCTAssertEqual(plain, padded, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(model.classifier).readoutIndex([0, 0]), 0)
        XCTAssertThrowsError(try model.classify(ids: [[5, 9999]]))
        XCTAssertThrowsError(try model.classify(ids: [[]]))
    }

    func testBertClassifierMatchesTransformers() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-bert-classifier")
        let head = try XCTUnwrap(model.classifier)
        XCTAssertEqual(head.labelCount, 2)
        XCTAssertEqual(head.labels, ["LABEL_0", "LABEL_1"])
        let cases = try Self.cases("tiny-bert-classifier", key: "logits")
        XCTAssertEqual(try model.classificationIDs(cases.map(\.text)), cases.map(\.ids))
        let got = try model.classify(cases.map(\.text), params: ClassifyParams(threads: 2))
        let diff = maxDiff(got, cases)
        print("tiny-bert-classifier: max |Δlogit| = \(diff)")
        XCTAssertLessThanOrEqual(diff, 1e-4)
        XCTAssertThrowsError(try model.reward(["x"]))   // two labels: not a reward model
    }

    func testModelsWithoutAHead() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama")
        XCTAssertNil(model.classifier)
        XCTAssertThrowsError(try model.classify(["hello"])) { e in
            XCTAssertEqual((e as? LoomError)?.status, .unsupported)
        }
    }
}
