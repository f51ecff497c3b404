import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// Byte-level BPE from tokenizer.json against HF tokenizers' own ids.
final class TokenizerJSONTests: XCTestCase {
    func testByteLevelBPECases() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("tiny-llama"))
        let ref = try TestData.json(TestData.fixture("bytelevel-bpe.tokenizer-cases.json"))
        let addSpecial = ref["add_special_tokens"]?.bool ?? false
        let cases = ref["cases"]?.array ?? []
        XCTAssertFalse(cases.isEmpty)
        var same = 0, decoded = 0
        for c in cases {
            guard let text = c["text"]?.string else { continue }
            let ids = try tok.tokenize(text, addSpecial: addSpecial, parseSpecial: true)
            let expected = [Int32](json: c["ids"])
            if ids == expected { same += 1 } else { XCTFail("\(text.debugDescription): expected \(expected), got \(ids)") }
            // The stored token texts are HF's tokens.
            if let tokens = c["tokens"]?.array?.compactMap(\.string) {
                XCTAssertEqual(try ids.map { try tok.tokenText($0) }, tokens)
            }
            let back = try tok.decode(ids, renderSpecial: true)
            if back == (c["decoded"]?.string ?? text) { decoded += 1 } else { XCTFail("decode of \(text.debugDescription) gave \(back.debugDescription)") }
        }
        print("bytelevel-bpe cases: \(same)/\(cases.count) identical, \(decoded)/\(cases.count) decoded back")
    }

    func testLoadFromFileAndFolderAgree() throws {
        let a = try Tokenizer.load(path: TestData.fixture("tiny-llama"))
        let b = try Tokenizer.load(path: TestData.fixture("tiny-llama/tokenizer.json"))
        XCTAssertEqual(a.vocabSize, b.vocabSize)
        let text = "Hello world, this is a test: 1234 <|endoftext|>"
        XCTAssertEqual(try a.tokenize(text, addSpecial: true, parseSpecial: true), try b.tokenize(text, addSpecial: true, parseSpecial: true))
    }

    /// Added-token matching against HF tokenizers 0.23.3 (ids below are its output): two passes
    /// (normalized=false tokens first), leftmost-longest, lstrip over Unicode white space,
    /// single_word, rstrip.
    func testAddedTokenPassesMatchHF() throws {
        let base = try TestData.json(TestData.fixture("tiny-llama/tokenizer.json"))
        let added = #"""
        [{"id": 0, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
         {"id": 385, "content": "ab", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false},
         {"id": 512, "content": "bc", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false},
         {"id": 513, "content": "<x>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
         {"id": 514, "content": "abcd", "single_word": true, "lstrip": false, "rstrip": true, "normalized": true, "special": false}]
        """#
        guard var obj = base.object else { return XCTFail("bad fixture") }
        obj.set("added_tokens", try JSONParser.parse(Array(added.utf8)))
        let tok = try Tokenizer.load(tokenizerJSON: .object(obj), tokenizerConfig: nil)
        let cases: [(String, [Int32])] = [
            ("abc", [65, 512]), ("xabcy", [88, 65, 512, 89]), ("ab bc", [385, 221, 512]),
            ("abcd abcd, xabcd", [65, 512, 68, 260, 512, 68, 12, 221, 88, 65, 512, 68]),
            ("  <x>  ab<x>bc", [513, 258, 385, 513, 512]), ("abab bcbc", [385, 385, 221, 512, 512]),
            (" abcd\t\tz", [260, 512, 68, 198, 198, 90]), ("ab\u{3000}<x>", [385, 513]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try tok.tokenize(text, addSpecial: false, parseSpecial: true), expected, text.debugDescription)
        }
        XCTAssertEqual(tok.vocabSize, 515)
    }

    func testTokenizerConfigAddsBOSAndEOS() throws {
        let json = try TestData.json(TestData.fixture("tiny-llama/tokenizer.json"))
        let config = try JSONParser.parse(Array(#"{"add_bos_token": true, "add_eos_token": true, "bos_token": {"content": "<|endoftext|>"}, "eos_token": "<|endoftext|>", "clean_up_tokenization_spaces": true}"#.utf8))
        let tok = try Tokenizer.load(tokenizerJSON: json, tokenizerConfig: config)
        XCTAssertTrue(tok.addBOS)
        XCTAssertTrue(tok.addEOS)
        XCTAssertEqual(tok.bosID, 0)
        XCTAssertEqual(tok.eosID, 0)
        let plain = try tok.tokenize("Hello world", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(try tok.tokenize("Hello world", addSpecial: true, parseSpecial: false), [0] + plain + [0])
        // transformers' clean_up_tokenization_spaces.
        let ids = try tok.tokenize("a , b .", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(try tok.decode(ids, renderSpecial: true), "a, b.")
        XCTAssertEqual(String(decoding: try tok.detokenize(ids, renderSpecial: true, cleanUpSpaces: false), as: UTF8.self), "a , b .")
    }

    func testAddedTokensAndTemplate() throws {
        // A small synthetic tokenizer.json: Llama-3-style Split + ByteLevel, a template with BOS,
        // special and non-special added tokens.
        var vocab: [String] = []
        for b in 0..<256 { vocab.append(String(String.UnicodeScalarView([Unicode.Scalar(ByteLevel.byteToScalar[b])!]))) }
        vocab += ["Ġh", "Ġhe", "ll", "Ġhell", "o", "<s>", "</s>", "<tool>"]
        let jsonVocab = vocab.enumerated().map { "\"\(escape($0.element))\": \($0.offset)" }.joined(separator: ",")
        let json = """
        {"version":"1.0","added_tokens":[
          {"id":261,"content":"<s>","special":true,"lstrip":false,"rstrip":false,"normalized":false,"single_word":false},
          {"id":262,"content":"</s>","special":true,"lstrip":false,"rstrip":false,"normalized":false,"single_word":false},
          {"id":263,"content":"<tool>","special":false,"lstrip":true,"rstrip":true,"normalized":false,"single_word":false}],
         "normalizer":null,
         "pre_tokenizer":{"type":"Sequence","pretokenizers":[
            {"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"},"behavior":"Isolated","invert":false},
            {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]},
         "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
            "pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[261],"tokens":["<s>"]}}},
         "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
         "model":{"type":"BPE","ignore_merges":true,"vocab":{\(jsonVocab)},"merges":[["Ġ","h"],["Ġh","e"],["l","l"],["Ġhe","ll"]]}}
        """
        let tok = try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(json.utf8)), tokenizerConfig: nil)
        XCTAssertTrue(tok.addBOS)
        XCTAssertEqual(tok.bosID, 261)
        XCTAssertEqual(tok.preTokenizerName, "Split+ByteLevel")
        // " hello": Split → " hello"; BPE → Ġhell + o.
        XCTAssertEqual(try tok.tokenize(" hello", addSpecial: true, parseSpecial: true), [261, 259, 260])
        // Special tokens are matched only with parseSpecial; "<tool>" (not special) always, and it
        // swallows the spaces around it (lstrip/rstrip).
        let a = try tok.tokenize("x </s> y <tool> z", addSpecial: false, parseSpecial: true)
        XCTAssertTrue(a.contains(262))
        XCTAssertEqual(Array(a.suffix(2)), [263, Int32(ByteLevel.byte(for: UInt32(UInt8(ascii: "z")))!) + 0])
        let b = try tok.tokenize("x </s> y <tool> z", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(b.contains(262))
        XCTAssertTrue(b.contains(263))
        XCTAssertTrue(tok.isControl(262))
        XCTAssertFalse(tok.isControl(263))
        XCTAssertEqual(try tok.decode([261, 259, 260], renderSpecial: false), " hello")
        XCTAssertEqual(try tok.decode([261, 259, 260], renderSpecial: true), "<s> hello")
        XCTAssertTrue(tok.isEndOfGeneration(262))
    }

    private func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}

/// HF pre-tokenizers (Split with general regexes and every behavior, Digits, ByteLevel with
/// prefix space, added tokens with strip / single-word flags) against HF tokenizers' ids on random
/// text: Tests/Fixtures/tokenizers/hf-pretokenizer-cases.json (made with tokenizers 0.23.3 on the
/// tiny-llama vocabulary).
final class HFPreTokenizerTests: XCTestCase {
    func testVariantsMatchHF() throws {
        let base = try TestData.json(TestData.fixture("tiny-llama/tokenizer.json"))
        let ref = try TestData.json(TestData.fixture("hf-pretokenizer-cases.json"))
        let texts = (ref["texts"]?.array ?? []).compactMap(\.string)
        XCTAssertFalse(texts.isEmpty)
        var summary: [String] = []
        for v in ref["variants"]?.array ?? [] {
            let name = v["name"]?.string ?? "?"
            guard var obj = base.object, var model = base["model"]?.object, let pre = v["pre_tokenizer"], let added = v["added_tokens"] else {
                XCTFail("bad fixture entry \(name)")
                continue
            }
            obj.set("pre_tokenizer", pre)
            obj.set("added_tokens", added)
            model.set("ignore_merges", .bool(v["ignore_merges"]?.bool ?? false))
            obj.set("model", .object(model))
            let tok = try Tokenizer.load(tokenizerJSON: .object(obj), tokenizerConfig: nil)
            let expected = v["ids"]?.array ?? []
            var same = 0
            for (i, text) in texts.enumerated() {
                let ids = try tok.tokenize(text, addSpecial: false, parseSpecial: true)
                if ids == [Int32](json: expected[i]) { same += 1 } else {
                    XCTFail("\(name): \(text.debugDescription)\n  expected \([Int32](json: expected[i]))\n  got      \(ids)")
                }
            }
            summary.append("\(name) \(same)/\(texts.count)")
        }
        print("hf pre-tokenizer cases: " + summary.joined(separator: ", ") + " identical")
    }
}
