import XCTest
import Foundation
@testable import LoomGeneration

/// The processors added for HF parity (typical-p, logit bias, bad words, min_new_tokens) against
/// expectations computed by hand from HF's definitions.
final class ProcessorExpectationTests: XCTestCase {
    func run(_ p: any LogitProcessor, _ logits: [Float], history: [Int32] = [], promptLength: Int? = nil) -> [Float] {
        var l = logits
        history.withUnsafeBufferPointer { h in
            l.withUnsafeMutableBufferPointer { p.process($0, context: LogitContext(history: h, promptLength: promptLength)) }
        }
        return l
    }

    func testTypicalPKeepsTheTokensClosestToTheEntropy() throws {
        // p = 0.5, 0.3, 0.15, 0.05: entropy 1.1421 nats; |-log p - H| = 0.449, 0.062, 0.755, 1.854, so the
        // typical order is 0.3, 0.5, 0.15, 0.05 with cumulative mass 0.3, 0.8, 0.95, 1.0.
        let logits = [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) }
        let inf = -Float.infinity
        for (mass, kept) in [(0.2, [1]), (0.5, [0, 1]), (0.8, [0, 1]), (0.9, [0, 1, 2]), (0.99, [0, 1, 2, 3])] {
            let out = run(try TypicalPWarper(mass), logits)
            for i in 0..<4 {
                if kept.contains(i) { XCTAssertEqual(out[i], logits[i], "mass \(mass) token \(i)") }
                else { XCTAssertEqual(out[i], inf, "mass \(mass) token \(i)") }
            }
        }
        XCTAssertThrowsError(try TypicalPWarper(0))
        XCTAssertThrowsError(try TypicalPWarper(1))
        // Already masked tokens stay masked and do not count.
        let masked = run(try TypicalPWarper(0.5), [inf, Float(log(0.5)), Float(log(0.5))])
        XCTAssertEqual(masked[0], inf)
        XCTAssertEqual(masked.filter { $0 > inf }.count, 2)
    }

    func testLogitBiasAddsAndBans() throws {
        let out = run(try LogitBiasProcessor([0: 5, 2: -.infinity, 7: 1, -1: 3]), [0, 1, 2])
        XCTAssertEqual(out, [5, 1, -.infinity])
        XCTAssertThrowsError(try LogitBiasProcessor([0: .nan]))
        XCTAssertThrowsError(try LogitBiasProcessor([0: .infinity]))
    }

    func testBadWordsBanSingleTokensAlwaysAndSequencesAfterTheirPrefix() throws {
        let p = try BadWordsProcessor([[3], [1, 2], [4, 5, 6]])
        let inf = -Float.infinity
        XCTAssertEqual(run(p, [0, 0, 0, 0, 0, 0, 0], history: [9, 1]), [0, 0, inf, inf, 0, 0, 0])
        XCTAssertEqual(run(p, [0, 0, 0, 0, 0, 0, 0], history: [1, 9]), [0, 0, 0, inf, 0, 0, 0])
        XCTAssertEqual(run(p, [0, 0, 0, 0, 0, 0, 0], history: [4, 5]), [0, 0, 0, inf, 0, 0, inf])
        XCTAssertEqual(run(p, [0, 0, 0, 0, 0, 0, 0], history: []), [0, 0, 0, inf, 0, 0, 0])
        XCTAssertThrowsError(try BadWordsProcessor([[]]))
    }

    func testMinNewTokensBansEndTokensUntilReached() throws {
        let p = try MinNewTokensProcessor(minNewTokens: 2, endTokens: [0, 3])
        let inf = -Float.infinity
        XCTAssertEqual(run(p, [1, 1, 1, 1], history: [7, 7, 7, 7, 8], promptLength: 4), [inf, 1, 1, inf])
        XCTAssertEqual(run(p, [1, 1, 1, 1], history: [7, 7, 7, 7, 8, 8], promptLength: 4), [1, 1, 1, 1])
    }

    func testChainOrderFollowsHF() throws {
        var params = SamplingParams(temperature: 0.5, topK: 3, noRepeatNGramSize: 2)
        params.logitBias = [1: 1]
        params.badWords = [[2]]
        params.minNewTokens = 1
        params.typicalP = 0.9
        let user = LogitCallbackProcessor { _, _ in }
        let chain = try SamplerChain(params, endTokens: [0], userProcessors: [user])
        let names = chain.processors.map { String(describing: type(of: $0)) }
        XCTAssertEqual(names, ["LogitBiasProcessor", "NoRepeatNGramProcessor", "BadWordsProcessor", "MinNewTokensProcessor",
                               "LogitCallbackProcessor", "TemperatureWarper", "TopKWarper", "TypicalPWarper"])
    }
}
