import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// Thread safety and hostile input.
final class RobustnessTests: XCTestCase {
    static func sampleText() -> String {
        var s = ""
        let parts = ["The quick brown fox jumps over the lazy dog. ", "It's 3.14159 o'clock!\n", "naïve café — 東京 🚀 ",
                     "    indented\tcode = x[1] + y{2};\n", "I'VE BEEN 'told' he's there, 'RE you sure?  \n\n"]
        for i in 0..<200 { s += parts[i % parts.count] + "\(i) " }
        return s
    }

    func tokenizers() throws -> [(String, Tokenizer)] {
        var out: [(String, Tokenizer)] = [("tiny-llama tokenizer.json", try Tokenizer.load(path: TestData.fixture("tiny-llama")))]
        if FileManager.default.fileExists(atPath: SmolLM2Tests.modelPath) {
            out.append(("SmolLM2 GGUF", try Tokenizer.load(path: SmolLM2Tests.modelPath)))
        }
        let llama = TestData.cache + "/vocab-suite/ggml-vocab-llama-bpe.gguf"
        if FileManager.default.fileExists(atPath: llama) { out.append(("llama-bpe GGUF", try Tokenizer.load(path: llama))) }
        return out
    }

    func testFourThreadsOneTokenizer() throws {
        let text = Self.sampleText()
        for (name, tok) in try tokenizers() {
            let expected = try tok.tokenize(text, addSpecial: true, parseSpecial: true)
            let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: 4)
            results.initialize(repeating: [])
            defer { results.deallocate() }
            DispatchQueue.concurrentPerform(iterations: 4) { i in
                var last: [Int32] = []
                for _ in 0..<20 { last = (try? tok.tokenize(text, addSpecial: true, parseSpecial: true)) ?? [] }
                results[i] = last
            }
            var same = 0
            for r in results where r == expected { same += 1 }
            XCTAssertEqual(same, 4, name)
            print("threads (\(name)): 4/4 threads identical (\(same) matched, \(expected.count) tokens each)")
        }
    }

    func testBadInput() throws {
        for (name, tok) in try tokenizers() {
            // Invalid UTF-8: lone continuation bytes, truncated sequences, overlong forms, bytes F5-FF.
            let bad: [[UInt8]] = [[0x80], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC0, 0xAF], [0xED, 0xA0, 0x80],
                                  [0xF5, 0x80, 0x80, 0x80], [0xFF, 0xFE, 0x41], Array("ok".utf8) + [0xE2] + Array("<|endoftext|>".utf8)]
            for b in bad {
                let ids = try b.withUnsafeBytes { try tok.tokenize($0, addSpecial: false, parseSpecial: true) }
                XCTAssertFalse(ids.isEmpty, "\(name): \(b)")
                _ = try tok.detokenize(ids, renderSpecial: true)
            }
            // An invalid byte decodes as U+FFFD, like llama.cpp.
            let fffd = try tok.tokenize("\u{FFFD}", addSpecial: false, parseSpecial: false)
            XCTAssertEqual(try [UInt8(0x80)].withUnsafeBytes { try tok.tokenize($0, addSpecial: false, parseSpecial: false) }, fffd)
            // Empty input.
            XCTAssertEqual(try tok.tokenize("", addSpecial: false, parseSpecial: false), [])
            XCTAssertEqual(try tok.tokenize(UnsafeRawBufferPointer(start: nil, count: 0), addSpecial: false, parseSpecial: true), [])
            XCTAssertEqual(try tok.detokenize([], renderSpecial: true), [])
            // Out-of-range ids throw outOfRange.
            for id: Int32 in [-1, Int32(tok.vocabSize), Int32.max, Int32.min] {
                XCTAssertThrowsError(try tok.detokenize([0, id], renderSpecial: true)) { XCTAssertEqual(($0 as? LoomError)?.status, .outOfRange) }
                XCTAssertThrowsError(try tok.tokenToPiece(id, renderSpecial: true)) { XCTAssertEqual(($0 as? LoomError)?.status, .outOfRange) }
                XCTAssertThrowsError(try tok.tokenText(id)) { XCTAssertEqual(($0 as? LoomError)?.status, .outOfRange) }
                XCTAssertFalse(tok.isControl(id))
                XCTAssertFalse(tok.isEndOfGeneration(id))
            }
            // Long runs without pre-tokenizer breaks (the long-word merge path) and NULs.
            let long = String(repeating: "a", count: 5000) + String(repeating: "\u{0}", count: 100) + String(repeating: "東", count: 3000)
            let ids = try tok.tokenize(long, addSpecial: false, parseSpecial: false)
            XCTAssertEqual(try tok.detokenize(ids, renderSpecial: true, cleanUpSpaces: false), Array(long.utf8), name)
            // Random bytes never trap and (for byte-level BPE) keep every valid character.
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<50 {
                let n = Int.random(in: 0..<300, using: &rng)
                let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let ids = try bytes.withUnsafeBytes { try tok.tokenize($0, addSpecial: true, parseSpecial: Bool.random()) }
                _ = try tok.detokenize(ids, renderSpecial: Bool.random())
            }
            print("bad input (\(name)): no traps, errors thrown for out-of-range ids")
        }
    }

    func testMalformedTokenizerJSON() {
        let bad = ["{}", "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}",
                   "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[42]}}",
                   "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a\"}}}",
                   "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a)\\\\1\"}}}"]
        for j in bad {
            XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(j.utf8)), tokenizerConfig: nil), j)
        }
        XCTAssertThrowsError(try Tokenizer.load(path: "/nonexistent/tokenizer.json"))
    }

    func testStreamingDecoder() throws {
        let tok = try Tokenizer.load(path: TestData.fixture("tiny-llama"))
        let text = "naïve café 東京 🚀 done"
        let ids = try tok.tokenize(text, addSpecial: false, parseSpecial: false)
        var dec = StreamingDecoder(renderSpecial: true)
        var out = ""
        for id in ids {
            let piece = try dec.push(id, tok)
            XCTAssertNotNil(String(validatingUTF8: (piece + [0]).map { CChar(bitPattern: $0) }))
            out += String(decoding: piece, as: UTF8.self)
        }
        out += String(decoding: dec.flush(), as: UTF8.self)
        XCTAssertEqual(out, text)
    }
}
