import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// SentencePiece-style tokenizers against their references: GGUF "llama" / "gemma4" against
/// llama.cpp (scripts/gen-spm-llamacpp-refs.py), tokenizer.json SentencePiece pipelines against
/// HF tokenizers 0.23.3 (scripts/gen-spm-tokenizer-fixtures.py).
final class SentencePieceTests: XCTestCase {
    /// Records matches of one kind and prints the count with the first mismatches.
    struct Tally {
        let label: String
        var total = 0
        var same = 0
        var mismatches: [String] = []

        init(_ label: String) { self.label = label }

        mutating func check<T: Equatable>(_ got: T, _ expected: T, _ what: @autoclosure () -> String) {
            total += 1
            if got == expected {
                same += 1
            } else if mismatches.count < 5 {
                mismatches.append("\(what())\n    expected \(expected)\n    got      \(got)")
            }
        }

        func report() {
            print("\(label): \(same)/\(total) identical")
            for m in mismatches { print("  mismatch: \(m)") }
            XCTAssertEqual(same, total, "\(label): \(total - same) mismatches, first: \(mismatches.first ?? "")")
        }
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for c in hex.utf8 {
            guard let d = TokenPieces.hexDigit(c) else { continue }
            if let h = high { out.append(h << 4 | UInt8(d)); high = nil } else { high = UInt8(d) }
        }
        return out
    }

    // MARK: GGUF against llama.cpp

    /// Random texts (invalid UTF-8, special-token look-alikes, runs of white space) through the
    /// suite's SentencePiece vocabularies: ids with parse_special off / on / add_special, and
    /// llama_detokenize of them with and without special tokens.
    func testGGUFSentencePieceMatchesLlamaCpp() throws {
        let ref = try TestData.json(TestData.fixture("spm-llamacpp-cases.json"))
        let texts = (ref["texts_hex"]?.array ?? []).map { Self.bytes(hex: $0.string ?? "") }
        XCTAssertGreaterThan(texts.count, 100)
        for name in ["llama-spm", "phi-3", "gemma-4"] {
            let path = TestData.cache + "/vocab-suite/ggml-vocab-\(name).gguf"
            _ = try TestData.requireFile(path, fetch: "scripts/fetch-test-data.sh")
            let tok = try Tokenizer.load(path: path)
            let cases = ref["vocabularies"]?[name]?.array ?? []
            XCTAssertEqual(cases.count, texts.count, name)
            var ids = Tally("llama.cpp \(name) ids"), special = Tally("llama.cpp \(name) ids (parse_special)")
            var added = Tally("llama.cpp \(name) ids (add_special)")
            var detok = Tally("llama.cpp \(name) detokenize"), hidden = Tally("llama.cpp \(name) detokenize (no special)")
            var detokAdded = Tally("llama.cpp \(name) detokenize (add_special)")
            for (text, c) in zip(texts, cases) {
                let show = String(decoding: text, as: UTF8.self).debugDescription
                // Fields left out of the fixture have their usual value (see the generator).
                let expectedPlain = [Int32](json: c["ids"])
                let expectedParsed = c["ids_parse_special"].map { [Int32](json: $0) } ?? expectedPlain
                let expectedWithBOS = c["ids_add_special"].map { [Int32](json: $0) } ?? tok.bosID.map { [$0] + expectedParsed } ?? expectedParsed
                func expectedText(_ key: String) -> [UInt8] { c[key]?.string.map { Self.bytes(hex: $0) } ?? text }
                let plain = try text.withUnsafeBytes { try tok.tokenize($0, addSpecial: false, parseSpecial: false) }
                ids.check(plain, expectedPlain, show)
                let parsed = try text.withUnsafeBytes { try tok.tokenize($0, addSpecial: false, parseSpecial: true) }
                special.check(parsed, expectedParsed, show)
                let withBOS = try text.withUnsafeBytes { try tok.tokenize($0, addSpecial: true, parseSpecial: true) }
                added.check(withBOS, expectedWithBOS, show)
                // Detokenize the reference ids, so a tokenize mismatch does not hide a decode one.
                detok.check(try tok.detokenize(expectedParsed, renderSpecial: true), expectedText("detokenized_hex"), show)
                hidden.check(try tok.detokenize(expectedParsed, renderSpecial: false), expectedText("detokenized_no_special_hex"), show)
                detokAdded.check(try tok.detokenize(expectedWithBOS, renderSpecial: true), expectedText("detokenized_add_special_hex"), show)
            }
            for t in [ids, special, added, detok, hidden, detokAdded] { t.report() }
        }
    }

