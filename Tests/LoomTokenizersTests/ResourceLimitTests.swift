import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// Hostile tokenizer.json files (RELIABILITY.md, "Limits"): catastrophic regexes end with an error
/// naming the cause, within the regex step budget.
final class ResourceLimitTests: XCTestCase {
    func splitTokenizer(_ pattern: String) throws -> Tokenizer {
        let escaped = pattern.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let text = """
            {"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "[UNK]": 2}, "unk_token": "[UNK]"},
             "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\(escaped)"}, "behavior": "Isolated", "invert": false}}
            """
        return try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(text.utf8)), tokenizerConfig: nil)
    }

    func testCatastrophicSplitPatternsStopWithAnError() throws {
        // Nested quantifiers and alternations that backtrack exponentially on a failing suffix; the
        // lookahead form is not covered by the matcher's memo of visited states. The long texts must
        // end in the error (the short ones may finish within the budget).
        let long = String(repeating: "a", count: 30_000) + "b"
        for (pattern, text, mustFail) in [("(a+)+$", String(repeating: "a", count: 3000) + "b", false),
                                          ("(a+)+$", long, true),
                                          ("(?=(a+)+$)a", String(repeating: "a", count: 40) + "b", false),
                                          ("(a|aa)+$", String(repeating: "a", count: 3000) + "b", false),
                                          ("(a|aa)+$", long, false),
                                          ("(?=(a|a)*$)a", String(repeating: "a", count: 40) + "b", false)] {
            let tok = try splitTokenizer(pattern)
            let started = Date()
            var failed = false
            do {
                _ = try tok.tokenize(text, addSpecial: false, parseSpecial: false)
            } catch let e as LoomError {
                failed = true
                XCTAssertTrue(e.message.contains("catastrophic backtracking"), "\(pattern): \(e.message)")
            }
            if mustFail { XCTAssertTrue(failed, "\(pattern) on \(text.count) code points") }
            let seconds = Date().timeIntervalSince(started)
            print("regex \(pattern) on \(text.count) code points: \(failed ? "refused" : "finished") after \(String(format: "%.3f", seconds)) s")
            // The budget is 1M steps + 256 per code point: well under a minute even in debug builds.
            XCTAssertLessThan(seconds, 60, pattern)
        }
    }

    /// A few tokens with huge ids: refused, instead of tables of millions of empty slots (found by
    /// the tokenizer_json fuzz target: a 10 KB file with one id of 126345 took 0.5 s of CPU to load).
    func testSparseVocabularyIsRefused() throws {
        for vocab in ["{\"a\": 0, \"b\": 16000000}", "{\"a\": 0, \"b\": 126345}"] {
            let text = "{\"model\": {\"type\": \"WordLevel\", \"vocab\": \(vocab), \"unk_token\": \"a\"}}"
            XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(text.utf8)), tokenizerConfig: nil)) {
                XCTAssertTrue(($0 as? LoomError)?.message.contains("leaves most of the vocabulary empty") ?? false, "\($0)")
            }
        }
        let added = "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}, " +
            "\"added_tokens\": [{\"id\": 9000000, \"content\": \"<x>\", \"special\": true}]}"
        XCTAssertThrowsError(try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(added.utf8)), tokenizerConfig: nil))
        // Small holes stay fine.
        let holes = "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0, \"b\": 1000}, \"unk_token\": \"a\"}}"
        XCTAssertEqual(try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(holes.utf8)), tokenizerConfig: nil).vocabSize, 1001)
    }
}
