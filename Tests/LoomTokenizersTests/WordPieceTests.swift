import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// WordPiece, WordLevel and character-level tokenizers against their references: HF tokenizers
/// 0.23.3 for tokenizer.json (tiny-bert, wordlevel, charlevel, all-MiniLM-L6-v2) and llama.cpp
/// (llama-cpp-python 0.3.36) for GGUF "bert" (bert-bge).
final class WordPieceTests: XCTestCase {
    static let miniLMFolder = TestData.cache + "/models/all-MiniLM-L6-v2"
    static let bertBGE = TestData.cache + "/vocab-suite/ggml-vocab-bert-bge.gguf"

    /// Runs a `*.tokenizer-cases.json` file (text, ids, tokens, decoded) against `tok`.
    func runCases(_ name: String, _ tok: Tokenizer, file: String) throws {
        let ref = try TestData.json(TestData.fixture(file))
        let addSpecial = ref["add_special_tokens"]?.bool ?? false
        let cases = ref["cases"]?.array ?? []
        XCTAssertFalse(cases.isEmpty, file)
        var same = 0, tokensSame = 0, decoded = 0, withDecoded = 0
        var mismatches = 0
        for c in cases {
            guard let text = c["text"]?.string else { continue }
            let expected = [Int32](json: c["ids"])
            let ids = try tok.tokenize(text, addSpecial: addSpecial, parseSpecial: true)
            if ids == expected {
                same += 1
            } else {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(name) \(text.debugDescription):\n  expected \(expected)\n  got      \(ids)") }
            }
            if let tokens = c["tokens"]?.array?.compactMap(\.string) {
                if try ids.map({ try tok.tokenText($0) }) == tokens { tokensSame += 1 } else { XCTFail("\(name) \(text.debugDescription): token texts differ") }
            }
            if let want = c["decoded"]?.string {
                withDecoded += 1
                let back = try tok.decode(expected, renderSpecial: true)
                if back == want { decoded += 1 } else { XCTFail("\(name) decode of \(text.debugDescription): expected \(want.debugDescription), got \(back.debugDescription)") }
            }
        }
        print("\(name): \(same)/\(cases.count) ids identical, \(tokensSame)/\(cases.count) token texts, \(decoded)/\(withDecoded) decoded")
    }

    // MARK: tokenizer.json

