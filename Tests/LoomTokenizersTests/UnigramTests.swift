import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// Unigram tokenizers against their references: tokenizer.json `Unigram` models (with NFKC or a
/// Precompiled normalizer, byte fallback) against HF tokenizers 0.23.3, and GGUF "t5"
/// vocabularies against llama.cpp.
final class UnigramTests: XCTestCase {
    /// Runs tokenizer.json cases ({text, ids, tokens, decoded}) and prints the counts.
    private func runHFCases(_ name: String, _ tok: Tokenizer, _ ref: JSONValue) throws {
        let addSpecial = ref["add_special_tokens"]?.bool ?? false
        let cases = ref["cases"]?.array ?? []
        XCTAssertFalse(cases.isEmpty, name)
        var same = 0, decoded = 0, mismatches = 0
        for c in cases {
            guard let text = c["text"]?.string else { continue }
            let ids = try tok.tokenize(text, addSpecial: addSpecial, parseSpecial: true)
            let expected = [Int32](json: c["ids"])
            if ids == expected {
                same += 1
            } else {
                mismatches += 1
                if mismatches <= 5 { print("\(name) mismatch \(text.debugDescription):\n  expected \(expected)\n  got      \(ids)") }
                XCTFail("\(name): \(text.debugDescription): expected \(expected), got \(ids)")
            }
            // HF shows the covered text for unknown tokens; every other token is its vocabulary text.
            if let tokens = c["tokens"]?.array?.compactMap(\.string), tokens.count == ids.count {
                for (id, t) in zip(ids, tokens) where id != tok.unkID {
                    XCTAssertEqual(try tok.tokenText(id), t, "\(name): token \(id) of \(text.debugDescription)")
                }
            }
            let back = try tok.decode(expected, renderSpecial: true)
            if back == c["decoded"]?.string {
                decoded += 1
            } else {
                XCTFail("\(name): decode of \(text.debugDescription) gave \(back.debugDescription), expected \(c["decoded"]?.string ?? "")")
            }
        }
        print("\(name): \(same)/\(cases.count) identical ids, \(decoded)/\(cases.count) identical decodes")
    }

    // MARK: tokenizer.json

