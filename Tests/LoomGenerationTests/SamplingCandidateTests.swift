import LoomCore
import LoomGeneration
import XCTest

/// After a top-k, top-p or min-p the chain works on a list of the surviving ids instead of the whole
/// vocabulary. These tests check that this changes nothing: the chain's buffer equals the samplers run one by
/// one on the dense buffer, and greedy picks the same token.
final class SamplingCandidateTests: XCTestCase {
    private func dense(_ processors: [any LogitProcessor], _ logits: [Float], history: [Int32]) -> [Float] {
        var out = logits
        out.withUnsafeMutableBufferPointer { buf in
            history.withUnsafeBufferPointer { h in
                for p in processors { p.process(buf, context: LogitContext(history: h)) }
            }
        }
        return out
    }

    func testChainsMatchTheDenseSamplers() throws {
        var g = Xoshiro256StarStar(seed: 21)
        let noOp = LogitCallbackProcessor { _, _ in }
        // Each entry builds fresh samplers twice: one set for the chain, one for the dense reference.
        let chains: [(String, () throws -> [any LogitProcessor])] = [
            ("temp → top-k → top-p → min-p", { [try TemperatureWarper(0.7), try TopKWarper(50), try TopPWarper(0.9), try MinPWarper(0.05)] }),
            ("top-k → temp → top-p", { [try TopKWarper(100), try TemperatureWarper(1.3), try TopPWarper(0.8)] }),
            ("top-k → callback → top-p", { [try TopKWarper(30), noOp, try TopPWarper(0.5)] }),
            ("top-k → min-p keep 3", { [try TopKWarper(40), try MinPWarper(0.3, minTokensToKeep: 3)] }),
            ("top-k → top-p keep 5", { [try TopKWarper(20), try TopPWarper(0.3, minTokensToKeep: 5)] }),
            ("penalties around top-k", { [try RepetitionPenaltyProcessor(penalty: 1.5), try TopKWarper(60),
                                         try NoRepeatNGramProcessor(size: 2),
                                         try FrequencyPresencePenaltyProcessor(frequencyPenalty: 0.5, presencePenalty: 0.5),
                                         try TopPWarper(0.95)] }),
            ("top-p → min-p → temp", { [try TopPWarper(0.6), try MinPWarper(0.02), try TemperatureWarper(0.5)] }),
            ("min-p → top-k", { [try MinPWarper(0.2), try TopKWarper(5)] }),
        ]
        var listedSome = 0
        for trial in 0..<60 {
            let n = [1000, 2048, 4099, 49_152][trial % 4]
            let scale = [1.0, 3.0, 8.0][trial % 3]
            let logits = (0..<n).map { _ in Float((g.nextUnitDouble() * 2 - 1) * scale) }
            let history = (0..<40).map { _ in Int32(truncatingIfNeeded: g.next() % UInt64(n)) }
            for (name, make) in chains {
                let chain = SamplerChain(processors: try make(), selector: GreedySelector())
                var viaChain = logits
                let token = try viaChain.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: history) }
                let reference = dense(try make(), logits, history: history)
                XCTAssertEqual(viaChain, reference, "\(name), trial \(trial)")
                let greedy = reference.withUnsafeBufferPointer { GreedySelector().select($0) }
                XCTAssertEqual(token, greedy, "\(name), trial \(trial)")
                if reference.filter({ $0 > -.infinity }).count * 8 <= n { listedSome += 1 }
            }
        }
        XCTAssertGreaterThan(listedSome, 200, "most cases should take the candidate path")
    }

    /// The draw without any truncation (the dense path), 20 000 times over 50 tokens at temperature 1.5.
    func testDenseDrawFollowsTheDistribution() throws {
        var g = Xoshiro256StarStar(seed: 5)
        let logits = (0..<50).map { _ in Float(g.nextUnitDouble() * 4) }
        let chain = try SamplerChain(SamplingParams(temperature: 1.5, seed: 77))
        var scratch = logits
        let probs = try scratch.withUnsafeMutableBufferPointer { try chain.probabilities(logits: $0, history: []) }
        let draws = 20_000
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws {
            var l = logits
            counts[Int(try l.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: []) })] += 1
        }
        var chi2 = 0.0
        for i in 0..<logits.count {
            let e = Double(probs[i]) * Double(draws)
            XCTAssertGreaterThan(e, 5)
            chi2 += (Double(counts[i]) - e) * (Double(counts[i]) - e) / e
        }
        // df = 49; the α = 0.001 critical value is 85.35.
        print(String(format: "dense draw: chi-square over %d draws, 50 tokens: X² = %.2f (df 49, critical at α=0.001: 85.35)", draws, chi2))
        XCTAssertLessThan(chi2, 85.35)
    }
}
