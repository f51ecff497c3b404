import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// tokenizer.json pipelines: every normalizer, pre-tokenizer, post-processor and decoder Loom
/// implements, swapped into small BPE tokenizers, against HF tokenizers 0.23.3
/// (Tests/Fixtures/tokenizers/pipeline, made by scripts/gen-pipeline-cases.py).
final class PipelineTests: XCTestCase {
    func testVariantsMatchHF() throws {
        let dir = TestData.fixture("pipeline")
        let refs = try TestData.json(dir + "/cases.json")
        var variants = 0, cases = 0, idsOK = 0, decodeOK = 0
        var failedVariants: [String] = []
        for v in refs["variants"]?.array ?? [] {
            let name = v["name"]?.string ?? "?"
            variants += 1
            let tok: Tokenizer
            do {
                tok = try Tokenizer.load(path: dir + "/" + (v["file"]?.string ?? ""))
            } catch {
                XCTFail("\(name): does not load: \(error)")
                failedVariants.append(name)
                continue
            }
            var bad = 0
            for c in v["cases"]?.array ?? [] {
                let text = c["text"]?.string ?? ""
                let addSpecial = c["add_special"]?.bool ?? false
                let expected = [Int32](json: c["ids"])
                cases += 1
                let got = try tok.tokenize(text, addSpecial: addSpecial, parseSpecial: true)
                if got == expected {
                    idsOK += 1
                } else {
                    bad += 1
                    if bad <= 3 { XCTFail("\(name) \(text.debugDescription) add_special=\(addSpecial):\n  expected \(expected)\n  got      \(got)") }
                    continue
                }
                let decoded = try tok.decode(expected, renderSpecial: true)
                let decodedSkip = try tok.decode(expected, renderSpecial: false)
                if decoded == c["decoded"]?.string && decodedSkip == c["decoded_skip_special"]?.string {
                    decodeOK += 1
                } else {
                    bad += 1
                    if bad <= 3 {
                        XCTFail("\(name) decode of \(text.debugDescription):\n  expected \((c["decoded"]?.string ?? "").debugDescription) / \((c["decoded_skip_special"]?.string ?? "").debugDescription)\n  got      \(decoded.debugDescription) / \(decodedSkip.debugDescription)")
                    }
                }
            }
            if bad > 0 { failedVariants.append(name) }
        }
        print("pipeline variants: \(variants - failedVariants.count)/\(variants) fully identical; ids \(idsOK)/\(cases), decode \(decodeOK)/\(idsOK)")
        if !failedVariants.isEmpty { print("pipeline variants with differences: \(failedVariants)") }
    }
}
