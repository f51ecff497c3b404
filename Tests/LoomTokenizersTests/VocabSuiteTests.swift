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
        /// Pieces concatenate back to the input bytes exactly (byte-level BPE; SentencePiece once
        /// detokenize has dropped its space prefix).
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

    /// llama.cpp SPM (GGUF "llama"): byte fallback makes it lossless, and detokenize drops the
    /// space the tokenizer put in front (add_space_prefix), so pieces give the input back exactly.
    func testSentencePieceBPEVocabularies() throws {
        var total = 0, passed = 0
        for name in Self.sentencePieceBPE {
            let (p, n) = try runSuite(name, roundTrip: .exact)
            passed += p
            total += n
        }
        print("vocab-suite SentencePiece: \(passed)/\(total) identical")
    }

    /// Gemma 4 (GGUF "gemma4", SentencePiece-style BPE): lossless with byte fallback; detokenize
    /// equals the input after llama.cpp's clean_spaces.
    func testGemma4Vocabulary() throws {
        var total = 0, passed = 0
        for name in Self.gemma4 {
            let (p, n) = try runSuite(name, roundTrip: .exact)
            passed += p
            total += n
        }
        print("vocab-suite Gemma 4: \(passed)/\(total) identical")
    }

    /// llama.cpp WPM (GGUF "bert"): normalization loses information, so pieces are not compared
    /// with the input here (WordPieceTests compares detokenize with llama.cpp's).
    func testWordPieceVocabulary() throws {
        var total = 0, passed = 0
        for name in Self.wordPiece {
            let (p, n) = try runSuite(name, roundTrip: .unchecked)
            passed += p
            total += n
        }
        print("vocab-suite WordPiece: \(passed)/\(total) identical")
    }

    /// Every vocabulary's cases from 4 threads at once on one shared tokenizer: identical to the
    /// single-threaded ids.
    func testConcurrentTokenizationIsIdentical() throws {
        var vocabularies = 0, totalCases = 0
        for name in Self.all {
            let base = TestData.cache + "/vocab-suite/ggml-vocab-\(name).gguf"
            _ = try TestData.requireFile(base, fetch: "scripts/fetch-test-data.sh")
            let tok = try Tokenizer.load(path: base)
            let cases = try Self.cases(base).map(\.0)
            let expected = try cases.map { try tok.tokenize($0, addSpecial: false, parseSpecial: false) }
            let threads = 4
            let results = UnsafeMutableBufferPointer<[[Int32]]>.allocate(capacity: threads)
            results.initialize(repeating: [])
            defer { results.deinitialize(); results.deallocate() }
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var mine: [[Int32]] = []
                for round in 0..<3 {
                    // Each thread walks the cases from a different start so different inputs overlap in time.
                    for k in 0..<cases.count {
                        let i = (k + t * cases.count / threads) % cases.count
                        let ids = (try? tok.tokenize(cases[i], addSpecial: false, parseSpecial: false)) ?? [-1]
                        if round == 2 { mine.append(ids) } else if ids != expected[i] { mine.append([-2]) }
                    }
                }
                results[t] = mine
            }
            for t in 0..<threads {
                let reordered = (0..<cases.count).map { k in (k + t * cases.count / threads) % cases.count }
                XCTAssertEqual(results[t].count, cases.count, "\(name): thread \(t) saw a mismatch in an early round")
                for (k, i) in reordered.enumerated() where k < results[t].count && results[t][k] != expected[i] {
                    XCTFail("\(name): thread \(t) got different ids for case \(i)")
                }
            }
            vocabularies += 1
            totalCases += cases.count
        }
        print("vocab-suite concurrency: \(vocabularies) vocabularies, \(totalCases) cases x 3 rounds from 4 threads, identical to one thread")
    }

    /// Every GGUF of the suite loads (those without .inp/.out too: aquila, baichuan, gpt-neox,
    /// nomic-bert-moe) and round-trips a plain sentence through tokenize/detokenize.
    func testEveryVocabularyLoads() throws {
        let dir = TestData.cache + "/vocab-suite"
        _ = try TestData.requireFile(dir + "/ggml-vocab-gpt-2.gguf", fetch: "scripts/fetch-test-data.sh")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".gguf") }.sorted()
        var loaded: [String] = []
        for f in files {
            do {
                let tok = try Tokenizer.load(path: dir + "/" + f)
                let ids = try tok.tokenize("Hello world, this is a test.", addSpecial: false, parseSpecial: false)
                XCTAssertFalse(ids.isEmpty, f)
                let text = try tok.decode(ids, renderSpecial: false)
                XCTAssertTrue(text.lowercased().contains("hello world"), "\(f): decoded \(text.debugDescription)")
                loaded.append(f)
            } catch {
                XCTFail("\(f) does not load: \(error)")
            }
        }
        print("vocab-suite: \(loaded.count)/\(files.count) GGUF vocabularies load")
    }
}
