import Foundation
import LoomCore
import LoomTokenizers
import XCTest

/// BPE training against HF tokenizers' BpeTrainer (references: scripts/gen-bpe-training-refs.py).
final class BPETrainerTests: XCTestCase {
    private func refs() throws -> JSONValue {
        try TestData.json(TestData.fixture("bpe-training-refs.json"))
    }

    /// Byte-level BPE on the Debian licence texts at vocab 1000 and 4000: tokens per byte on
    /// Apache-2.0 within 1% of HF's, the same merges, an exact round trip, and the written
    /// tokenizer.json loading back to the same tokenizer.
    func testLicensesMatchHF() throws {
        let lic = try XCTUnwrap(try refs()["licenses"])
        let folder = try XCTUnwrap(lic["folder"]?.string)
        let fetch = "Debian's base-files package provides it"
        _ = try TestData.requireFile(folder, fetch: fetch)
        let files = try (lic["files"]?.array ?? []).map { try TestData.requireFile(folder + "/" + ($0.string ?? "?"), fetch: fetch) }
        let evalPath = try TestData.requireFile(folder + "/" + (lic["eval_file"]?.string ?? "?"), fetch: fetch)
        let eval = try Data(contentsOf: URL(fileURLWithPath: evalPath))
        let evalText = String(decoding: eval, as: UTF8.self)
        let specials = (lic["special_tokens"]?.array ?? []).compactMap(\.string)
        let hfMerges = (lic["merges"]?.array ?? []).compactMap(\.string)
        let runs = lic["runs"]?.array ?? []
        XCTAssertEqual(runs.count, 2)
        XCTAssertFalse(hfMerges.isEmpty)

        for run in runs {
            let vocabSize = try XCTUnwrap(run["vocab_size"]?.int)
            var trainer = BPETrainer(options: BPETrainingOptions(vocabSize: vocabSize, specialTokens: specials))
            for f in files { try trainer.addFile(f) }
            let start = Date()
            let trained = try trainer.train()
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(trained.tokens.count, run["n_vocab"]?.int)
            XCTAssertEqual(trained.mergeIDs.count, run["n_merges"]?.int)
            XCTAssertEqual(Array(trained.tokens.prefix(specials.count)), specials)

            // Merges: how many of HF's first N are identical (N = HF's count at this size).
            let n = min(run["n_merges"]?.int ?? 0, hfMerges.count)
            let ours = trained.merges.map { $0.0 + " " + $0.1 }
            var same = 0
            while same < min(n, ours.count) && ours[same] == hfMerges[same] { same += 1 }
            XCTAssertEqual(same, n, "first differing merge: #\(same)")

            let tok = try trained.makeTokenizer()
            let ids = try tok.tokenize(evalText, addSpecial: false, parseSpecial: false)
            let hfTokens = try XCTUnwrap(run["eval_tokens"]?.int)
            let tpb = Double(ids.count) / Double(eval.count)
            let hfTPB = Double(hfTokens) / Double(eval.count)
            print(String(format: "BPE training, vocab %d: %.3f s; Apache-2.0: Loom %d tokens (%.5f/byte), "
                + "HF %d (%.5f/byte), ratio %.4f; merges identical to HF: %d/%d",
                vocabSize, seconds, ids.count, tpb, hfTokens, hfTPB, tpb / hfTPB, same, n))
            XCTAssertEqual(tpb / hfTPB, 1, accuracy: 0.01)
            XCTAssertEqual(try tok.detokenize(ids, renderSpecial: true, cleanUpSpaces: false), Array(eval))

            // Written and loaded back from disk: the same tokenizer.
            let path = NSTemporaryDirectory() + "loom-bpe-\(vocabSize)-\(getpid()).json"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try trained.write(to: path)
            let loaded = try Tokenizer.load(path: path)
            XCTAssertEqual(loaded.vocabSize, vocabSize)
            XCTAssertEqual(try loaded.tokenize(evalText, addSpecial: false, parseSpecial: false), ids)
            XCTAssertEqual(loaded.tokenID(forText: specials[0]), 0)
        }
    }

