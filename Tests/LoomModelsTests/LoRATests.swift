import XCTest
import Dispatch
import LoomTestSupport
import LoomCore
import LoomFormats
@testable import LoomModels

/// LoRA applied at run time, per context, against PEFT (tiny-llama/peft-refs.*, copied from
/// ../shared/fixtures): max |Δlogit| ≤ 1e-4 for the PEFT folder on the HF base and on the f32 GGUF,
/// and for llama.cpp's GGUF adapter on the f32 GGUF; at scale 1 and 0.5.
final class LoRATests: XCTestCase {
    static let dir = TestData.fixtures + "/tiny-llama"

    func logits(_ ctx: Context, _ ids: [Int32]) throws -> [Float] {
        ctx.clear()
        try ctx.decode(ids, logits: .all)
        return ctx.withLogits { Array($0) }
    }

    func testRuntimeLoRAMatchesPEFT() throws {
        let json = try JSONParser.parse(try readWholeFile(Self.dir + "/peft-refs.json"))
        let ids = (json["lora"]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        let refs = try SafetensorsFile(path: Self.dir + "/peft-refs.safetensors")
        let extra = try SafetensorsFile(path: Self.dir + "/peft-extra-refs.safetensors")
        let full = try refs.floats("lora.logits"), half = try extra.floats("lora_scale_0.5.logits")
        let base = try refs.floats("merged.logits")   // only to show the adapter changes the logits
        for (model, adapter) in [("", "/lora"), ("/model.f32.gguf", "/lora"), ("/model.f32.gguf", "/lora/adapter.f32.gguf")] {
            let m = try Model.load(path: Self.dir + model)
            let lora = try Adapter.load(path: Self.dir + adapter)
            let ctx = try Context(model: m, params: ContextParams(contextLength: 64, threads: 2))
            let plain = try logits(ctx, ids)
            for (scale, want) in [(Float(1), full), (0.5, half)] {
                try ctx.setAdapters([(lora, scale)])
                let got = try logits(ctx, ids)
                let d = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
                print("LoRA \(adapter) on tiny-llama\(model.isEmpty ? " (HF)" : model) scale \(scale): max |Δlogit| \(d)")
                XCTAssertEqual(got.count, want.count)
                XCTAssertLessThanOrEqual(d, 1e-4)
            }
            // Greedy continuation with the adapter at full strength: PEFT's ids.
            try ctx.setAdapters([(lora, 1)])
            let want = (json["lora"]?["greedy"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            ctx.clear()
            try ctx.decode(ids)
            var greedy: [Int32] = []
            for _ in 0..<want.count {
                let row = try ctx.logits()
                var best = row.startIndex
                for j in row.indices where row[j] > row[best] { best = j }
                greedy.append(Int32(best - row.startIndex))
                try ctx.decode([greedy.last ?? 0])
            }
            XCTAssertEqual(greedy, want, "greedy ids with \(adapter)")
            try ctx.setAdapters([])
            XCTAssertEqual(try logits(ctx, ids), plain, "removing the adapter restores the base model")
            XCTAssertGreaterThan(zip(plain, full).map { abs($0 - $1) }.max() ?? 0, 1e-2)
            _ = base
        }
    }

    func testTwoContextsWithDifferentAdaptersFromTwoThreads() throws {
        let json = try JSONParser.parse(try readWholeFile(Self.dir + "/peft-refs.json"))
        let ids = (json["lora"]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        let extra = try SafetensorsFile(path: Self.dir + "/peft-extra-refs.safetensors")
        let refs = try SafetensorsFile(path: Self.dir + "/peft-refs.safetensors")
        let m = try Model.load(path: Self.dir)
        let lora = try Adapter.load(path: Self.dir + "/lora")
        let wants = [try refs.floats("lora.logits"), try extra.floats("lora_scale_0.5.logits")]
        let diffs = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2)
        defer { diffs.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do {
                let ctx = try Context(model: m, params: ContextParams(contextLength: 64, threads: 1))
                try ctx.setAdapters([(lora, i == 0 ? 1 : 0.5)])
                var worst: Float = 0
                for _ in 0..<5 {
                    let got = try logits(ctx, ids)
                    worst = max(worst, zip(got, wants[i]).map { abs($0 - $1) }.max() ?? .infinity)
                }
                diffs[i] = worst
            } catch { diffs[i] = .infinity }
        }
        print("two threads, two adapters: max |Δlogit| \(diffs[0]), \(diffs[1])")
        XCTAssertLessThanOrEqual(diffs[0], 1e-4)
        XCTAssertLessThanOrEqual(diffs[1], 1e-4)
    }

    /// PEFT (IA)³ (k, v outputs and the down projection's input scaled) on the HF base and the f32 GGUF.
    func testIA3MatchesPEFT() throws {
        let json = try JSONParser.parse(try readWholeFile(Self.dir + "/peft-refs.json"))
        let ids = (json["ia3"]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        let want = try SafetensorsFile(path: Self.dir + "/peft-extra-refs.safetensors").floats("ia3.logits")
        let ia3 = try Adapter.load(path: Self.dir + "/ia3")
        for model in ["", "/model.f32.gguf"] {
            let ctx = try Context(model: try Model.load(path: Self.dir + model), params: ContextParams(contextLength: 64, threads: 2))
            try ctx.setAdapters([(ia3, 1)])
            let got = try logits(ctx, ids)
            let d = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
            print("(IA)3 on tiny-llama\(model.isEmpty ? " (HF)" : model): max |Δlogit| \(d)")
            XCTAssertEqual(got.count, want.count)
            XCTAssertLessThanOrEqual(d, 1e-4)
        }
    }

    func testBadAdaptersAreRefused() throws {
        XCTAssertThrowsError(try Adapter.load(path: Self.dir + "/model.f32.gguf"))    // not an adapter
        XCTAssertThrowsError(try Adapter.load(path: Self.dir + "/missing"))
        let gpt2 = try Model.load(path: TestData.fixtures + "/tiny-gpt2")
        let ctx = try Context(model: gpt2, params: ContextParams(contextLength: 16))
        XCTAssertThrowsError(try ctx.setAdapters([(try Adapter.load(path: Self.dir + "/lora"), 1)]))
    }
}
