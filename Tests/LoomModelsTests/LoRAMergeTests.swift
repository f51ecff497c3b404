import XCTest
import Foundation
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomKernels
@testable import LoomModels

/// LoRA merged into the weights against PEFT's merge_and_unload (tiny-llama/peft-refs.*): merged
/// weights within 1e-6 of `merged.*`, logits within 1e-4 of `merged.logits`, unmerge restores the
/// weights within 1e-6; on the q8_0 base, merged (F32 tensors) and runtime application agree.
final class LoRAMergeTests: XCTestCase {
    static let dir = TestData.fixtures + "/tiny-llama"

    var ids: [Int32] {
        get throws {
            let json = try JSONParser.parse(try readWholeFile(Self.dir + "/peft-refs.json"))
            return (json["lora"]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        }
    }

    func logits(_ model: Model, adapters: [(Adapter, Float)] = []) throws -> [Float] {
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, threads: 2))
        try ctx.setAdapters(adapters.map { (adapter: $0.0, scale: $0.1) })
        try ctx.decode(try ids, logits: .all)
        return ctx.withLogits { Array($0) }
    }

    func rows(_ w: WeightMatrix) -> [Float] {
        var out = [Float](repeating: 0, count: w.rows * w.cols)
        out.withUnsafeMutableBufferPointer { b in
            for r in 0..<w.rows { w.dequantizeRow(r, into: b.baseAddress! + r * w.cols) }
        }
        return out
    }

    func allWeights(_ llama: LlamaModel) -> [[Float]] {
        (0..<llama.config.layerCount).flatMap { l in LoRATarget.allCases.map { rows(llama.weight(l, $0)) } }
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testMergeAndUnmergeMatchPEFT() throws {
        let refs = try SafetensorsFile(path: Self.dir + "/peft-refs.safetensors")
        let wantLogits = try refs.floats("merged.logits")
        let wantQ = try refs.floats("merged.model.layers.0.self_attn.q_proj.weight")      // [64, 64], rotate-half rows
        let wantDown = try refs.floats("merged.model.layers.1.mlp.down_proj.weight")      // [64, 160]
        for (base, adapterPath) in [("", "/lora"), ("/model.f32.gguf", "/lora"), ("/model.f32.gguf", "/lora/adapter.f32.gguf")] {
            let model = try Model.load(path: Self.dir + base)
            let llama = try XCTUnwrap(model.network as? LlamaModel)
            let adapter = try Adapter.load(path: Self.dir + adapterPath)
            let before = allWeights(llama)
            let plain = try logits(model)

            // Refused while a context is open.
            var ctx: Context? = try Context(model: model, params: ContextParams(contextLength: 16))
            XCTAssertThrowsError(try model.mergeLoRA(adapter)) { error in
                XCTAssertEqual((error as? LoomError)?.status, .invalidArgument)
            }
            XCTAssertNotNil(ctx)
            ctx = nil

            try model.mergeLoRA(adapter, scale: 1)
            XCTAssertEqual(model.mergedAdapters.count, 1)
            var q = rows(llama.weight(0, .q))
            if llama.config.ropeStyle == .interleaved {
                q = AppliedLoRA.reorderRoPERows(q, heads: llama.config.headCount, headDim: llama.config.headDim,
                                                rank: 64, to: .halves)
            }
            let dq = maxDiff(q, wantQ), dd = maxDiff(rows(llama.weight(1, .down)), wantDown)
            let merged = try logits(model)
            let dl = maxDiff(merged, wantLogits)
            print("merge \(adapterPath) into tiny-llama\(base.isEmpty ? " (HF)" : base): max |Δw| q \(dq), down \(dd); max |Δlogit| \(dl)")
            XCTAssertLessThanOrEqual(dq, 1e-6)
            XCTAssertLessThanOrEqual(dd, 1e-6)
            XCTAssertLessThanOrEqual(dl, 1e-4)

            try model.unmergeLoRA(adapter)
            XCTAssertTrue(model.mergedAdapters.isEmpty)
            let restored = zip(allWeights(llama), before).map { maxDiff($0, $1) }.max() ?? .infinity
            let dp = maxDiff(try logits(model), plain)
            print("  unmerged: max |Δw| from the original \(restored); max |Δlogit| from the base \(dp)")
            XCTAssertLessThanOrEqual(restored, 1e-6)
            XCTAssertLessThanOrEqual(dp, 1e-4)
            XCTAssertThrowsError(try model.unmergeLoRA(adapter), "not merged any more")
        }
    }

    /// Quantized base: the merged tensors become F32 (dequantized W + ΔW), so merged equals runtime
    /// application to rounding; unmerge restores the quantized tensors bit for bit.
    func testQuantizedBaseMergesIntoF32AndRestoresExactly() throws {
        let model = try Model.load(path: Self.dir + "/model.q8_0.gguf")
        let llama = try XCTUnwrap(model.network as? LlamaModel)
        let adapter = try Adapter.load(path: Self.dir + "/lora")
        let original = llama.weight(0, .q)
        XCTAssertEqual(original.type, .q8_0)
        let bytes = Array(UnsafeRawBufferPointer(start: original.data, count: original.rows * original.rowBytes))
        for scale: Float in [1, 0.5] {
            let runtime = try logits(model, adapters: [(adapter, scale)])
            try model.mergeLoRA(adapter, scale: scale)
            XCTAssertEqual(llama.weight(0, .q).type, .f32)
            let merged = try logits(model)
            let d = maxDiff(merged, runtime)
            print("q8_0 base, scale \(scale): merged vs runtime max |Δlogit| \(d)")
            XCTAssertLessThanOrEqual(d, 1e-4)
            try model.unmergeLoRA(adapter)
            let w = llama.weight(0, .q)
            XCTAssertEqual(w.type, .q8_0)
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: w.data, count: w.rows * w.rowBytes)), bytes)
        }
    }

    /// F16 base: merged in f32 and rounded once to f16 — within one f16 rounding of PEFT's f32 merge.
    func testF16BaseMergesWithOneRounding() throws {
        let model = try Model.load(path: Self.dir + "/model.f16.gguf")
        let llama = try XCTUnwrap(model.network as? LlamaModel)
        let adapter = try Adapter.load(path: Self.dir + "/lora")
        let wantDown = try SafetensorsFile(path: Self.dir + "/peft-refs.safetensors").floats("merged.model.layers.1.mlp.down_proj.weight")
        let runtime = try logits(model, adapters: [(adapter, 1)])
        let hfDown = rows(try XCTUnwrap(try Model.load(path: Self.dir).network as? LlamaModel).weight(1, .down))
        let baseDown = rows(llama.weight(1, .down))   // f16(W)
        try model.mergeLoRA(adapter)
        let down = llama.weight(1, .down)
        XCTAssertEqual(down.type, .f16)
        // f16(f16(W) + ΔW) differs from PEFT's W + ΔW by the base's own rounding |f16(W) − W| plus half
        // an f16 ulp of the result (2^-11 relative): nothing more.
        var worst: Float = 0
        for (i, (got, want)) in zip(rows(down), wantDown).enumerated() {
            let allowed = abs(baseDown[i] - hfDown[i]) + max(abs(want), abs(got)) * 0x1p-11 + 1e-7
            worst = max(worst, abs(got - want) / allowed)
        }
        let d = maxDiff(try logits(model), runtime)
        print("f16 base: merged down_proj error / (base rounding + half ulp) at most \(worst); merged vs runtime max |Δlogit| \(d)")
        XCTAssertLessThanOrEqual(worst, 1)
        XCTAssertLessThanOrEqual(d, 1e-2)
        try model.unmergeLoRA(adapter)
    }

    func testIA3MergeMatchesPEFT() throws {
        let json = try JSONParser.parse(try readWholeFile(Self.dir + "/peft-refs.json"))
        let ids = (json["ia3"]?["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
        XCTAssertEqual(ids, try self.ids)
        let want = try SafetensorsFile(path: Self.dir + "/peft-extra-refs.safetensors").floats("ia3.logits")
        for base in ["", "/model.f32.gguf"] {
            let model = try Model.load(path: Self.dir + base)
            let plain = try logits(model)
            let ia3 = try Adapter.load(path: Self.dir + "/ia3")
            try model.mergeLoRA(ia3)
            let d = maxDiff(try logits(model), want)
            try model.unmergeLoRA(ia3)
            let back = maxDiff(try logits(model), plain)
            print("(IA)3 merged into tiny-llama\(base.isEmpty ? " (HF)" : base): max |Δlogit| \(d); unmerged vs base \(back)")
            XCTAssertLessThanOrEqual(d, 1e-4)
            XCTAssertLessThanOrEqual(back, 1e-4)
        }
    }

    func testMergeRefusals() throws {
        let gpt2 = try Model.load(path: TestData.fixtures + "/tiny-gpt2")
        let adapter = try Adapter.load(path: Self.dir + "/lora")
        XCTAssertThrowsError(try gpt2.mergeLoRA(adapter))
        let model = try Model.load(path: Self.dir)
        XCTAssertThrowsError(try model.mergeLoRA(adapter, scale: .nan))
        XCTAssertThrowsError(try model.unmergeLoRA(adapter))
    }
}

/// Export of a merged model (loom_model_save): the GGUF loads again with the merged logits.
final class ModelExportTests: XCTestCase {
    static let dir = TestData.fixtures + "/tiny-llama"

    func testMergedExportLoadsWithMergedLogits() throws {
        let t = LoRAMergeTests(name: "helpers") { _ in }
        let want = try SafetensorsFile(path: Self.dir + "/peft-refs.safetensors").floats("merged.logits")
        let out = NSTemporaryDirectory() + "/loom-merged-\(getpid()).gguf"
        defer { unlink(out) }
        // Unchanged: byte-identical to the converter's file.
        let model = try Model.load(path: Self.dir + "/model.f32.gguf")
        try model.save(path: out)
        XCTAssertEqual(try readWholeFile(out, limit: 1 << 30), try readWholeFile(Self.dir + "/model.f32.gguf", limit: 1 << 30))
        // Merged: f32 base, and the q8_0 base whose merged weights are F32.
        for base in ["/model.f32.gguf", "/model.q8_0.gguf"] {
            let model = try Model.load(path: Self.dir + base)
            let adapter = try Adapter.load(path: Self.dir + "/lora")
            try model.mergeLoRA(adapter)
            let inMemory = try t.logits(model)
            try model.save(path: out)
            let saved = try Model.load(path: out)
            let got = try t.logits(saved)
            let dSelf = t.maxDiff(got, inMemory), dRef = t.maxDiff(got, want)
            print("merged \(base) saved and reloaded: max |Δlogit| vs in memory \(dSelf), vs PEFT merged.logits \(dRef)")
            XCTAssertEqual(dSelf, 0)
            if base == "/model.f32.gguf" { XCTAssertLessThanOrEqual(dRef, 1e-4) }
        }
        // HF base: converted as `loom convert` does, with the merged projections.
        let hf = try Model.load(path: Self.dir)
        try hf.mergeLoRA(try Adapter.load(path: Self.dir + "/lora"))
        try hf.save(path: out)
        let dHF = t.maxDiff(try t.logits(try Model.load(path: out)), want)
        print("merged HF folder saved as GGUF and reloaded: max |Δlogit| vs PEFT merged.logits \(dHF)")
        XCTAssertLessThanOrEqual(dHF, 1e-4)
    }
}
