import Foundation
import LoomCore
import LoomFormats
@testable import LoomTokenizers
import XCTest

/// llama.cpp's tokenizer test suite (models/ggml-vocab-*.gguf with .inp/.out), run the way its
/// test-tokenizer-0 does: add_special = false, parse_special = false; every case must give
/// exactly the expected ids.
final class VocabSuiteTests: XCTestCase {
    static let required = ["gpt-2", "llama-bpe", "starcoder", "falcon", "deepseek-llm", "qwen2", "refact", "mpt"]
    static let extra = ["deepseek-coder", "command-r", "qwen35"]

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

    func runSuite(_ name: String, required: Bool) throws -> (Int, Int) {
        let base = TestData.cache + "/vocab-suite/ggml-vocab-\(name).gguf"
        if !FileManager.default.fileExists(atPath: base) {
            if required { _ = try TestData.requireFile(base, fetch: "scripts/fetch-test-data.sh") }
            return (0, 0)
        }
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

    func testRequiredVocabularies() throws {
        var total = 0, passed = 0
        for name in Self.required {
            let (p, n) = try runSuite(name, required: true)
            passed += p
            total += n
        }
        print("vocab-suite required: \(passed)/\(total) identical")
    }

    func testExtraVocabularies() throws {
        for name in Self.extra { _ = try runSuite(name, required: false) }
    }

    func testNonBPEVocabulariesAreRejected() throws {
        let base = TestData.cache + "/vocab-suite/ggml-vocab-llama-spm.gguf"
        guard FileManager.default.fileExists(atPath: base) else { throw XCTSkip("no vocab suite") }
        XCTAssertThrowsError(try Tokenizer.load(path: base)) { e in
            XCTAssertEqual((e as? LoomError)?.status, .unsupported)
        }
    }
}
