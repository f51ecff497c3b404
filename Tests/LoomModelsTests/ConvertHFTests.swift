import Foundation
import LoomCore
import LoomFormats
@testable import LoomModels
import LoomTestSupport
import XCTest

/// `convertHF` (loom convert) on Tests/Fixtures/tiny-llama: the committed GGUF files were written by
/// llama.cpp's convert_hf_to_gguf.py from the same folder.
final class ConvertHFTests: XCTestCase {
    static let dir = TestData.fixtures + "/tiny-llama"

    private func temp(_ name: String) -> String { NSTemporaryDirectory() + "loom-convert-\(getpid())-\(name)" }

    func testTinyLlamaMatchesConvertHFToGGUF() throws {
        for type in ConvertType.allCases where type != .bf16 {
            let out = temp("\(type.rawValue).gguf")
            defer { unlink(out) }
            try convertHF(folder: Self.dir, output: out, type: type)
            let mine = try readWholeFile(out, limit: 1 << 30)
            let ref = try readWholeFile(Self.dir + "/model.\(type.rawValue).gguf", limit: 1 << 30)
            let firstDiff = zip(mine, ref).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            print("convert tiny-llama \(type.rawValue): \(mine.count) bytes (convert_hf_to_gguf: \(ref.count)), identical: \(mine == ref)"
                  + (firstDiff.map { ", first difference at byte \($0)" } ?? ""))
            XCTAssertEqual(mine, ref, "\(type.rawValue) differs from convert_hf_to_gguf.py's file")
        }
    }

    func testConvertedLogitsMatchHF() throws {
        let out = temp("logits.gguf")
        defer { unlink(out) }
        try convertHF(folder: Self.dir, output: out, type: .f32)
        let model = try Model.load(path: out)
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, threads: 2))
        let refs = try SafetensorsFile(path: Self.dir + "/refs.safetensors")
        let json = try JSONParser.parse(try readWholeFile(Self.dir + "/refs.json"))
        var worst: Float = 0
        for (i, p) in (json["prompts"]?.array ?? []).enumerated() {
            let ids = (p["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            ctx.clear()
            try ctx.decode(ids, logits: .all)
            let expected = try refs.floats("prompt\(i).logits")
            XCTAssertEqual(expected.count, ids.count * ctx.vocabSize)
            ctx.withLogits { got in
                for j in 0..<expected.count { worst = max(worst, abs(got[j] - expected[j])) }
            }
        }
        print("convert tiny-llama f32 -> Loom logits vs HF fp32: max|Δlogit| = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    func testRejectsWhatItCannotConvert() {
        XCTAssertThrowsError(try convertHF(folder: TestData.fixtures + "/tiny-bert", output: temp("x.gguf"), type: .f32))
        XCTAssertThrowsError(try convertHF(folder: TestData.fixtures + "/no-such-folder", output: temp("x.gguf"), type: .f32))
        XCTAssertEqual(ggufName(forHF: "model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight")
        XCTAssertNil(ggufName(forHF: "model.layers.x.self_attn.q_proj.weight"))
        XCTAssertEqual(sizeLabel(151_872), "152K")
        XCTAssertEqual(sizeLabel(134_515_008), "135M")
        XCTAssertEqual(sizeLabel(1_500_000_000), "1.5B")
    }
}
