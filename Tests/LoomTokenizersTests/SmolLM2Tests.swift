import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// The real SmolLM2-135M-Instruct GGUF against llama.cpp's own tokenization of the same texts
/// (Tests/Fixtures/tokenizers/smollm2-llamacpp.json, from llama-cpp-python).
final class SmolLM2Tests: XCTestCase {
    static var modelPath: String { TestData.cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }

    func testMatchesLlamaCpp() throws {
        let path = try TestData.requireFile(Self.modelPath, fetch: "scripts/fetch-model.sh")
        let tok = try Tokenizer.load(path: path)
        XCTAssertEqual(tok.preTokenizerName, "smollm")
        let ref = try TestData.json(TestData.fixture("smollm2-llamacpp.json"))
        let cases = ref["tokenizer_cases"]?.array ?? []
        XCTAssertFalse(cases.isEmpty)
        var plain = 0, special = 0, roundTrips = 0
        for c in cases {
            guard let text = c["text"]?.string else { continue }
            let ids = try tok.tokenize(text, addSpecial: false, parseSpecial: false)
            let expected = [Int32](json: c["ids"])
            if ids == expected { plain += 1 } else { XCTFail("\(text.debugDescription): expected \(expected), got \(ids)") }
            let ids2 = try tok.tokenize(text, addSpecial: false, parseSpecial: true)
            let expected2 = [Int32](json: c["ids_parse_special"])
            if ids2 == expected2 { special += 1 } else { XCTFail("\(text.debugDescription) (parse special): expected \(expected2), got \(ids2)") }
            let back = try tok.detokenize(ids2, renderSpecial: true)
            if back == Array(text.utf8) { roundTrips += 1 } else {
                XCTFail("round trip of \(text.debugDescription) gave \(String(decoding: back, as: UTF8.self).debugDescription)")
            }
        }
        print("smollm2 cases: \(plain)/\(cases.count) identical (parse_special=false), \(special)/\(cases.count) identical (parse_special=true), \(roundTrips)/\(cases.count) round trips")
    }

    func testSpecialTokens() throws {
        let path = try TestData.requireFile(Self.modelPath, fetch: "scripts/fetch-model.sh")
        let tok = try Tokenizer.load(path: path)
        let imEnd = try XCTUnwrap(tok.tokenID(forText: "<|im_end|>"))
        let imStart = try XCTUnwrap(tok.tokenID(forText: "<|im_start|>"))
        let eot = try XCTUnwrap(tok.tokenID(forText: "<|endoftext|>"))
        XCTAssertTrue(tok.isEndOfGeneration(imEnd))
        XCTAssertTrue(tok.isEndOfGeneration(eot))
        XCTAssertFalse(tok.isEndOfGeneration(imStart))
        XCTAssertTrue(tok.isControl(imStart))
        XCTAssertNotNil(tok.eosID)
        XCTAssertTrue(tok.isEndOfGeneration(tok.eosID!))
        // parse_special decides whether "<|im_start|>" is one token or text.
        let withSpecial = try tok.tokenize("<|im_start|>user", addSpecial: false, parseSpecial: true)
        XCTAssertEqual(withSpecial.first, imStart)
        let asText = try tok.tokenize("<|im_start|>user", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(asText.contains(imStart))
        // renderSpecial drops control tokens' text.
        XCTAssertEqual(try tok.detokenize(withSpecial, renderSpecial: false), Array("user".utf8))
        XCTAssertEqual(try tok.tokenToPiece(imStart, renderSpecial: false), [])
        XCTAssertEqual(try tok.tokenToPiece(imStart, renderSpecial: true), Array("<|im_start|>".utf8))
        XCTAssertEqual(try tok.tokenText(imStart), "<|im_start|>")
        print("smollm2: vocab \(tok.vocabSize), bos \(tok.bosID.map(String.init) ?? "-"), eos \(tok.eosID.map(String.init) ?? "-"), eot \(tok.eotID.map(String.init) ?? "-"), addBOS \(tok.addBOS)")
    }
}
