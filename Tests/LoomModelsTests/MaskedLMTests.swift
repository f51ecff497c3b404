import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomModels
import LoomTokenizers

/// The masked-LM entry behind `loom_mlm_logits` (EncoderModel.maskedLMLogits) against HF
/// BertForMaskedLM fp32 logits (tiny-bert).
final class MaskedLMTests: XCTestCase {
    static let tinyBert = TestData.fixtures + "/tiny-bert"

    func testTinyBertMaskedLMLogits() throws {
        let model = try Model.load(path: Self.tinyBert)
        let encoder = try XCTUnwrap(model.encoder)
        let refs = try SafetensorsFile(path: Self.tinyBert + "/refs.safetensors")
        let json = try JSONParser.parse(try readWholeFile(Self.tinyBert + "/refs.json"))
        let sentences = json["sentences"]?.array ?? []
        XCTAssertFalse(sentences.isEmpty)
        var worst: Float = 0
        for (i, s) in sentences.enumerated() {
            let ids = (s["masked_ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            let got = try encoder.maskedLMLogits(ids, threads: 2)
            let want = try refs.floats("sentence\(i).mlm_logits")
            XCTAssertEqual(got.count, want.count)
            XCTAssertEqual(got.count, ids.count * encoder.vocabSize)
            worst = max(worst, zip(got, want).reduce(0) { max($0, abs($1.0 - $1.1)) })
        }
        print("tiny-bert maskedLMLogits vs HF fp32: max|Δmlm_logit| = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    func testMaskTokenAndBadInputs() throws {
        let model = try Model.load(path: Self.tinyBert)
        XCTAssertEqual(try model.tokenizer().maskID, 4)   // tokenizer_config.json mask_token "[MASK]"
        let encoder = try XCTUnwrap(model.encoder)
        XCTAssertThrowsError(try encoder.maskedLMLogits([], threads: 1))
        XCTAssertThrowsError(try encoder.maskedLMLogits([2, -1, 3], threads: 1))
        XCTAssertThrowsError(try encoder.maskedLMLogits([2, 512, 3], threads: 1))
        XCTAssertThrowsError(try encoder.maskedLMLogits([Int32](repeating: 5, count: 129), threads: 1))
        XCTAssertThrowsError(try encoder.maskedLMLogits([2, 3], threads: 0))
        // llama.cpp's converter drops the head: unsupported, not a crash.
        let gguf = try XCTUnwrap(try Model.load(path: Self.tinyBert + "/model.f32.gguf").encoder)
        XCTAssertThrowsError(try gguf.maskedLMLogits([2, 4, 3], threads: 1)) { e in
            XCTAssertEqual((e as? LoomError)?.status, .unsupported)
        }
    }
}
