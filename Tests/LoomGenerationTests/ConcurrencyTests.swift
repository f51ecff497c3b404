import XCTest
import Dispatch
import LoomTestSupport
import LoomCore
import LoomModels
@testable import LoomGeneration

/// One model shared by several threads, each with its own context (and its own adapters): every
/// generation equals the same generation run serially. Cancelling from another thread leaves the
/// context usable. (Run 20 times in a row by scripts/stress.sh; under TSan by scripts/sanitize.sh.)
final class ConcurrencyTests: XCTestCase {
    static let tinyLlama = TestData.fixtures + "/tiny-llama"

    /// Job j of a thread: a prompt, sampling settings and an adapter choice that vary with j.
    struct Job {
        let prompt: [Int32]
        let params: GenerationParams
        let adapter: Int   // 0: none, 1: LoRA at 1, 2: LoRA at 0.5, 3: prefix tuning
    }

    static func jobs(count: Int, thread: Int, vocab: Int, tokens: Int) -> [Job] {
        (0..<count).map { j in
            let n = 3 + (j + thread) % 6
            let prompt = (0..<n).map { Int32((17 * (j + 1) + 31 * $0 + 7 * thread) % (vocab - 1) + 1) }
            var sampling = SamplingParams.greedy
            if j % 2 == 1 {
                sampling = SamplingParams(temperature: 0.8, topK: 40, topP: 0.95, seed: UInt64(1000 * thread + j))
            }
            return Job(prompt: prompt, params: GenerationParams(maxTokens: tokens, sampling: sampling), adapter: (j + thread) % 4)
        }
    }

    func run(_ job: Job, context: Context, adapters: [Adapter]) throws -> [Int32] {
        switch (job.adapter, adapters.count) {
        case (1, 1...): try context.setAdapters([(adapters[0], 1)])
        case (2, 1...): try context.setAdapters([(adapters[0], 0.5)])
        case (3, 2...): try context.setAdapters([(adapters[1], 1)])
        default: try context.setAdapters([])
        }
        context.clear()
        return try Generator.generate(context: context, prompt: job.prompt, params: job.params).ids
    }

    func threadsEqualSerial(model: Model, adapters: [Adapter], threads: Int, perThread: Int, tokens: Int) throws {
        let vocab = try model.tokenizer().vocabSize
        let work = (0..<threads).map { Self.jobs(count: perThread, thread: $0, vocab: vocab, tokens: tokens) }
        // Serial reference: one context.
        let serialContext = try Context(model: model, params: ContextParams(contextLength: 128, threads: 1))
        let serial = try work.map { try $0.map { try run($0, context: serialContext, adapters: adapters) } }
        // Concurrent: a context per thread, all on the one model.
        let results = UnsafeMutableBufferPointer<[[Int32]]?>.allocate(capacity: threads)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            do {
                let ctx = try Context(model: model, params: ContextParams(contextLength: 128, threads: 1))
                results[t] = try work[t].map { try run($0, context: ctx, adapters: adapters) }
            } catch {
                results[t] = nil
            }
        }
        var mismatches = 0
        for t in 0..<threads {
            guard let got = results[t] else { XCTFail("thread \(t) failed"); continue }
            for (j, ids) in got.enumerated() where ids != serial[t][j] { mismatches += 1 }
        }
        print("\(threads) threads × \(perThread) generations of \(tokens) tokens on '\(model.path)': \(mismatches) differ from the serial runs")
        XCTAssertEqual(mismatches, 0)
    }

    func testEightThreadsOnTinyLlamaEqualSerial() throws {
        let model = try Model.load(path: Self.tinyLlama)
        let adapters = [try Adapter.load(path: Self.tinyLlama + "/lora"), try Adapter.load(path: Self.tinyLlama + "/prefix-tuning")]
        try threadsEqualSerial(model: model, adapters: adapters, threads: 8, perThread: 50, tokens: 12)
    }

    func testTwoThreadsOnSmolLM2EqualSerial() throws {
        let model = try Model.load(path: try TestData.require(TestData.smollm2))
        try threadsEqualSerial(model: model, adapters: [], threads: 2, perThread: 5, tokens: 16)
    }

    /// Another thread raises the abort flag while a long prompt decodes: the decode stops with
    /// `.aborted`, and the context then gives a fresh context's logits.
    func testCancellationFromAnotherThreadLeavesTheContextUsable() throws {
        let model = try Model.load(path: Self.tinyLlama)
        let ctx = try Context(model: model, params: ContextParams(contextLength: 2048, batchSize: 64, threads: 1))
        final class Flags: @unchecked Sendable {
            let lock = Lock()
            var started = false, stop = false
        }
        let flags = Flags()
        ctx.shouldAbort = {
            flags.lock.withLock {
                flags.started = true
                return flags.stop
            }
        }
        let prompt = (0..<2000).map { Int32(1 + ($0 * 37) % 500) }
        DispatchQueue.global().async {
            while !flags.lock.withLock({ flags.started }) { usleep(100) }
            usleep(2000)
            flags.lock.withLock { flags.stop = true }
        }
        XCTAssertThrowsError(try ctx.decode(prompt)) { XCTAssertEqual(($0 as? LoomError)?.status, .aborted) }
        let kept = ctx.position
        print("cancelled from another thread after \(kept) of \(prompt.count) positions")
        XCTAssertLessThan(kept, prompt.count)
        ctx.shouldAbort = nil
        ctx.clear()
        try ctx.decode(Array(prompt.prefix(40)))
        let after = Array(try ctx.logits())
        let fresh = try Context(model: model, params: ContextParams(contextLength: 2048, batchSize: 64, threads: 1))
        try fresh.decode(Array(prompt.prefix(40)))
        XCTAssertEqual(after, Array(try fresh.logits()))
    }
}