    // MARK: tokenizer.json against HF tokenizers

    /// One fixture pipeline: ids (add_special_tokens false and true) and HF's decode with and
    /// without special tokens.
    func runHFFixture(_ name: String) throws {
        let tok = try Tokenizer.load(path: TestData.fixture("spm-\(name).tokenizer.json"))
        let cases = try TestData.json(TestData.fixture("spm-\(name).cases.json"))["cases"]?.array ?? []
        XCTAssertGreaterThan(cases.count, 30)
        var ids = Tally("HF spm-\(name) ids"), added = Tally("HF spm-\(name) ids (add_special_tokens)")
        var decoded = Tally("HF spm-\(name) decode"), skipped = Tally("HF spm-\(name) decode (skip_special_tokens)")
        for c in cases {
            guard let text = c["text"]?.string else { continue }
            let expected = [Int32](json: c["ids"])
            ids.check(try tok.tokenize(text, addSpecial: false, parseSpecial: true), expected, text.debugDescription)
            added.check(try tok.tokenize(text, addSpecial: true, parseSpecial: true), [Int32](json: c["ids_add_special"]), text.debugDescription)
            decoded.check(try tok.decode(expected, renderSpecial: true), c["decoded"]?.string ?? "", text.debugDescription)
            skipped.check(try tok.decode(expected, renderSpecial: false), c["decoded_skip_special"]?.string ?? "", text.debugDescription)
        }
        for t in [ids, added, decoded, skipped] { t.report() }
    }

    /// Llama 2: Prepend("▁") + Replace(" ", "▁") normalizer (per added-token-free fragment), no
    /// pre-tokenizer, BPE with byte_fallback and fuse_unk; Replace / ByteFallback / Fuse / Strip decoder.
    func testLlama2StyleTokenizerJSON() throws { try runHFFixture("llama2") }

    /// Long pre-tokenizer-free inputs (whole paragraphs are one word for Llama 2's pipeline):
    /// merging in junction-free segments gives HF's ids (scripts/gen-spm-long-refs.py).
    func testLlama2StyleLongInputs() throws {
        let refs = try TestData.json(TestData.fixture("spm-llama2-long.json"))
        let tok = try Tokenizer.load(path: TestData.fixture("spm-llama2.tokenizer.json"))
        var same = 0, total = 0
        for c in refs["cases"]?.array ?? [] {
            let text = c["text"]?.string ?? ""
            let expected = [Int32](json: c["ids"])
            let got = try tok.tokenize(text, addSpecial: false, parseSpecial: false)
            total += 1
            if got == expected { same += 1 } else { XCTFail("long input of \(text.utf8.count) bytes differs from HF") }
        }
        print("spm-llama2 long inputs: \(same)/\(total) identical to HF")
        XCTAssertGreaterThan(total, 0)
    }

    /// Metaspace(prepend_scheme "first", split): "▁" only in front of the input's first piece.
    func testMetaspaceFirstTokenizerJSON() throws { try runHFFixture("metaspace-first") }

    /// Metaspace(prepend_scheme "always", split false): each fragment is one word.
    func testMetaspaceAlwaysWithoutSplitTokenizerJSON() throws { try runHFFixture("metaspace-always-nosplit") }

