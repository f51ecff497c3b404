import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomModels
@testable import LoomGeneration

/// Several sequences in one context, state snapshots and abort: each gives exactly the tokens and
/// logits of the plain single-sequence run.
final class BatchAndStateTests: XCTestCase {
    static let tinyLlama = TestData.fixtures + "/tiny-llama"

    static func models() throws -> [(String, Model)] {
        var out = [("tiny-llama", try Model.load(path: tinyLlama)), ("tiny-gpt2", try Model.load(path: TestData.fixtures + "/tiny-gpt2"))]
        if let path = try? TestData.require(TestData.smollm2) { out.append(("SmolLM2", try Model.load(path: path))) }
        return out
    }

    static func prompts(_ model: Model) throws -> [[Int32]] {
        let tok = try model.tokenizer()
        return try ["The licenses for most software", "Hello, my name is", "In the beginning",
                    "Once upon a time there was a"].map { try tok.tokenize($0, addSpecial: true, parseSpecial: false) }
    }

    func testBatchedGreedyEqualsSeparateRuns() throws {
        for (name, model) in try Self.models() {
            let prompts = try Self.prompts(model)
            let params = GenerationParams(maxTokens: 24, sampling: .greedy)
            let batched = try Generator.generate(context: try Context(model: model, params: ContextParams(contextLength: 256, threads: 2)),
                                                 prompts: prompts, params: params)
            for (i, p) in prompts.enumerated() {
                let alone = try Generator.generate(context: try Context(model: model, params: ContextParams(contextLength: 256, threads: 2)),
                                                   prompt: p, params: params)
                XCTAssertEqual(batched[i].ids, alone.ids, "\(name) prompt \(i)")
                XCTAssertEqual(batched[i].finishReason, alone.finishReason, "\(name) prompt \(i)")
            }
            print("\(name): 4 prompts generated together = 4 separate greedy runs (\(batched.map(\.ids.count)) tokens)")
        }
    }

    func testSeededSamplingBatchEqualsSeparateRuns() throws {
        let model = try Model.load(path: Self.tinyLlama)
        let prompts = try Self.prompts(model)
        let params = GenerationParams(maxTokens: 16, sampling: SamplingParams(temperature: 0.9, topK: 40, seed: 7))
        let batched = try Generator.generate(context: try Context(model: model, params: ContextParams(contextLength: 128)),
                                             prompts: prompts, params: params)
        for (i, p) in prompts.enumerated() {
            let alone = try Generator.generate(context: try Context(model: model, params: ContextParams(contextLength: 128)),
                                               prompt: p, params: params)
            XCTAssertEqual(batched[i].ids, alone.ids)
        }
    }

    func testCopiedSequenceContinuesLikeTheOriginal() throws {
        let model = try Model.load(path: Self.tinyLlama)
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, maxSequences: 3))
        let prompt: [Int32] = [52, 440, 435, 83, 327, 285]
        try ctx.decode(prompt, sequence: 1)
        try ctx.copySequence(from: 1, to: 2)
        XCTAssertEqual(try ctx.cachedTokens(sequence: 2), prompt)
        try ctx.decode([SequenceInput(sequence: 1, tokens: [79]), SequenceInput(sequence: 2, tokens: [79])])
        XCTAssertEqual(Array(try ctx.logits(row: 0)), Array(try ctx.logits(row: 1)))
        try ctx.removeSequence(1)
        XCTAssertEqual(try ctx.position(sequence: 1), 0)
        XCTAssertEqual(try ctx.position(sequence: 2), prompt.count + 1)
        XCTAssertThrowsError(try ctx.decode([1], sequence: 3))
        XCTAssertThrowsError(try ctx.decode([SequenceInput(sequence: 0, tokens: [1]), SequenceInput(sequence: 0, tokens: [2])]))
    }

    /// Greedy continuation straight from the context's current logits, one decode per token.
    static func continueGreedy(_ ctx: Context, _ count: Int) throws -> [Int32] {
        var out: [Int32] = []
        for _ in 0..<count {
            let row = try ctx.logits()
            var best = row.startIndex
            for j in row.indices where row[j] > row[best] { best = j }
            let token = Int32(best - row.startIndex)
            out.append(token)
            try ctx.decode([token])
        }
        return out
    }

    func testSavedStateContinuesExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-state-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, model) in try Self.models() {
            for kv in [TensorType.f32, .f16] {
                let params = ContextParams(contextLength: 128, threads: 2, kvType: kv)
                let prompt = try Self.prompts(model)[0]
                let a = try Context(model: model, params: params)
                try a.decode(prompt)
                let snapshot = a.saveState()
                let file = dir.appendingPathComponent("\(name).state").path
                try a.saveState(toFile: file)
                let uninterrupted = try Self.continueGreedy(a, 20)

                let b = try Context(model: model, params: params)
                try b.decode([1, 2, 3])                       // something to overwrite
                try b.restoreState(snapshot)
                XCTAssertEqual(b.cachedTokens, prompt)
                XCTAssertEqual(try Self.continueGreedy(b, 20), uninterrupted, "\(name) \(kv.name) from memory")
                let c = try Context(model: model, params: params)
                try c.restoreState(fromFile: file)
                XCTAssertEqual(try Self.continueGreedy(c, 20), uninterrupted, "\(name) \(kv.name) from a file")
                print("\(name) KV \(kv.name): state of \(snapshot.count) bytes restored (memory and file) continues with the same 20 ids")

                // Damaged snapshots are refused and leave the context as it was.
                let before = c.cachedTokens
                for cut in [0, 7, 12, snapshot.count / 2, snapshot.count - 1] {
                    XCTAssertThrowsError(try c.restoreState(Array(snapshot[0..<cut])), "cut at \(cut)")
                }
                XCTAssertThrowsError(try c.restoreState(snapshot + [0]))
                XCTAssertEqual(c.cachedTokens, before)
                let other = try Context(model: model, params: ContextParams(contextLength: 128, threads: 2,
                                                                            kvType: kv == .f32 ? .f16 : .f32))
                XCTAssertThrowsError(try other.restoreState(snapshot))
            }
        }
    }

    func testAbortStopsALongPromptAndLeavesTheContextUsable() throws {
        for (name, model) in try Self.models() where name != "tiny-gpt2" {
            let ctx = try Context(model: model, params: ContextParams(contextLength: 1024, batchSize: 512, threads: 2))
            let vocab = Int32(ctx.vocabSize)
            let long = (0..<512).map { Int32(($0 * 7919 + 13) % Int(vocab - 1)) + 1 }
            var calls = 0
            ctx.shouldAbort = { calls += 1; return calls >= 2 }   // inside the second layer check
            XCTAssertThrowsError(try ctx.decode(long)) { e in
                XCTAssertEqual((e as? LoomError)?.status, .aborted)
            }
            XCTAssertLessThan(calls, ctx.network.layerCount + 1, "aborted within a layer of the request")
            XCTAssertEqual(ctx.position, 0, "the aborted batch is not committed")
            ctx.shouldAbort = nil
            ctx.clear()
            let probe = Array(long[0..<16])
            try ctx.decode(probe)
            let fresh = try Context(model: model, params: ContextParams(contextLength: 1024, batchSize: 512, threads: 2))
            try fresh.decode(probe)
            XCTAssertEqual(Array(try ctx.logits()), Array(try fresh.logits()), name)
            print("\(name): 512-token prompt aborted after \(calls) of \(ctx.network.layerCount) layer checks; the cleared context matches a fresh one exactly")
        }
    }
}