    /// Small in-memory trainings (Unicode, control characters, escapes in special tokens,
    /// min_frequency, Whitespace + unk): the tokenizer.json is byte for byte HF's.
    func testSmallCasesMatchHFByteForByte() throws {
        let cases = try refs()["small"]?.array ?? []
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let name = c["name"]?.string ?? "?"
            let byteLevel = c["byte_level"]?.bool ?? true
            let options = BPETrainingOptions(vocabSize: c["vocab_size"]?.int ?? 0,
                                             specialTokens: (c["special_tokens"]?.array ?? []).compactMap(\.string),
                                             minFrequency: c["min_frequency"]?.int ?? 0, byteLevel: byteLevel,
                                             unkToken: c["unk_token"]?.string)
            var trainer = BPETrainer(options: options)
            for t in (c["texts"]?.array ?? []).compactMap(\.string) { trainer.addText(t) }
            let trained = try trainer.train()
            let expected = try XCTUnwrap(c["tokenizer_json"]?.string)
            XCTAssertEqual(trained.tokenizerJSON(), expected, name)
            // And it loads.
            let tok = try trained.makeTokenizer()
            XCTAssertEqual(tok.vocabSize, trained.tokens.count, name)
        }
    }

    func testTrainedTokenizerRoundTripsAnyText() throws {
        var trainer = BPETrainer(options: BPETrainingOptions(vocabSize: 400, specialTokens: ["<s>"]))
        trainer.addText("the quick brown fox jumps over the lazy dog; the end. 日本語 😀")
        let tok = try trainer.train().makeTokenizer()
        for text in ["never seen: Ωμέγα ∑ 🧪\u{0}\u{7F}", "  spaces\t\n\r\n", "the quick", "<s> the <s>"] {
            let ids = try tok.tokenize(text, addSpecial: false, parseSpecial: false)
            XCTAssertEqual(try tok.decode(ids, renderSpecial: true), text)
        }
        XCTAssertEqual(try tok.tokenize("<s>", addSpecial: false, parseSpecial: true), [0])
    }

    func testSequencesAndThreadsDoNotChangeTheResult() throws {
        let lines = (0..<4000).map { "line \($0 % 97) of the corpus, word\($0 % 13) again and again\n" }
        var one = BPETrainer(options: BPETrainingOptions(vocabSize: 600, threadCount: 1))
        var four = BPETrainer(options: BPETrainingOptions(vocabSize: 600, threadCount: 4))
        for l in lines { one.addText(l); four.addText(l) }
        let a = try one.train(), b = try four.train()
        XCTAssertEqual(a.tokenizerJSON(), b.tokenizerJSON())
        // A file is read one line per sequence: the same as adding the lines.
        let path = NSTemporaryDirectory() + "loom-bpe-lines-\(getpid()).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: path))
        var file = BPETrainer(options: BPETrainingOptions(vocabSize: 600))
        try file.addFile(path)
        XCTAssertEqual(file.sequenceCount, lines.count)
        XCTAssertEqual(try file.train().tokenizerJSON(), a.tokenizerJSON())
    }

    func testBadInputsThrow() throws {
        func fails(_ options: BPETrainingOptions, _ status: LoomStatus = .invalidArgument, texts: [String] = ["a b c"],
                   file: StaticString = #filePath, line: UInt = #line) {
            var t = BPETrainer(options: options)
            for s in texts { t.addText(s) }
            XCTAssertThrowsError(try t.train(), file: file, line: line) { e in
                XCTAssertEqual((e as? LoomError)?.status, status, "\(e)", file: file, line: line)
            }
        }
        fails(BPETrainingOptions(vocabSize: 255))
        fails(BPETrainingOptions(vocabSize: 257, specialTokens: ["<a>", "<b>"]))
        fails(BPETrainingOptions(vocabSize: 0))
        fails(BPETrainingOptions(vocabSize: -5))
        fails(BPETrainingOptions(vocabSize: Int.max))
        fails(BPETrainingOptions(vocabSize: 300, minFrequency: -1))
        fails(BPETrainingOptions(vocabSize: 300, specialTokens: [""]))
        fails(BPETrainingOptions(vocabSize: 300, unkToken: ""))
        fails(BPETrainingOptions(vocabSize: 300, limitAlphabet: -1))
        fails(BPETrainingOptions(vocabSize: 2, byteLevel: false))
        fails(BPETrainingOptions(vocabSize: 10, byteLevel: false), texts: [])
        var t = BPETrainer()
        XCTAssertThrowsError(try t.addFile("/nonexistent/corpus.txt"))
        XCTAssertThrowsError(try t.addFile(NSTemporaryDirectory()))
        var ok = BPETrainer(options: BPETrainingOptions(vocabSize: 300))
        ok.addText("x")
        XCTAssertThrowsError(try ok.train().write(to: "/nonexistent/dir/tokenizer.json"))
        // Invalid UTF-8 is replaced, not fatal.
        var bad = BPETrainer(options: BPETrainingOptions(vocabSize: 300))
        let bytes: [UInt8] = [0x61, 0xFF, 0xC3, 0x28, 0x20, 0xE2, 0x82, 0x61]
        bytes.withUnsafeBytes { bad.addText(utf8: $0) }
        XCTAssertNoThrow(try bad.train().makeTokenizer())
    }
}