    func testTinyT5Cases() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("tiny-t5"))
        try runHFCases("tiny-t5 unigram", tok, try TestData.json(TestData.fixture("unigram.tokenizer-cases.json")))
        XCTAssertEqual(tok.eosID, 1)
        XCTAssertTrue(tok.addEOS)
    }

    func testPrecompiledNormalizerCases() throws {
        let ref = try TestData.json(TestData.fixture("unigram-precompiled.json"))
        let tok = try Tokenizer.load(tokenizerJSON: try XCTUnwrap(ref["tokenizer"]), tokenizerConfig: nil)
        try runHFCases("unigram precompiled", tok, ref)
    }

    func testByteFallbackCases() throws {
        let ref = try TestData.json(TestData.fixture("unigram-bytefallback.json"))
        let tok = try Tokenizer.load(tokenizerJSON: try XCTUnwrap(ref["tokenizer"]), tokenizerConfig: nil)
        try runHFCases("unigram byte fallback", tok, ref)
    }

    /// The example of HF's `Unigram::encode` documentation: "abcdacdxx" → abcd, a, cd, xx (fused unknown).
    func testViterbiAndFusedUnknown() throws {
        let vocab: [(piece: String, score: Double)] = [("<unk>", 0), ("a", 0), ("b", 0), ("c", 0), ("d", 0), ("cd", 1),
                                                       ("ab", 2), ("abc", 5), ("abcd", 10)]
        let model = try UnigramModel(vocab: vocab, unk: 0, byteFallback: false)
        func encode(_ s: String) -> [Int32] {
            var scratch = model.makeScratch()
            var out: [Int32] = []
            Array(s.utf8).withUnsafeBufferPointer { model.encode($0, scratch: &scratch, into: &out) }
            return out
        }
        XCTAssertEqual(encode("abcdacdxx"), [8, 1, 5, 0])
        XCTAssertEqual(encode("xxé日ab"), [0, 6])
        XCTAssertEqual(encode(""), [])
        // Matches of the unk piece itself fuse with unknown characters; the fused string is looked
        // up as a piece (HF).
        XCTAssertEqual(encode("<unk>"), [0])
        XCTAssertEqual(encode("x<unk>a"), [0, 1])
        var scratch = model.makeScratch()
        var out: [Int32] = []
        // Without an unk token unknown text is dropped (HF fails on it).
        let noUnk = try UnigramModel(vocab: Array(vocab.dropFirst()), unk: nil, byteFallback: false)
        out = []
        Array("azb".utf8).withUnsafeBufferPointer { noUnk.encode($0, scratch: &scratch, into: &out) }
        XCTAssertEqual(out, [0, 1])
        XCTAssertThrowsError(try UnigramModel(vocab: vocab, unk: 9, byteFallback: false))
    }

    func testPieceTrieFindsEveryPrefix() throws {
        let words = ["a", "ab", "abc", "b", "ba", "日本", "日", "\u{0}x", "zzzzzzzzzz"] + (0..<300).map { "k\($0)" }
        let trie = try PieceTrie(words.enumerated().map { .init(bytes: Array($0.element.utf8), id: Int32($0.offset), score: 0) })
        trie.withView { view in
            for (i, w) in words.enumerated() {
                var node = 0
                for b in w.utf8 { node = view.child(node, b); XCTAssertNotEqual(node, 0, w) }
                XCTAssertEqual(view.nodeToken[node], Int32(i), w)
            }
            XCTAssertEqual(view.child(view.child(0, UInt8(ascii: "a")), UInt8(ascii: "z")), 0)
            XCTAssertEqual(view.child(0, UInt8(ascii: "q")), 0)
        }
    }

    // MARK: precompiled charsmap

    /// The real charsmap (nomic-bert-moe's) through HF's grapheme rules, against HF outputs.
    func testPrecompiledGraphemeRules() throws {
        let ref = try TestData.json(TestData.fixture("unigram-precompiled.json"))
        let charsmap = try XCTUnwrap(ref["tokenizer"]?["normalizer"]?["normalizers"]?.array?.first?["precompiled_charsmap"]?.string)
        let map = try PrecompiledCharsMap(base64: charsmap)
        // (input, HF tokenizers' Precompiled.normalize_str)
        let cases: [(String, String)] = [("\r\n", " "), ("a\r\nb", "a b"), ("\t", " "), ("ﬁ", "fi"), ("ＡＢ", "AB"),
                                         ("ｶﾞ", "\u{30AB}\u{3099}"), ("\u{A0}", " "), ("\u{0}x", "\u{0}x"), ("\u{200B}", " "),
                                         ("x\u{301}\u{301}\u{301}\u{301}y", "x\u{301}\u{301}\u{301}\u{301}y"), ("㍿", "株式会社"),
                                         ("Ⅻ", "XII"), ("\u{FEFF}", " "), ("\u{7F}", ""), ("\u{AD}", "\u{AD}"), ("plain", "plain"),
                                         // A grapheme under 6 bytes takes the rule of its first character whole.
                                         ("ﬁ\u{301}", "fi"), ("Ａ\u{301}", "A"), ("ｶ\u{301}", "\u{30AB}"),
                                         ("ﬁ\u{301}\u{301}", "fi\u{301}\u{301}"), ("\r\n\u{301}", " \u{301}")]
        for (input, expected) in cases {
            let got = try map.normalize(UTF8Coding.scalars(input))
            XCTAssertEqual(got, UTF8Coding.scalars(expected), input.debugDescription)
        }
    }

    func testMalformedCharsMapsThrow() throws {
        XCTAssertThrowsError(try PrecompiledCharsMap([1, 0], reader: .hf))
        XCTAssertThrowsError(try PrecompiledCharsMap([8, 0, 0, 0, 1, 2, 3], reader: .hf))
        XCTAssertThrowsError(try PrecompiledCharsMap([4, 0, 0, 0, 1, 2, 3, 4], reader: .llama))
        XCTAssertThrowsError(try PrecompiledCharsMap([0, 0, 0, 0, 0xFF], reader: .hf))  // strings not UTF-8
        XCTAssertThrowsError(try PrecompiledCharsMap(base64: "not base64!"))
        // A root whose children point past the array: every lookup throws, nothing traps.
        let root: UInt32 = 1000 << 10
        var blob: [UInt8] = [4, 0, 0, 0]
        for k in 0..<4 { blob.append(UInt8(truncatingIfNeeded: root >> (8 * UInt32(k)))) }
        blob += [0x61, 0]
        for reader in [PrecompiledCharsMap.Reader.hf, .llama] {
            let map = try PrecompiledCharsMap(blob, reader: reader)
            XCTAssertNoThrow(try map.normalize(UTF8Coding.scalars("abc")))
        }
        // A leaf whose string offset is out of bounds.
        var units = [UInt32](repeating: 0, count: 8)
        units[0] = 0 << 10  // root: base 0
        units[1] = 1 | (1 << 8) | (2 << 10)  // label 1 ('\u{1}'), leaf, base 2 → value node 1 ^ 2 = 3
        units[3] = 500  // value: string offset 500
        var bad: [UInt8] = [32, 0, 0, 0]
        for u in units { for k in 0..<4 { bad.append(UInt8(truncatingIfNeeded: u >> (8 * UInt32(k)))) } }
        bad += [0x61, 0]
        for reader in [PrecompiledCharsMap.Reader.hf, .llama] {
            let map = try PrecompiledCharsMap(bad, reader: reader)
            XCTAssertThrowsError(try map.normalize([1, 0x61]))
            let encoder = LlamaUnigramEncoder(tokens: try PieceTrie([]), userDefined: try PieceTrie([]), charsMap: map, unknownScore: -10,
                                              unk: 0, addSpacePrefix: true, removeExtraWhitespaces: true,
                                              escapeWhitespaces: true, treatWhitespaceAsSuffix: false)
            var out: [Int32] = []
            let text: [UInt8] = [1, 0x61]
            XCTAssertThrowsError(try text.withUnsafeBytes { try encoder.encode($0, [.text(0, 2)], parseSpecial: false, into: &out) })
        }
    }

    // MARK: GGUF (llama.cpp UGM)

    static let nomicPath = TestData.cache + "/vocab-suite/ggml-vocab-nomic-bert-moe.gguf"

    private static func bytes(_ c: JSONValue, _ key: String) -> [UInt8]? {
        if let s = c[key]?.string { return Array(s.utf8) }
        guard let hex = c[key + "_hex"]?.string else { return nil }
        let h = Array(hex.utf8)
        return stride(from: 0, to: h.count - 1, by: 2).compactMap { i in
            guard let a = TokenPieces.hexDigit(h[i]), let b = TokenPieces.hexDigit(h[i + 1]) else { return nil }
            return UInt8(a * 16 + b)
        }
    }

    /// Runs llama.cpp reference cases ({text or text_hex, ids, ids_parse_special, ids_add_special,
    /// detokenized, detokenized_special}) and prints the counts.
    private func runLlamaCppCases(_ name: String, _ tok: Tokenizer, _ ref: JSONValue) throws {
        let cases = ref["cases"]?.array ?? []
        XCTAssertGreaterThan(cases.count, 100, name)
        var same = 0, withSpecial = 0, specialCases = 0, detok = 0, mismatches = 0
        func check(_ got: [Int32], _ expected: [Int32], _ what: String, _ text: [UInt8]) -> Bool {
            if got == expected { return true }
            mismatches += 1
            let shown = String(decoding: text, as: UTF8.self).debugDescription
            if mismatches <= 5 { print("\(name) mismatch (\(what)) \(shown):\n  expected \(expected)\n  got      \(got)") }
            XCTFail("\(name) (\(what)) \(shown): expected \(expected), got \(got)")
            return false
        }
        for c in cases {
            guard let text = Self.bytes(c, "text") else { continue }
            let ids = try text.withUnsafeBytes { try tok.tokenize($0, addSpecial: false, parseSpecial: false) }
            if check(ids, [Int32](json: c["ids"]), "plain", text) { same += 1 }
            if let expected = c["ids_parse_special"] {
                specialCases += 1
                let p = try text.withUnsafeBytes { try tok.tokenize($0, addSpecial: false, parseSpecial: true) }
                let a = try text.withUnsafeBytes { try tok.tokenize($0, addSpecial: true, parseSpecial: false) }
                if check(p, [Int32](json: expected), "parse_special", text) && check(a, [Int32](json: c["ids_add_special"]), "add_special", text) {
                    withSpecial += 1
                }
            }
            let expectedIDs = [Int32](json: c["ids"])
            let plain = try tok.detokenize(expectedIDs, renderSpecial: false)
            let special = try tok.detokenize(expectedIDs, renderSpecial: true)
            if plain == Self.bytes(c, "detokenized") && special == Self.bytes(c, "detokenized_special") {
                detok += 1
            } else {
                XCTFail("\(name) detokenize of \(expectedIDs): \(String(decoding: plain, as: UTF8.self).debugDescription) / \(String(decoding: special, as: UTF8.self).debugDescription)")
            }
        }
        print("\(name) (llama.cpp UGM): \(same)/\(cases.count) identical ids, \(withSpecial)/\(specialCases) identical with parse_special/add_special, \(detok)/\(cases.count) identical detokenize")
    }

    func testNomicBertMoeMatchesLlamaCpp() throws {
        let path = try TestData.requireFile(Self.nomicPath, fetch: "scripts/fetch-test-data.sh")
        try runLlamaCppCases("nomic-bert-moe", try Tokenizer.load(path: path),
                             try TestData.json(TestData.fixture("nomic-bert-moe-llamacpp.json")))
    }

    /// A small "t5" vocabulary with user-defined, unused and byte tokens, the charsmap, and
    /// remove_extra_whitespaces off.
    func testTinyUGMMatchesLlamaCpp() throws {
        try runLlamaCppCases("tiny-ugm", try Tokenizer.load(path: TestData.fixture("tiny-ugm.gguf")),
                             try TestData.json(TestData.fixture("tiny-ugm-llamacpp.json")))
    }

    func testNomicBertMoeProperties() throws {
        let path = try TestData.requireFile(Self.nomicPath, fetch: "scripts/fetch-test-data.sh")
        let tok = try Tokenizer.load(path: path)
        XCTAssertEqual(tok.vocabSize, 250048)
        XCTAssertEqual(tok.bosID, 0)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertEqual(tok.unkID, 3)
        XCTAssertTrue(tok.addBOS)
        XCTAssertTrue(tok.addEOS)
        XCTAssertEqual(try tok.tokenize("Hello world", addSpecial: true, parseSpecial: false), [0, 35378, 8999, 2])
        // Four threads on one tokenizer agree with one.
        let text = RobustnessTests.sampleText()
        let expected = try tok.tokenize(text, addSpecial: true, parseSpecial: true)
        let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            var last: [Int32] = []
            for _ in 0..<5 { last = (try? tok.tokenize(text, addSpecial: true, parseSpecial: true)) ?? [] }
            results[i] = last
        }
        XCTAssertEqual(results.filter { $0 == expected }.count, 4)
        // Random bytes never trap.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ids = try bytes.withUnsafeBytes { try tok.tokenize($0, addSpecial: true, parseSpecial: Bool.random()) }
            _ = try tok.detokenize(ids, renderSpecial: Bool.random())
        }
    }
}
