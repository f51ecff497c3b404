import LoomCore
import LoomFormats
import LoomGeneration
import XCTest

/// softmax(processor(input_ids, logits)) against HF transformers' processors
/// (Tests/Fixtures/sampling-refs.*, made by make_fixtures.py: 4 rows of randn·3 logits over 1000 tokens,
/// 12 previous ids per row).
final class SamplingReferenceTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    func testProcessorsMatchHF() throws {
        let refs = try SafetensorsFile(path: Self.fixtures + "/sampling-refs.safetensors")
        let logits = try refs.floats("logits")
        let inputIds = try refs.floats("input_ids")
        guard let shape = refs.tensor(named: "logits")?.shape, shape.count == 2,
              let idShape = refs.tensor(named: "input_ids")?.shape, idShape.count == 2 else {
            return XCTFail("unexpected fixture shapes")
        }
        let (rows, vocab, historyLength) = (shape[0], shape[1], idShape[1])
        let cases: [(String, () throws -> any LogitProcessor)] = [
            ("top_k_40", { try TopKWarper(40) }),
            ("top_k_1", { try TopKWarper(1) }),
            ("top_p_0.9", { try TopPWarper(0.9) }),
            ("top_p_0.5", { try TopPWarper(0.5) }),
            ("min_p_0.05", { try MinPWarper(0.05) }),
            ("temperature_0.7", { try TemperatureWarper(0.7) }),
            ("repetition_penalty_1.3", { try RepetitionPenaltyProcessor(penalty: 1.3) }),
            ("no_repeat_ngram_2", { try NoRepeatNGramProcessor(size: 2) }),
        ]
        for (name, make) in cases {
            let expected = try refs.floats(name)
            let chain = SamplerChain(processors: [try make()], selector: GreedySelector())
            var maxDiff: Float = 0
            var kept = [Int]()
            for r in 0..<rows {
                var row = Array(logits[r * vocab ..< (r + 1) * vocab])
                let history = inputIds[r * historyLength ..< (r + 1) * historyLength].map { Int32($0) }
                let probs = try row.withUnsafeMutableBufferPointer {
                    try chain.probabilities(logits: $0, history: history)
                }
                let ref = expected[r * vocab ..< (r + 1) * vocab]
                var mismatchedMask = 0
                for (p, q) in zip(probs, ref) {
                    maxDiff = max(maxDiff, abs(p - q))
                    if (p > 0) != (q > 0) { mismatchedMask += 1 }
                }
                XCTAssertEqual(mismatchedMask, 0, "\(name) row \(r): tokens masked differently from HF")
                kept.append(probs.filter { $0 > 0 }.count)
            }
            print("sampling-refs \(name): max |Δp| = \(maxDiff), tokens kept per row \(kept)")
            XCTAssertLessThanOrEqual(maxDiff, 1e-6, name)
        }
    }
}
