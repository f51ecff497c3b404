import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomModels
@testable import LoomEvaluation

final class PerplexityTests: XCTestCase {
    /// HF's sliding-window recipe: every token but the first is scored exactly once, with stride = ctx
    /// the first token of each window is skipped.
    func testWindowPlan() throws {
        for n in 2...40 {
            for ctx in 2...12 {
                for stride in 1...ctx {
                    let plan = try Perplexity.windows(tokenCount: n, windowLength: ctx, stride: stride)
                    var seen = [Int](repeating: 0, count: n)
                    for w in plan {
                        XCTAssertLessThanOrEqual(w.tokens.count, ctx)
                        XCTAssertGreaterThan(w.scored.lowerBound, w.tokens.lowerBound)
                        XCTAssertEqual(w.scored.upperBound, w.tokens.upperBound)
                        for i in w.scored { seen[i] += 1 }
                    }
                    XCTAssertEqual(seen[0], 0)
                    XCTAssertTrue(seen.allSatisfy { $0 <= 1 })
                    if stride < ctx { XCTAssertEqual(seen.dropFirst().filter { $0 == 1 }.count, n - 1, "n \(n) ctx \(ctx) stride \(stride)") }
                }
            }
        }
        let p = try Perplexity.windows(tokenCount: 10, windowLength: 4, stride: 4)
        XCTAssertEqual(p.map(\.scored), [1..<4, 5..<8, 9..<10])
        let q = try Perplexity.windows(tokenCount: 10, windowLength: 4, stride: 2)
        XCTAssertEqual(q.map(\.tokens), [0..<4, 2..<6, 4..<8, 6..<10])
        XCTAssertEqual(q.map(\.scored), [1..<4, 4..<6, 6..<8, 8..<10])
        XCTAssertThrowsError(try Perplexity.windows(tokenCount: 1, windowLength: 4, stride: 4))
        XCTAssertThrowsError(try Perplexity.windows(tokenCount: 10, windowLength: 4, stride: 5))
        XCTAssertThrowsError(try Perplexity.windows(tokenCount: 10, windowLength: 1, stride: 1))
    }

    /// tiny-llama: perplexity from Loom equals the one computed from HF's fp32 logits of the whole
    /// prompt (one window), and sliding windows equal a brute-force run of each window.
    func testTinyLlamaAgainstBruteForce() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/tiny-llama/refs.json"))
        let ref = try SafetensorsFile(path: TestData.fixtures + "/tiny-llama/refs.safetensors")
        let prompts = (json["prompts"]?.array ?? []).map { ($0["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) } }
        XCTAssertEqual(prompts.count, 2)
        for (i, ids) in prompts.enumerated() {
            let logits = try ref.floats("prompt\(i).logits")
            let v = logits.count / ids.count
            var nll = 0.0
            logits.withUnsafeBufferPointer { l in
                for t in 1..<ids.count {
                    nll -= LogSoftmax.logProbability(UnsafeBufferPointer(rebasing: l[((t - 1) * v)..<(t * v)]), token: Int(ids[t]))
                }
            }
            let expected = exp(nll / Double(ids.count - 1))
            let r = try Perplexity.compute(model: model, ids: ids, params: PerplexityParams(batchSize: 7, threads: 2))
            print("tiny-llama prompt\(i): Loom ppl \(r.perplexity), from HF fp32 logits \(expected)")
            XCTAssertEqual(r.tokenCount, ids.count - 1)
            XCTAssertEqual(r.windowCount, 1)
            XCTAssertEqual(r.perplexity, expected, accuracy: expected * 1e-5)

            // Sliding windows vs each window run on its own with every row's logits.
            for (ctxLen, stride) in [(8, 3), (8, 8), (10, 1), (5, 4)] {
                let got = try Perplexity.compute(model: model, ids: ids, params: PerplexityParams(windowLength: ctxLen, stride: stride, batchSize: 3, threads: 2))
                let ctx = try Context(model: model, params: ContextParams(contextLength: ctxLen, threads: 2))
                var sum = 0.0, count = 0
                for w in try Perplexity.windows(tokenCount: ids.count, windowLength: ctxLen, stride: stride) {
                    ctx.clear()
                    try ctx.decode(Array(ids[w.tokens]), logits: .all)
                    ctx.withLogits { l in
                        for t in w.scored {
                            let r = t - 1 - w.tokens.lowerBound
                            sum -= LogSoftmax.logProbability(UnsafeBufferPointer(rebasing: l[(r * v)..<((r + 1) * v)]), token: Int(ids[t]))
                            count += 1
                        }
                    }
                }
                XCTAssertEqual(got.tokenCount, count)
                XCTAssertEqual(got.nllSum, sum, accuracy: 1e-6 * abs(sum))
            }
        }
    }

    /// The acceptance figure: SmolLM2-135M-Instruct Q4_1 on the first 512 tokens of the Apache-2.0
    /// license, one window of 512, within 0.5% of the fp32 reference (15.826; llama.cpp: 15.871).
    func testSmolLM2AgainstFP32Reference() throws {
        let model = try Model.load(path: try TestData.require(TestData.smollm2))
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/real/smollm2-refs.json"))
        let ids = (json["perplexity"]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        let reference = json["perplexity"]?["ppl"]?.double ?? 0
        XCTAssertEqual(ids.count, 512)
        var calls = 0
        let r = try Perplexity.compute(model: model, ids: ids, params: PerplexityParams(windowLength: 512, threads: 2)) { _ in
            calls += 1
            return true
        }
        let rel = abs(r.perplexity - reference) / reference
        print("SmolLM2 Q4_1 perplexity (512 tokens, one window): \(r.perplexity) vs fp32 reference \(reference) (\(formatFixed(rel * 100, 3))%; llama.cpp 15.871), \(r.tokenCount) tokens scored")
        XCTAssertEqual(r.tokenCount, 511)
        XCTAssertGreaterThan(calls, 0)
        XCTAssertLessThanOrEqual(rel, 0.005)
        // Sliding windows of 256 every 128: more context per token than disjoint 256-token chunks.
        let s = try Perplexity.compute(model: model, ids: ids, params: PerplexityParams(windowLength: 256, stride: 128, threads: 2))
        print("SmolLM2 Q4_1 perplexity, ctx 256 stride 128: \(s.perplexity) over \(s.tokenCount) tokens in \(s.windowCount) windows")
        XCTAssertEqual(s.tokenCount, 511)
        XCTAssertEqual(s.perplexity, reference, accuracy: reference * 0.1)
        // The progress callback stops the work.
        XCTAssertThrowsError(try Perplexity.compute(model: model, ids: ids, params: PerplexityParams(windowLength: 128, threads: 2)) { _ in false }) {
            XCTAssertEqual(($0 as? LoomError)?.status, .aborted)
        }
    }
}