    /// Metaspace pieces straight from the pre-tokenizer (HF's own unit-test expectations).
    func testMetaspacePieces() throws {
        func pieces(_ m: Metaspace, _ text: String, atStart: Bool = true) -> [String] {
            var p = PreTokenizer.Pieces(text: UTF8Coding.scalars(text), bounds: [0, text.unicodeScalars.count])
            m.apply(&p, position: FragmentPosition(index: atStart ? 0 : 2, atInputStart: atStart, afterSpecialToken: true))
            return stride(from: 0, to: p.bounds.count, by: 2).map {
                String(decoding: UTF8Coding.encode(p.text[p.bounds[$0]..<p.bounds[$0 + 1]]), as: UTF8.self)
            }
        }
        XCTAssertEqual(pieces(Metaspace(), "Hey   friend!"), ["▁Hey", "▁", "▁", "▁friend!"])
        XCTAssertEqual(pieces(Metaspace(prependScheme: .first, split: false), " Hey "), ["▁Hey▁"])
        XCTAssertEqual(pieces(Metaspace(prependScheme: .first, split: false), "how ", atStart: false), ["how▁"])
        XCTAssertEqual(pieces(Metaspace(prependScheme: .first, split: false), " you", atStart: false), ["▁you"])
        XCTAssertEqual(pieces(Metaspace(prependScheme: .never), "ab cd"), ["ab", "▁cd"])
        XCTAssertEqual(pieces(Metaspace(prependScheme: .always), "▁already marked"), ["▁already", "▁marked"])
    }