    func testTinyBertWordPieceCases() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("tiny-bert/tokenizer.json"))
        try runCases("wordpiece (tiny-bert)", tok, file: "wordpiece.tokenizer-cases.json")
        XCTAssertEqual(tok.bosID, 2)
        XCTAssertEqual(tok.eosID, 3)
        XCTAssertEqual(tok.unkID, 1)
    }

    func testWordLevelCases() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("wordlevel/tokenizer.json"))
        try runCases("wordlevel", tok, file: "wordlevel.tokenizer-cases.json")
    }

    func testCharacterLevelCases() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("charlevel/tokenizer.json"))
        try runCases("charlevel", tok, file: "charlevel.tokenizer-cases.json")
        // The Fuse decoder gives the text back where every character is known.
        let ids = try tok.tokenize("Hello world", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(try tok.decode(ids, renderSpecial: true), "Hello world")
    }

    func testMiniLMReferences() throws {
        _ = try TestData.requireFile(Self.miniLMFolder + "/tokenizer.json", fetch: "scripts/fetch-model.sh")
        let tok = try Tokenizer.load(path: Self.miniLMFolder)
        let ref = try TestData.json(TestData.fixture("minilm-refs.json"))
        var same = 0, total = 0
        for key in ["sentences", "tokenizer_cases"] {
            for c in ref[key]?.array ?? [] {
                guard let text = c["text"]?.string else { continue }
                total += 1
                let expected = [Int32](json: c["ids"])
                // HF's encode always matches added tokens.
                let ids = try tok.tokenize(text, addSpecial: true, parseSpecial: true)
                if ids == expected { same += 1 } else { XCTFail("MiniLM \(text.debugDescription):\n  expected \(expected)\n  got      \(ids)") }
            }
        }
        XCTAssertGreaterThan(total, 0)
        print("MiniLM minilm-refs.json: \(same)/\(total) ids identical (unpadded)")

        // The file pads and truncates to 128: neither applies to tokenize.
        let long = String(repeating: "The teacher taught the student with the book. ", count: 40)
        let ids = try tok.tokenize(long, addSpecial: true, parseSpecial: false)
        XCTAssertEqual(ids.count, 40 * 9 + 2)  // 9 tokens a sentence, [CLS] and [SEP]
        XCTAssertEqual(try tok.tokenize("hello", addSpecial: true, parseSpecial: false), [101, 7592, 102])
    }

    /// all-MiniLM-L6-v2 on texts that exercise every BERT normalizer and pre-tokenizer rule.
    func testMiniLMAgainstHF() throws {
        _ = try TestData.requireFile(Self.miniLMFolder + "/tokenizer.json", fetch: "scripts/fetch-model.sh")
        let tok = try Tokenizer.load(path: Self.miniLMFolder + "/tokenizer.json")
        let cases = try TestData.json(TestData.fixture("wordpiece-refs.json"))["hf_minilm"]?["cases"]?.array ?? []
        XCTAssertFalse(cases.isEmpty)
        var same = 0, decoded = 0, bad = 0
        for c in cases {
            let text = c["text"]?.string ?? ""
            let expected = [Int32](json: c["ids"])
            let ids = try tok.tokenize(text, addSpecial: true, parseSpecial: true)
            if ids == expected {
                same += 1
            } else {
                bad += 1
                if bad <= 5 { XCTFail("MiniLM \(text.debugDescription):\n  expected \(expected)\n  got      \(ids)") }
            }
            let back = try tok.decode(expected, renderSpecial: true)
            let backSkip = try tok.decode(expected, renderSpecial: false)
            if back == c["decoded"]?.string && backSkip == c["decoded_skip_special"]?.string {
                decoded += 1
            } else {
                bad += 1
                if bad <= 5 { XCTFail("MiniLM decode of \(text.debugDescription): got \(back.debugDescription) / \(backSkip.debugDescription)") }
            }
        }
        print("MiniLM vs HF tokenizers: \(same)/\(cases.count) ids identical, \(decoded)/\(cases.count) decoded identically")
    }

    /// tiny-bert's and charlevel's tokenizer.json with one part replaced: BertNormalizer options,
    /// Whitespace / WhitespaceSplit / Punctuation behaviours, WordPiece prefix and word limit,
    /// BertProcessing, character splits with every behaviour.
    func testVariantsAgainstHF() throws {
        let ref = try TestData.json(TestData.fixture("wordpiece-refs.json"))["hf_variants"]
        let texts = ref?["texts"]?.array?.compactMap(\.string) ?? []
        let variants = ref?["variants"]?.array ?? []
        XCTAssertFalse(variants.isEmpty)
        var fullyIdentical = 0, idsOK = 0, decodedOK = 0, total = 0
        for v in variants {
            let name = v["name"]?.string ?? "?"
            guard var json = try TestData.json(TestData.fixture(v["base"]?.string ?? "")).object,
                  var model = json["model"]?.object, let override = v["override"]?.object else {
                XCTFail("\(name): bad variant")
                continue
            }
            for key in override.keys {
                guard let value = override[key] else { continue }
                if key.hasPrefix("model.") { model.set(String(key.dropFirst(6)), value) } else { json.set(key, value) }
            }
            json.set("model", .object(model))
            let tok = try Tokenizer.load(tokenizerJSON: .object(json), tokenizerConfig: nil)
            let allIDs = v["ids"]?.array ?? [], allDecoded = v["decoded"]?.array ?? []
            var bad = 0
            for (k, text) in texts.enumerated() where k < allIDs.count && k < allDecoded.count {
                total += 1
                let expected = [Int32](json: allIDs[k])
                let ids = try tok.tokenize(text, addSpecial: true, parseSpecial: true)
                if ids == expected { idsOK += 1 } else {
                    bad += 1
                    if bad <= 3 { XCTFail("\(name) \(text.debugDescription):\n  expected \(expected)\n  got      \(ids)") }
                }
                let decoded = try tok.decode(expected, renderSpecial: true)
                if decoded == allDecoded[k].string { decodedOK += 1 } else {
                    bad += 1
                    if bad <= 3 { XCTFail("\(name) decode of \(text.debugDescription): expected \((allDecoded[k].string ?? "").debugDescription), got \(decoded.debugDescription)") }
                }
            }
            if bad == 0 { fullyIdentical += 1 }
        }
        print("WordPiece/WordLevel variants vs HF: \(fullyIdentical)/\(variants.count) fully identical; ids \(idsOK)/\(total), decoded \(decodedOK)/\(total)")
    }

    // MARK: GGUF (llama.cpp WPM)

    func testBertBGEAgainstLlamaCpp() throws {
        _ = try TestData.requireFile(Self.bertBGE, fetch: "scripts/fetch-test-data.sh")
        let tok = try Tokenizer.load(path: Self.bertBGE)
        let cases = try TestData.json(TestData.fixture("wordpiece-refs.json"))["llama_bert_bge"]?["cases"]?.array ?? []
        XCTAssertFalse(cases.isEmpty)
        var counts = [String: Int]()
        var bad = 0
        func check(_ what: String, _ ok: Bool, _ detail: @autoclosure () -> String) {
            if ok {
                counts[what, default: 0] += 1
            } else {
                bad += 1
                if bad <= 8 { XCTFail("bert-bge \(what): \(detail())") }
            }
        }
        func text(_ j: JSONValue?) -> [UInt8] {
            if let t = j?["text"]?.string { return Array(t.utf8) }
            let hex = Array((j?["hex"]?.string ?? "").utf8)
            return stride(from: 0, to: hex.count - 1, by: 2).compactMap { i in
                guard let h = TokenPieces.hexDigit(hex[i]), let l = TokenPieces.hexDigit(hex[i + 1]) else { return nil }
                return UInt8(h * 16 + l)
            }
        }
        var parseSpecialCases = 0
        for c in cases {
            let input = c["text"]?.string ?? ""
            let ids = [Int32](json: c["ids"])
            let got = try tok.tokenize(input, addSpecial: false, parseSpecial: false)
            check("ids", got == ids, "\(input.debugDescription)\n  expected \(ids)\n  got      \(got)")
            let withSpecial = try tok.tokenize(input, addSpecial: true, parseSpecial: false)
            check("ids add_special", withSpecial == [Int32](json: c["ids_add_special"]), "\(input.debugDescription): \(withSpecial)")
            if c["ids_parse_special"] != nil {
                parseSpecialCases += 1
                let parsed = try tok.tokenize(input, addSpecial: false, parseSpecial: true)
                check("ids parse_special", parsed == [Int32](json: c["ids_parse_special"]), "\(input.debugDescription): \(parsed)")
            }
            let detok = try tok.detokenize(ids, renderSpecial: false)
            check("detokenize", detok == text(c["detokenized"]), "\(input.debugDescription): \(String(decoding: detok, as: UTF8.self).debugDescription)")
            let detokSpecial = try tok.detokenize(ids, renderSpecial: true)
            check("detokenize special", detokSpecial == text(c["detokenized_special"]),
                  "\(input.debugDescription): \(String(decoding: detokSpecial, as: UTF8.self).debugDescription)")
        }
        let n = cases.count
        print("bert-bge vs llama.cpp: ids \(counts["ids"] ?? 0)/\(n), add_special \(counts["ids add_special"] ?? 0)/\(n), "
              + "parse_special \(counts["ids parse_special"] ?? 0)/\(parseSpecialCases), detokenize \(counts["detokenize"] ?? 0)/\(n), "
              + "detokenize special \(counts["detokenize special"] ?? 0)/\(n)")
    }

    func testBertBGESpecialTokensAndPieces() throws {
        _ = try TestData.requireFile(Self.bertBGE, fetch: "scripts/fetch-test-data.sh")
        let tok = try Tokenizer.load(path: Self.bertBGE)
        XCTAssertEqual(tok.bosID, 101)
        XCTAssertEqual(tok.sepID, 102)
        XCTAssertEqual(tok.unkID, 100)
        XCTAssertEqual(tok.padID, 0)
        XCTAssertNil(tok.eosID)
        XCTAssertTrue(tok.addBOS)
        XCTAssertEqual(try tok.tokenize("Hello world", addSpecial: true, parseSpecial: false), [101, 7592, 2088, 102])
        XCTAssertEqual(try tok.tokenToPiece(7592, renderSpecial: false), Array(" hello".utf8))
        XCTAssertEqual(try tok.tokenToPiece(101, renderSpecial: false), [])
        XCTAssertEqual(try tok.tokenToPiece(101, renderSpecial: true), Array("[CLS]".utf8))
        // Special tokens are matched only with parse_special.
        XCTAssertEqual(try tok.tokenize("[SEP]", addSpecial: false, parseSpecial: true), [102])
        XCTAssertNotEqual(try tok.tokenize("[SEP]", addSpecial: false, parseSpecial: false), [102])
    }

    /// Four threads share one tokenizer of each kind and get the single-threaded ids.
    func testThreadSafety() throws {
        var toks: [(String, Tokenizer)] = [("tiny-bert", try Tokenizer.load(path: TestData.fixture("tiny-bert/tokenizer.json")))]
        if FileManager.default.fileExists(atPath: Self.bertBGE) { toks.append(("bert-bge", try Tokenizer.load(path: Self.bertBGE))) }
        let text = RobustnessTests.sampleText()
        for (name, tok) in toks {
            let expected = try tok.tokenize(text, addSpecial: true, parseSpecial: true)
            let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: 4)
            results.initialize(repeating: [])
            defer { results.deinitialize(); results.deallocate() }
            DispatchQueue.concurrentPerform(iterations: 4) { i in
                var last: [Int32] = []
                for _ in 0..<10 { last = (try? tok.tokenize(text, addSpecial: true, parseSpecial: true)) ?? [] }
                results[i] = last
            }
            XCTAssertEqual(results.filter { $0 == expected }.count, 4, name)
            print("threads (\(name)): 4 threads identical to one (\(expected.count) tokens)")
        }
    }

    /// Invalid UTF-8 and hostile input never trap.
    func testBadInput() throws {
        var toks: [(String, Tokenizer)] = [("tiny-bert", try Tokenizer.load(path: TestData.fixture("tiny-bert/tokenizer.json"))),
                                           ("charlevel", try Tokenizer.load(path: TestData.fixture("charlevel/tokenizer.json")))]
        if FileManager.default.fileExists(atPath: Self.bertBGE) { toks.append(("bert-bge", try Tokenizer.load(path: Self.bertBGE))) }
        let inputs: [[UInt8]] = [[0x80], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80], [0xFF, 0xFE, 0x41],
                                 Array(String(repeating: "a", count: 5000).utf8), Array(String(repeating: "\u{301}", count: 300).utf8),
                                 Array("e\u{301}\u{327}\u{301}\u{11938}\u{F900}\u{AC00}".utf8), []]
        for (name, tok) in toks {
            for b in inputs {
                let ids = try b.withUnsafeBytes { try tok.tokenize($0, addSpecial: true, parseSpecial: true) }
                _ = try tok.detokenize(ids, renderSpecial: true)
                XCTAssertTrue(ids.allSatisfy { $0 >= 0 && Int($0) < tok.vocabSize }, "\(name): \(b.prefix(8))")
            }
        }
    }
}
