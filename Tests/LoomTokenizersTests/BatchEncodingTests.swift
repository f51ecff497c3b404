import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// encodeBatch with truncation and padding against HF tokenizers' encode_batch
/// (scripts/gen-batch-encoding-refs.py), and tokenize left untouched by tokenizer.json settings.
final class BatchEncodingTests: XCTestCase {
    func check(_ name: String) throws {
        let refs = try TestData.json(TestData.fixture("batch-encoding-refs.json"))
        let texts = (refs["texts"]?.array ?? []).compactMap(\.string)
        let tok = try Tokenizer.load(path: TestData.fixture("\(name)/tokenizer.json"))
        var checked = 0, mismatched = 0
        for c in refs[name]?.array ?? [] {
            let s = c["setting"]
            let addSpecial = c["add_special"]?.bool ?? false
            var truncation: Truncation? = nil
            if let t = s?["truncation"], let n = t["max_length"]?.int {
                truncation = Truncation(maxLength: n, fromLeft: t["direction"]?.string == "left")
            }
            var padding: Padding? = nil
            if let p = s?["padding"] {
                padding = Padding(length: p["length"]?.int.map { .fixed($0) } ?? .longest,
                                  multipleOf: p["pad_to_multiple_of"]?.int, padID: 0, left: p["direction"]?.string == "left")
            }
            for threads in [1, 3] {
                let got = try tok.encodeBatch(texts, addSpecial: addSpecial, truncation: truncation, padding: padding,
                                              threads: threads)
                let ids = (c["ids"]?.array ?? []).map { [Int32](json: $0) }
                let mask = (c["attention_mask"]?.array ?? []).map { [Int32](json: $0).map { UInt8($0) } }
                checked += 1
                if got.ids != ids || got.attentionMask != mask {
                    mismatched += 1
                    XCTFail("\(name) \(s?["name"]?.string ?? "?") add_special=\(addSpecial) threads=\(threads):\n  expected \(ids)\n  got      \(got.ids)")
                }
            }
        }
        print("batch encoding \(name): \(checked - mismatched)/\(checked) settings identical to HF encode_batch")
        XCTAssertGreaterThan(checked, 0)
    }

    func testTinyLlamaBPE() throws { try check("tiny-llama") }
    func testTinyBertWordPiece() throws { try check("tiny-bert") }

    func testBadSettingsThrow() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("tiny-llama/tokenizer.json"))
        XCTAssertThrowsError(try tok.encodeBatch(["a"], padding: Padding(padID: -5)))
        XCTAssertThrowsError(try tok.encodeBatch(["a"], truncation: Truncation(maxLength: -1)))
        XCTAssertThrowsError(try tok.encodeBatch(["a"], padding: Padding(length: .fixed(-2), padID: 0)))
        XCTAssertEqual(try tok.encodeBatch([]).ids, [])
    }
}