    /// HF refuses `add_prefix_space: false` with a prepend scheme other than "never".
    func testMetaspaceJSONSchemes() throws {
        func parse(_ s: String) throws -> Metaspace { try Metaspace(json: try JSONParser.parse(Array(s.utf8))) }
        XCTAssertEqual(try parse(#"{"type":"Metaspace","replacement":"▁"}"#).prependScheme, .always)
        XCTAssertEqual(try parse(#"{"type":"Metaspace","replacement":"▁","add_prefix_space":false}"#).prependScheme, .never)
        XCTAssertEqual(try parse(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}"#).split, false)
        XCTAssertThrowsError(try parse(#"{"type":"Metaspace","replacement":"▁","add_prefix_space":false,"prepend_scheme":"always"}"#))
        XCTAssertThrowsError(try parse(#"{"type":"Metaspace","replacement":"ab"}"#))
    }

    /// HF decoder steps on their own (outputs from HF tokenizers 0.23.3).
    func testSentencePieceDecoderSteps() throws {
        func decode(_ d: TokenDecoder, _ tokens: [String]) -> String {
            String(decoding: d.decode(tokens.map { Array($0.utf8) }), as: UTF8.self)
        }
        let llama2: TokenDecoder = .sequence([.replace(pattern: Array("▁".utf8), content: [0x20]), .byteFallback, .fuse,
                                              .strip(content: 0x20, start: 1, stop: 0)])
        XCTAssertEqual(decode(llama2, ["▁", "▁a", "<0x20>", "b"]), " a b")
        // Invalid byte runs give one U+FFFD per byte; "<0x+F>" is byte 0x0F (Rust's from_str_radix).
        XCTAssertEqual(decode(.byteFallback, ["<0x+F>", "<0xED>", "<0xA0>", "<0x80>", "x", "<0xC0>", "<0x80>", "y", "<0xe4>", "<0xb8>", "<0x80>"]),
                       "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}x\u{FFFD}\u{FFFD}y一")
        XCTAssertEqual(decode(.byteFallback, ["<0x+F>", "a"]), "\u{0F}a")
        XCTAssertEqual(decode(.metaspace(replacement: 0x2581, stripsFirst: true), ["▁▁a", "▁b"]), "a b")
        XCTAssertEqual(decode(.metaspace(replacement: 0x2581, stripsFirst: false), ["▁▁a", "▁b"]), "  a b")
        XCTAssertEqual(decode(.strip(content: 0x20, start: 1, stop: 0), [" a", " b"]), "ab")
    }

    // MARK: robustness

    func sentencePieceTokenizers() throws -> [(String, Tokenizer)] {
        var out: [(String, Tokenizer)] = [("spm-llama2 tokenizer.json", try Tokenizer.load(path: TestData.fixture("spm-llama2.tokenizer.json")))]
        for name in ["llama-spm", "gemma-4"] {
            let path = TestData.cache + "/vocab-suite/ggml-vocab-\(name).gguf"
            if FileManager.default.fileExists(atPath: path) { out.append((name + " GGUF", try Tokenizer.load(path: path))) }
        }
        return out
    }

    /// Hostile bytes never trap; long runs (one merge segment of thousands of symbols, the heap
    /// path) and byte fallback keep everything; four threads on one tokenizer agree.
    func testSentencePieceRobustness() throws {
        let long = String(repeating: "a", count: 5000) + String(repeating: " ", count: 700) + String(repeating: "\u{0}", count: 100)
            + String(repeating: "東", count: 3000) + String(repeating: "\n", count: 300) + String(repeating: "🦙 ", count: 200)
        for (name, tok) in try sentencePieceTokenizers() {
            let ids = try tok.tokenize(long, addSpecial: false, parseSpecial: false)
            XCTAssertEqual(try tok.decode(ids, renderSpecial: true), long, name)
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<100 {
                let n = Int.random(in: 0..<400, using: &rng)
                let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let ids = try bytes.withUnsafeBytes { try tok.tokenize($0, addSpecial: true, parseSpecial: Bool.random()) }
                _ = try tok.detokenize(ids, renderSpecial: Bool.random())
            }
            let text = RobustnessTests.sampleText()
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
            print("robustness (\(name)): no traps, long runs decode back, 4/4 threads identical")
        }
    }

    // MARK: GGUF details

    /// add_bos, the space prefix after special tokens, and detokenize's leading-space strip.
    func testGGUFSentencePieceSpecials() throws {
        let path = TestData.cache + "/vocab-suite/ggml-vocab-llama-spm.gguf"
        _ = try TestData.requireFile(path, fetch: "scripts/fetch-test-data.sh")
        let tok = try Tokenizer.load(path: path)
        XCTAssertTrue(tok.addBOS)
        XCTAssertFalse(tok.addEOS)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertEqual(tok.unkID, 0)
        XCTAssertEqual(try tok.tokenize("", addSpecial: true, parseSpecial: false), [1])
        XCTAssertEqual(try tok.tokenize("", addSpecial: false, parseSpecial: false), [])
        let hello = try tok.tokenize("Hello", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(try tok.tokenizerText(hello), ["▁Hello"])
        // A fragment after a special token gets the space prefix too.
        let afterBOS = try tok.tokenize("<s>Hello", addSpecial: false, parseSpecial: true)
        XCTAssertEqual(afterBOS, [1] + hello)
        // Pieces: "▁" is a space, byte tokens their byte; detokenize drops the first piece's space.
        XCTAssertEqual(try tok.tokenToPiece(hello[0], renderSpecial: false), Array(" Hello".utf8))
        XCTAssertEqual(try tok.tokenToPiece(3 + 0x0A, renderSpecial: false), [0x0A])
        XCTAssertEqual(try tok.decode(hello, renderSpecial: false), "Hello")
        XCTAssertEqual(try tok.decode([1] + hello, renderSpecial: true), "<s> Hello")
        XCTAssertEqual(try tok.decode([1] + hello, renderSpecial: false), " Hello")
    }
}

private extension Tokenizer {
    func tokenizerText(_ ids: [Int32]) throws -> [String] { try ids.map { try tokenText($0) } }
}
