import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
@testable import LoomModels

/// PEFT prompt tuning (virtual input embeddings) and prefix tuning (per-layer key/value prefixes) on
/// tiny-llama against PEFT (peft-refs.*): max |Δlogit| ≤ 1e-4 on the HF base and the f32 GGUF.
final class VirtualTokensTests: XCTestCase {
    static let dir = TestData.fixtures + "/tiny-llama"

    func reference(_ name: String) throws -> (ids: [Int32], logits: [Float]) {
        let json = try JSONParser.parse(try readWholeFile(Self.dir + "/peft-refs.json"))
        let ids = (json[name]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        return (ids, try SafetensorsFile(path: Self.dir + "/peft-refs.safetensors").floats(name + ".logits"))
    }

    func maxDiff(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testPromptTuningMatchesPEFT() throws {
        let (ids, want) = try reference("prompt_tuning")
        let adapter = try Adapter.load(path: Self.dir + "/prompt-tuning")
        XCTAssertEqual(adapter.kind, .promptTuning)
        for base in ["", "/model.f32.gguf"] {
            let ctx = try Context(model: try Model.load(path: Self.dir + base), params: ContextParams(contextLength: 64, threads: 2))
            try ctx.setAdapters([(adapter, 1)])
            XCTAssertEqual(ctx.virtualTokenCount, 4)
            let vocab = ctx.vocabSize
            // The 4 virtual positions, then the tokens after them.
            try ctx.decodeVirtualTokens(logits: .all)
            let virtualRows = ctx.withLogits { Array($0) }
            try ctx.decode(ids, logits: .all)
            let tokenRows = ctx.withLogits { Array($0) }
            let dv = maxDiff(virtualRows[...], want[0..<(4 * vocab)])
            let dt = maxDiff(tokenRows[...], want[(4 * vocab)...])
            XCTAssertEqual(ctx.position, 4 + ids.count)
            // A fresh sequence gets its virtual tokens by itself.
            ctx.clear()
            try ctx.decode(ids, logits: .all)
            let dFresh = maxDiff(ctx.withLogits { Array($0) }[...], want[(4 * vocab)...])
            print("prompt tuning on tiny-llama\(base.isEmpty ? " (HF)" : base): max |Δlogit| virtual rows \(dv), token rows \(dt), fresh sequence \(dFresh)")
            XCTAssertLessThanOrEqual(max(dv, dt, dFresh), 1e-4)
            XCTAssertEqual(Array(try ctx.cachedTokens(sequence: 0).prefix(4)), [-1, -2, -3, -4])
            // Restarting at position 0 redoes the virtual tokens; state round trip keeps them.
            let state = ctx.saveState()
            try ctx.decode(ids, startPosition: 0, logits: .all)
            XCTAssertLessThanOrEqual(maxDiff(ctx.withLogits { Array($0) }[...], want[(4 * vocab)...]), 1e-4)
            try ctx.restoreState(state)
            XCTAssertEqual(ctx.position, 4 + ids.count)
        }
    }

    func testPrefixTuningMatchesPEFT() throws {
        let (ids, want) = try reference("prefix_tuning")
        let adapter = try Adapter.load(path: Self.dir + "/prefix-tuning")
        XCTAssertEqual(adapter.kind, .prefixTuning)
        for base in ["", "/model.f32.gguf"] {
            let ctx = try Context(model: try Model.load(path: Self.dir + base), params: ContextParams(contextLength: 64, threads: 2))
            try ctx.setAdapters([(adapter, 1)])
            try ctx.decode(ids, logits: .all)
            let d = maxDiff(ctx.withLogits { Array($0) }[...], want[...])
            print("prefix tuning on tiny-llama\(base.isEmpty ? " (HF)" : base): max |Δlogit| \(d)")
            XCTAssertLessThanOrEqual(d, 1e-4)
            XCTAssertEqual(ctx.position, 4 + ids.count)
            XCTAssertThrowsError(try ctx.decodeVirtualTokens(logits: .all), "a prefix has no logits")
            // Removing the adapter: the base model again (after clearing).
            try ctx.setAdapters([])
            ctx.clear()
            try ctx.decode(ids, logits: .all)
            XCTAssertGreaterThan(maxDiff(ctx.withLogits { Array($0) }[...], want[...]), 1e-3)
        }
    }

    func testVirtualTokenAdaptersAreChecked() throws {
        let model = try Model.load(path: Self.dir)
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64))
        let prompt = try Adapter.load(path: Self.dir + "/prompt-tuning")
        let prefix = try Adapter.load(path: Self.dir + "/prefix-tuning")
        XCTAssertThrowsError(try ctx.setAdapters([(prompt, 1), (prefix, 1)]), "two virtual-token adapters")
        XCTAssertThrowsError(try ctx.setAdapters([(prompt, 0.5)]), "no strength")
        XCTAssertThrowsError(try model.mergeLoRA(prompt))
        XCTAssertThrowsError(try ctx.decodeVirtualTokens(), "no adapter set")
        // Virtual-token ids are never valid input.
        try ctx.setAdapters([(prompt, 1)])
        XCTAssertThrowsError(try ctx.decode([-1, 5]))
        // Prefix tuning of another shape (GPT-2 has other widths).
        let gpt2 = try Context(model: try Model.load(path: TestData.fixtures + "/tiny-gpt2"), params: ContextParams(contextLength: 16))
        XCTAssertThrowsError(try gpt2.setAdapters([(prefix, 1)]))
        XCTAssertThrowsError(try gpt2.setAdapters([(prompt, 1)]))
    }
}
