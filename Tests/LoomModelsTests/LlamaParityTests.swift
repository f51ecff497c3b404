import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
@testable import LoomModels

/// Logits of Loom's llama forward pass against HF transformers' fp32 references.
final class LlamaParityTests: XCTestCase {
    struct Prompt {
        let ids: [Int32]
        let greedy: [Int32]
        let greedyRepetition: [Int32]
    }

    static func prompts() throws -> [Prompt] {
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/tiny-llama/refs.json"))
        return (json["prompts"]?.array ?? []).map { p in
            Prompt(ids: (p["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) },
                   greedy: (p["generate"]?["greedy"]?.array ?? []).compactMap { $0.int.map(Int32.init) },
                   greedyRepetition: (p["generate"]?["greedy_repetition_penalty_1.3"]?.array ?? []).compactMap { $0.int.map(Int32.init) })
        }
    }

    /// Max |Δ| between all-position logits of `model` and the reference arrays `key(i)`.
    func maxLogitDiff(model path: String, refs: String, key: (Int) -> String, threads: Int = 2) throws -> Float {
        let model = try Model.load(path: path)
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, threads: threads))
        let ref = try SafetensorsFile(path: refs)
        var worst: Float = 0
        for (i, p) in try Self.prompts().enumerated() {
            ctx.clear()
            try ctx.decode(p.ids, logits: .all)
            let expected = try ref.floats(key(i))
            XCTAssertEqual(expected.count, p.ids.count * ctx.vocabSize)
            ctx.withLogits { got in
                for j in 0..<expected.count { worst = max(worst, abs(got[j] - expected[j])) }
            }
        }
        return worst
    }

    func testTinyLlamaHFFolder() throws {
        let d = try maxLogitDiff(model: TestData.fixtures + "/tiny-llama", refs: TestData.fixtures + "/tiny-llama/refs.safetensors") { "prompt\($0).logits" }
        print("tiny-llama HF folder vs HF fp32: max|Δlogit| = \(d)")
        XCTAssertLessThanOrEqual(d, 1e-4)
    }

    func testTinyLlamaGGUF() throws {
        for threads in [1, 2, 3] {
            let d = try maxLogitDiff(model: TestData.fixtures + "/tiny-llama/model.f32.gguf", refs: TestData.fixtures + "/tiny-llama/refs.safetensors", key: { "prompt\($0).logits" }, threads: threads)
            print("tiny-llama f32 GGUF vs HF fp32 (\(threads) threads): max|Δlogit| = \(d)")
            XCTAssertLessThanOrEqual(d, 1e-4)
        }
    }

    func testTinyLlamaQuantizedGGUF() throws {
        for type in ["f16", "q8_0"] {
            let d = try maxLogitDiff(model: TestData.fixtures + "/tiny-llama/model.\(type).gguf", refs: TestData.fixtures + "/tiny-llama/gguf-refs.safetensors") { "\(type).prompt\($0).logits" }
            print("tiny-llama \(type) GGUF vs dequantized fp32 reference: max|Δlogit| = \(d)")
            XCTAssertLessThanOrEqual(d, 1e-4)
        }
    }

    /// Token-by-token decoding (the KV cache path) gives the same logits as one batch.
    func testIncrementalDecodeMatchesBatch() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, batchSize: 5, threads: 2))
        let p = try Self.prompts()[0]
        try ctx.decode(p.ids, logits: .all)
        let batch = ctx.withLogits { Array($0) }
        ctx.clear()
        var worst: Float = 0
        for (i, t) in p.ids.enumerated() {
            try ctx.decode([t], logits: .last)
            let row = try ctx.logits()
            for (j, v) in row.enumerated() { worst = max(worst, abs(v - batch[i * ctx.vocabSize + j])) }
        }
        print("token-by-token vs batched (n_batch 5): max|Δlogit| = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    func testBadInputs() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        XCTAssertThrowsError(try Context(model: model, params: ContextParams(threads: 0)))
        let ctx = try Context(model: model, params: ContextParams(contextLength: 8, threads: 1))
        XCTAssertThrowsError(try ctx.decode([1, 2, 3, 4, 5, 6, 7, 8, 9]))      // overflow
        XCTAssertThrowsError(try ctx.decode([-1]))
        XCTAssertThrowsError(try ctx.decode([100_000]))
        XCTAssertThrowsError(try ctx.decode([]))
        XCTAssertThrowsError(try ctx.decode([1], startPosition: 3))           // a hole in the cache
        XCTAssertThrowsError(try ctx.logits(row: 5))
        let vocabOnly = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf", params: ModelParams(vocabOnly: true))
        XCTAssertThrowsError(try Context(model: vocabOnly))
    }
}

/// The f16 KV cache option: half the memory, logits close to the f32 cache's, same greedy choices.
final class HalfKVCacheTests: XCTestCase {
    func testF16CacheStaysCloseToF32() throws {
        for path in ["/tiny-llama/model.f32.gguf", "/tiny-llama/model.q8_0.gguf"] {
            let model = try Model.load(path: TestData.fixtures + path)
            let exact = try Context(model: model, params: ContextParams(contextLength: 64, threads: 2))
            let half = try Context(model: model, params: ContextParams(contextLength: 64, threads: 2, kvType: .f16))
            XCTAssertEqual(half.cache.byteCount * 2, exact.cache.byteCount)
            var worst: Float = 0
            var sameTop1 = 0, rows = 0
            for p in try LlamaParityTests.prompts() {
                exact.clear(); half.clear()
                try exact.decode(p.ids, logits: .all)
                try half.decode(p.ids, logits: .all)
                let a = exact.withLogits { Array($0) }, b = half.withLogits { Array($0) }
                for j in 0..<a.count { worst = max(worst, abs(a[j] - b[j])) }
                let v = exact.vocabSize
                for r in 0..<p.ids.count {
                    let ra = a[(r * v)..<((r + 1) * v)], rb = b[(r * v)..<((r + 1) * v)]
                    if ra.firstIndex(of: ra.max()!) == rb.firstIndex(of: rb.max()!) { sameTop1 += 1 }
                    rows += 1
                }
            }
            print("f16 KV cache vs f32 (\(path)): max|Δlogit| = \(worst), top-1 identical \(sameTop1)/\(rows)")
            XCTAssertLessThanOrEqual(worst, 1e-2)
            XCTAssertEqual(sameTop1, rows)
        }
    }
}
