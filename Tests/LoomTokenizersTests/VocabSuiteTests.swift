import Foundation
import LoomCore
import LoomFormats
@testable import LoomTokenizers
import XCTest

/// llama.cpp's tokenizer test suite (models/ggml-vocab-*.gguf with .inp/.out), run the way its
/// test-tokenizer-0 does: add_special = false, parse_special = false; every case must give
/// exactly the expected ids.
final class VocabSuiteTests: XCTestCase {
    /// Every vocabulary of the suite that has .inp/.out, by family (each family's test below).
    static let bpe = ["gpt-2", "llama-bpe", "starcoder", "falcon", "deepseek-llm", "qwen2", "refact", "mpt",
                      "deepseek-coder", "command-r", "qwen35"]
    static let sentencePieceBPE = ["llama-spm", "phi-3"]
    static let gemma4 = ["gemma-4"]
    static let wordPiece = ["bert-bge"]
    static var all: [String] { bpe + sentencePieceBPE + gemma4 + wordPiece }

    /// How detokenize relates to the input for a vocabulary family.
    enum RoundTrip {
        /// Pieces concatenate back to the input bytes exactly (byte-level BPE).
        case exact
        /// Not checked here (lossy: normalization, unknown tokens); the family's own tests cover decoding.
        case unchecked
    }

    /// Reads a suite's cases as llama.cpp's read_tests does.
    static func cases(_ base: String) throws -> [(String, [Int32])] {
        let raw = try Data(contentsOf: URL(fileURLWithPath: base + ".inp"))
        let text = String(decoding: raw, as: UTF8.self)
        let sep = "\n__ggml_vocab_test__\n"
        var inputs: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if let r = rest.range(of: sep) {
                inputs.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            } else {
                inputs.append(String(rest))
                break
            }
        }
        let outText = String(decoding: try Data(contentsOf: URL(fileURLWithPath: base + ".out")), as: UTF8.self)
        var outs = outText.components(separatedBy: "\n")
        if outs.last == "" { outs.removeLast() }
        XCTAssertEqual(inputs.count, outs.count, "\(base): input and output case counts differ")
        return zip(inputs, outs).map { inp, out in
            (inp, out.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) })
        }
    }

    @discardableResult
    func runSuite(_ name: String, roundTrip: RoundTrip = .exact) throws -> (Int, Int) {
        let base = TestData.cache + "/vocab-suite/ggml-vocab-\(name).gguf"
        _ = try TestData.requireFile(base, fetch: "scripts/fetch-test-data.sh")
        let tok = try Tokenizer.load(path: base)
        let cases = try Self.cases(base)
        var pass = 0
        var roundTrips = 0
        for (text, expected) in cases {
            let got = try tok.tokenize(text, addSpecial: false, parseSpecial: false)
            if got == expected {
                pass += 1
            } else {
                XCTFail("\(name): \(text.debugDescription)\n  expected \(expected)\n  got      \(got)")
            }
            guard roundTrip == .exact else { continue }
            // Byte-level BPE is lossless at the piece level.
            let raw = try tok.detokenize(got, renderSpecial: true, cleanUpSpaces: false)
            if raw == Array(text.utf8) { roundTrips += 1 } else { XCTFail("\(name): pieces of \(text.debugDescription) do not concatenate back") }
            // And detokenize equals the input after the model's clean-up.
            let cleaned = try tok.detokenize(got, renderSpecial: true)
            XCTAssertEqual(cleaned, tok.cleanUp.apply(Array(text.utf8)), "\(name): detokenize of \(text.debugDescription)")
        }
        print("vocab-suite \(name) (pre \(tok.preTokenizerName)): \(pass)/\(cases.count) identical, \(roundTrips)/\(cases.count) round trips")
        return (pass, cases.count)
    }

    func testByteLevelBPEVocabularies() throws {
        var total = 0, passed = 0
        for name in Self.bpe {
            let (p, n) = try runSuite(name)
            passed += p
            total += n
        }
        print("vocab-suite byte-level BPE: \(passed)/\(total) identical")
    }
}
