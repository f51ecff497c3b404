import LoomCore
import LoomGeneration
import XCTest

/// Semantics the HF fixtures do not pin down: ties, penalties' details, edge cases, parameter validation.
final class SamplingBehaviourTests: XCTestCase {
    /// Runs one processor over `logits` and returns the result.
    private func apply(_ p: any LogitProcessor, _ logits: [Float], history: [Int32] = [], promptLength: Int? = nil) -> [Float] {
        var out = logits
        out.withUnsafeMutableBufferPointer { buf in
            history.withUnsafeBufferPointer { p.process(buf, context: LogitContext(history: $0, promptLength: promptLength)) }
        }
        return out
    }

    private func sample(_ chain: SamplerChain, _ logits: [Float], history: [Int32] = []) throws -> Int32 {
        var l = logits
        return try l.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: history) }
    }

    private func assertInvalid(_ what: String, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), what) { error in
            guard let e = error as? LoomError else { return XCTFail("\(what): not a LoomError: \(error)") }
            XCTAssertEqual(e.status, .invalidArgument, what)
            XCTAssertFalse(e.message.isEmpty, what)
        }
    }

    // MARK: greedy

    func testGreedyTiesGoToTheLowestId() throws {
        let chain = try SamplerChain(.greedy)
        XCTAssertEqual(try sample(chain, [0, 5, 1, 5, 5]), 1)
        XCTAssertEqual(try sample(chain, [7, 7, 7]), 0)
        XCTAssertEqual(try sample(chain, [.nan, -1, .nan, 3, 3]), 3, "NaN is ignored")
        XCTAssertEqual(try sample(chain, [-.infinity, -.infinity, -5]), 2)
        XCTAssertEqual(try sample(chain, [1, .infinity, .infinity]), 1)
        XCTAssertEqual(GreedySelector().select(UnsafeBufferPointer(start: nil, count: 0)), nil)
    }

    func testGreedyAppliesPenaltiesButNotWarpers() throws {
        let chain = try SamplerChain(SamplingParams(temperature: 0, topK: 1, repetitionPenalty: 2))
        XCTAssertEqual(chain.processors.count, 1)
        XCTAssert(chain.processors.first is RepetitionPenaltyProcessor)
        XCTAssert(chain.selector is GreedySelector)
        // Token 0 (logit 3 → 1.5 after the penalty) loses to token 1 (2).
        XCTAssertEqual(try sample(chain, [3, 2, 0], history: [0, 0]), 1)
    }

    func testDefaultChainOrderIsHF() throws {
        let chain = try SamplerChain(SamplingParams(temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, repetitionPenalty: 1.1,
                                                    frequencyPenalty: 0.5, presencePenalty: 0.5, noRepeatNGramSize: 3, seed: 1))
        let kinds = chain.processors.map { String(describing: type(of: $0)) }
        XCTAssertEqual(kinds, ["RepetitionPenaltyProcessor", "FrequencyPresencePenaltyProcessor", "NoRepeatNGramProcessor",
                               "TemperatureWarper", "TopKWarper", "TopPWarper", "MinPWarper"])
        XCTAssert(chain.selector is DistributionSelector)
        XCTAssertEqual(chain.seed, 1)
        XCTAssertEqual(try SamplerChain(SamplingParams()).processors.count, 0, "defaults: plain softmax sampling")
    }

    // MARK: warpers

    func testTopKKeepsTiesOfTheKthValue() throws {
        let out = apply(try TopKWarper(2), [1, 3, 3, 2, 3, 0])
        XCTAssertEqual(out, [-.infinity, 3, 3, -.infinity, 3, -.infinity])
        let one = apply(try TopKWarper(1), [4, 1, 4])
        XCTAssertEqual(one, [4, -.infinity, 4])
        XCTAssertEqual(apply(try TopKWarper(10), [1, 2, 3]), [1, 2, 3], "k >= vocabulary keeps everything")
    }

    func testTopKMatchesSortingForEveryK() throws {
        var g = Xoshiro256StarStar(seed: 9)
        for n in [1, 2, 7, 64, 301] {
            // Few distinct values, so ties are common.
            let logits = (0..<n).map { _ in Float(Int(g.nextUnitDouble() * 20)) }
            let sorted = logits.sorted(by: >)
            for k in 1...n {
                let out = apply(try TopKWarper(k), logits)
                let kth = sorted[k - 1]
                XCTAssertEqual(out, logits.map { $0 < kth ? -.infinity : $0 }, "n \(n) k \(k)")
            }
        }
    }

    /// HF's TopPLogitsWarper transcribed literally (full ascending sort, softmax, cumulative sum).
    private func referenceTopP(_ logits: [Float], _ p: Double) -> [Float] {
        let order = logits.indices.sorted { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }
        let m = logits.max() ?? 0
        let e = order.map { logits[$0] == -.infinity ? 0 : exp(Double(logits[$0] - m)) }
        let s = e.reduce(0, +)
        var cum = 0.0
        var out = logits
        for (rank, i) in order.enumerated() {
            cum += e[rank] / s
            if Float(cum) <= Float(1 - p) && rank != order.count - 1 { out[i] = -.infinity }
        }
        return out
    }

    func testTopPMatchesAFullSort() throws {
        var g = Xoshiro256StarStar(seed: 11)
        var maskedSome = 0
        for trial in 0..<200 {
            let n = 1 + trial % 97 * 5
            var logits = (0..<n).map { _ in Float(g.nextUnitDouble() * 12 - 6) }
            if trial % 3 == 0 { logits = apply(try TopKWarper(max(1, n / 4)), logits) }
            let p = [0.1, 0.5, 0.9, 0.95, 0.999, 1.0][trial % 6]
            let ours = apply(try TopPWarper(p), logits)
            let ref = referenceTopP(logits, p)
            XCTAssertEqual(ours.map { $0 == -.infinity }, ref.map { $0 == -.infinity }, "trial \(trial) n \(n) p \(p)")
            if ours.contains(-.infinity) { maskedSome += 1 }
        }
        XCTAssertGreaterThan(maskedSome, 100)
        // The most probable token always survives; with min tokens to keep, that many do.
        XCTAssertEqual(apply(try TopPWarper(0.01), [0, 10, 1]), [-.infinity, 10, -.infinity])
        XCTAssertEqual(apply(try TopPWarper(0.01, minTokensToKeep: 2), [0, 10, 1]), [-.infinity, 10, 1])
    }

    func testMinP() throws {
        // p_i / p_max = exp(x_i − x_max): exp(-1) = 0.37, exp(-3) = 0.05, exp(-4) = 0.018.
        XCTAssertEqual(apply(try MinPWarper(0.1), [5, 4, 2, 1]), [5, 4, -.infinity, -.infinity])
        XCTAssertEqual(apply(try MinPWarper(0.5, minTokensToKeep: 3), [5, 4, 2, 1]), [5, 4, 2, -.infinity])
        XCTAssertEqual(apply(try MinPWarper(0), [5, -50]), [5, -50])
    }

    func testTemperature() throws {
        XCTAssertEqual(apply(try TemperatureWarper(0.5), [1, -2, -.infinity]), [2, -4, -.infinity])
    }

    // MARK: penalties

    func testRepetitionPenaltyOncePerDistinctId() throws {
        let p = try RepetitionPenaltyProcessor(penalty: 2)
        // Token 1 occurs three times: penalised once. Negative logits are multiplied. Ids out of range ignored.
        let out = apply(p, [4, 4, -3, 0, 1], history: [1, 1, 2, 1, 3, -7, 99])
        XCTAssertEqual(out, [4, 2, -6, 0, 1])
        // Applying again to fresh logits gives the same result (the scratch marks were cleared).
        XCTAssertEqual(apply(p, [4, 4, -3, 0, 1], history: [1, 1, 2, 1, 3]), [4, 2, -6, 0, 1])
        // Window of the last 2 tokens; and leaving the prompt out.
        XCTAssertEqual(apply(try RepetitionPenaltyProcessor(penalty: 2, lastN: 2), [4, 4, 4, 4], history: [0, 1, 2, 3]), [4, 4, 2, 2])
        XCTAssertEqual(apply(try RepetitionPenaltyProcessor(penalty: 2, includePrompt: false), [4, 4, 4, 4],
                             history: [0, 1, 2, 3], promptLength: 3), [4, 4, 4, 2])
    }

    func testFrequencyAndPresencePenalties() throws {
        let p = try FrequencyPresencePenaltyProcessor(frequencyPenalty: 0.5, presencePenalty: 1)
        // Token 0: 3 times → 10 − 1.5 − 1; token 2: once → 10 − 0.5 − 1; token 1 unseen.
        XCTAssertEqual(apply(p, [10, 10, 10], history: [0, 2, 0, 0]), [7.5, 10, 8.5])
        XCTAssertEqual(apply(p, [10, 10, 10], history: [0]), [8.5, 10, 10], "counts are cleared between calls")
        let windowed = try FrequencyPresencePenaltyProcessor(frequencyPenalty: 1, presencePenalty: 0, lastN: 2)
        XCTAssertEqual(apply(windowed, [10, 10, 10], history: [0, 0, 0, 1, 0]), [9, 9, 10])
    }

    func testNoRepeatNGram() throws {
        // History … 5 6 … 5: the bigram (5, 6) exists, so 6 is banned after 5; (5, 7) too.
        let p = try NoRepeatNGramProcessor(size: 2)
        XCTAssertEqual(apply(p, [Float](repeating: 1, count: 8), history: [5, 6, 1, 5, 7, 5]),
                       [1, 1, 1, 1, 1, 1, -.infinity, -.infinity])
        XCTAssertEqual(apply(try NoRepeatNGramProcessor(size: 3), [1, 1, 1, 1], history: [0, 1, 2, 0, 1]),
                       [1, 1, -.infinity, 1])
        XCTAssertEqual(apply(try NoRepeatNGramProcessor(size: 1), [1, 1, 1], history: [2]), [1, 1, -.infinity])
        XCTAssertEqual(apply(p, [1, 1], history: [0]), [1, 1], "shorter than n: nothing banned")
    }

    func testCallbackProcessorAndExplicitComposition() throws {
        // A logit bias as a user callback, before greedy.
        let bias = LogitCallbackProcessor { logits, context in
            logits[2] += 10
            XCTAssertEqual(context.generatedCount, 1)
        }
        let chain = SamplerChain(processors: [bias], selector: GreedySelector())
        var l: [Float] = [3, 2, 1]
        let t = try l.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: [0, 1], promptLength: 1) }
        XCTAssertEqual(t, 2)
    }

    // MARK: edge cases and validation

    func testNothingToSampleThrows() throws {
        let chain = try SamplerChain(SamplingParams(seed: 1))
        assertInvalid("all -inf") { _ = try self.sample(chain, [-.infinity, -.infinity]) }
        assertInvalid("all NaN") { _ = try self.sample(chain, [.nan, .nan]) }
        assertInvalid("empty") { _ = try self.sample(chain, []) }
        assertInvalid("greedy all -inf") { _ = try self.sample(try SamplerChain(.greedy), [-.infinity]) }
        assertInvalid("prompt longer than history") {
            var l: [Float] = [1, 2]
            _ = try l.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: [0], promptLength: 2) }
        }
        // NaN logits are never drawn; a single finite token is always drawn.
        for _ in 0..<100 { XCTAssertEqual(try sample(chain, [.nan, -.infinity, 0.5, .nan]), 2) }
        // +inf logits share the mass.
        for _ in 0..<100 { XCTAssertNotEqual(try sample(chain, [.infinity, 100, .infinity]), 1) }
    }

    func testParameterValidation() throws {
        let bad: [(String, SamplingParams)] = [
            ("negative temperature", SamplingParams(temperature: -0.1)),
            ("NaN temperature", SamplingParams(temperature: .nan)),
            ("infinite temperature", SamplingParams(temperature: .infinity)),
            ("negative top-k", SamplingParams(topK: -1)),
            ("top-p 0", SamplingParams(topP: 0)),
            ("top-p > 1", SamplingParams(topP: 1.5)),
            ("NaN top-p", SamplingParams(topP: .nan)),
            ("negative min-p", SamplingParams(minP: -0.1)),
            ("min-p > 1", SamplingParams(minP: 2)),
            ("NaN min-p", SamplingParams(minP: .nan)),
            ("repetition penalty 0", SamplingParams(repetitionPenalty: 0)),
            ("negative repetition penalty", SamplingParams(repetitionPenalty: -1)),
            ("NaN repetition penalty", SamplingParams(repetitionPenalty: .nan)),
            ("infinite frequency penalty", SamplingParams(frequencyPenalty: .infinity)),
            ("NaN presence penalty", SamplingParams(presencePenalty: .nan)),
            ("penalty window -2", SamplingParams(penaltyLastN: -2)),
            ("negative n-gram size", SamplingParams(noRepeatNGramSize: -1)),
        ]
        for (what, params) in bad {
            assertInvalid(what) { _ = try SamplerChain(params) }
        }
        assertInvalid("TemperatureWarper(0)") { _ = try TemperatureWarper(0) }
        assertInvalid("TemperatureWarper(1e-50) underflows f32") { _ = try TemperatureWarper(1e-50) }
        assertInvalid("TopKWarper(0)") { _ = try TopKWarper(0) }
        assertInvalid("TopPWarper(0)") { _ = try TopPWarper(0) }
        assertInvalid("TopPWarper min keep 0") { _ = try TopPWarper(0.5, minTokensToKeep: 0) }
        assertInvalid("MinPWarper(1.01)") { _ = try MinPWarper(1.01) }
        assertInvalid("RepetitionPenaltyProcessor(inf)") { _ = try RepetitionPenaltyProcessor(penalty: .infinity) }
        assertInvalid("NoRepeatNGramProcessor(0)") { _ = try NoRepeatNGramProcessor(size: 0) }
        // Edge values that are valid.
        XCTAssertNoThrow(try SamplerChain(SamplingParams(temperature: 0, topP: 1, minP: 1, penaltyLastN: 0)))
        XCTAssertNoThrow(try SamplerChain(SamplingParams(temperature: 100, topK: 1_000_000, topP: 1e-9, minP: 0)))
    }

    /// A 49 152-token vocabulary (SmolLM2's) through a typical chain: prints the time per token.
    func testLargeVocabularyChain() throws {
        let vocab = 49_152
        var g = Xoshiro256StarStar(seed: 3)
        let base = (0..<vocab).map { _ in Float(g.nextUnitDouble() * 20 - 10) }
        var history = (0..<256).map { _ in Int32(truncatingIfNeeded: g.next() % UInt64(vocab)) }
        for (name, params) in [
            ("temp 0.8, top-k 40, top-p 0.95", SamplingParams(temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 5)),
            ("temp 0.8, top-p 0.95, min-p 0.05", SamplingParams(temperature: 0.8, topP: 0.95, minP: 0.05, seed: 5)),
            ("temp 1, top-k 45000", SamplingParams(topK: 45_000, seed: 5)),
        ] {
            let chain = try SamplerChain(params)
            let steps = 20
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps {
                var logits = base
                let t = try logits.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: history) }
                XCTAssert(t >= 0 && Int(t) < vocab)
                history.append(t)
            }
            let us = Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(steps)
            print(String(format: "sampling %@ over %d logits: %.0f µs per token (this build)", name, vocab, us))
        }
    }
}
