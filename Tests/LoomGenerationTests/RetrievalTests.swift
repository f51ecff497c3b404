import XCTest
import Foundation
import LoomTestSupport
import LoomCore
import LoomModels
@testable import LoomGeneration

/// Chunking, the retrieval index (MiniLM), its file format against hostile edits, citations, and
/// grounded generation with SmolLM2 over Tests/Fixtures/grounding.
final class RetrievalTests: XCTestCase {
    static let folder = TestData.fixtures + "/grounding"
    static var minilm: String { TestData.cache + "/models/all-MiniLM-L6-v2" }

    struct Question {
        let question: String
        let document: String
        let fact: String
    }

    static func questions() throws -> [Question] {
        let json = try JSONParser.parse(try readWholeFile(folder + "/questions.json"))
        return (json["questions"]?.array ?? []).map {
            Question(question: $0["question"]?.string ?? "", document: ($0["document"]?.string ?? "") + ".txt",
                     fact: $0["fact"]?.string ?? "")
        }
    }

    static func documents() throws -> [(id: String, text: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".txt") }.sorted()
        return try names.map { ($0, try String(contentsOfFile: folder + "/" + $0, encoding: .utf8)) }
    }

    // MARK: chunking (no model: whitespace-separated words count as tokens)

    func words(_ s: String) -> Int { s.split(whereSeparator: { $0 == " " || $0 == "\n" }).count }

    func testSentencesAndPassages() throws {
        let text = "One two three. Four five!  Six seven eight nine? \"Ten.\" Eleven\nTwelve thirteen"
        let bytes = Array(text.utf8)
        let sentences = Chunker.sentences(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        XCTAssertEqual(sentences, ["One two three.", "Four five!", "Six seven eight nine?", "\"Ten.\"", "Eleven", "Twelve thirteen"])
        // 3 + 2 | 4 | 1 + 1 + 2 words with max 5 and no overlap.
        let noOverlap = try Chunker.chunk(text, params: ChunkingParams(maxTokens: 5, overlapTokens: 0), countTokens: words)
            .map { String(decoding: bytes[$0], as: UTF8.self) }
        XCTAssertEqual(noOverlap, ["One two three. Four five!", "Six seven eight nine? \"Ten.\"", "Eleven\nTwelve thirteen"])
        // With overlap, a passage starts with the last sentences of the previous one (up to 2 tokens).
        let overlap = try Chunker.chunk(text, params: ChunkingParams(maxTokens: 5, overlapTokens: 2), countTokens: words)
            .map { String(decoding: bytes[$0], as: UTF8.self) }
        XCTAssertEqual(overlap, ["One two three. Four five!", "Four five!", "Six seven eight nine? \"Ten.\"",
                                 "\"Ten.\" Eleven\nTwelve thirteen"])
        // A sentence longer than the limit is cut at whitespace.
        let long = try Chunker.chunk("a b c d e f g h", params: ChunkingParams(maxTokens: 3, overlapTokens: 0), countTokens: words)
        XCTAssertEqual(long.count, 3)
        XCTAssertEqual(try Chunker.chunk("   \n ", params: ChunkingParams(), countTokens: words), [])
        XCTAssertThrowsError(try Chunker.chunk("x", params: ChunkingParams(maxTokens: 4, overlapTokens: 4), countTokens: words))
    }

    func testCitations() {
        XCTAssertEqual(GroundedGeneration.citations(in: "Yes [1], and [2, 3][4]. Not [x] or [5"), [1, 2, 3, 4])
        XCTAssertEqual(GroundedGeneration.citations(in: "no brackets"), [])
    }

    // MARK: the index with MiniLM

    func makeIndex() throws -> RetrievalIndex {
        let encoder = try Model.load(path: try TestData.require(Self.minilm))
        let index = try RetrievalIndex(encoder: encoder, threads: 2)
        for d in try Self.documents() { try index.add(id: d.id, text: d.text, metadata: "{\"topic\": \"\(d.id)\"}") }
        return index
    }

    func testRetrievalRanksTheAnsweringDocumentFirst() throws {
        let index = try makeIndex()
        XCTAssertEqual(index.documentCount, 6)
        for q in try Self.questions() {
            let hits = try index.search(q.question, k: 3)
            XCTAssertEqual(hits.count, 3)
            let top = try index.document(hits[0].document).id
            print("\(q.question) -> \(top) \(hits.map { $0.score })")
            XCTAssertEqual(top, q.document, q.question)
            XCTAssertGreaterThan(hits[0].score, hits[1].score)
        }
        XCTAssertThrowsError(try index.add(id: "volcano.txt", text: "again"))   // ids are unique
        XCTAssertThrowsError(try index.add(id: "empty", text: "  \n"))
        XCTAssertEqual(try index.search("anything", k: 0), [])
    }

    func testSaveLoadAndHostileFiles() throws {
        let index = try makeIndex()
        let dir = NSTemporaryDirectory() + "loom-index-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/docs.loomidx"
        try index.save(path: path)
        let loaded = try RetrievalIndex.load(path: path, encoder: index.embedder.model, threads: 2)
        XCTAssertEqual(loaded.documentCount, index.documentCount)
        XCTAssertEqual(loaded.passageCount, index.passageCount)
        XCTAssertEqual(try loaded.document(2), try index.document(2))
        XCTAssertEqual(try loaded.passage(1), try index.passage(1))
        let q = try Self.questions()[0].question
        XCTAssertEqual(try loaded.search(q, k: 4), try index.search(q, k: 4))

        let good = try readWholeFile(path)
        func rejects(_ bytes: [UInt8], _ what: String) {
            let bad = dir + "/bad.loomidx"
            FileManager.default.createFile(atPath: bad, contents: Data(bytes))
            XCTAssertThrowsError(try RetrievalIndex.load(path: bad, encoder: index.embedder.model), what) { e in
                XCTAssertFalse((e as? LoomError)?.message.isEmpty ?? true, what)
            }
        }
        for cut in [0, 7, 31, 40, good.count - 1] { rejects(Array(good.prefix(cut)), "cut at \(cut)") }
        var b = good; b[0] = 0x58; rejects(b, "magic")
        b = good; b[8] = 2; rejects(b, "version")
        b = good; b[12] = 0xFF; b[13] = 0xFF; rejects(b, "dimension")
        b = good; b[23] = 0x7F; rejects(b, "passage count")
        b = good; b[31] = 0x7F; rejects(b, "JSON length")
        b = good; b[32] = UInt8(ascii: "["); rejects(b, "JSON shape")
        b = good; b[good.count - 2] = 0xC0; b[good.count - 1] = 0x7F; rejects(b, "NaN embedding")
        // A passage range outside its document, found in the JSON text and edited in place.
        let json = String(decoding: good[32..<(32 + Int(good[24]) + Int(good[25]) << 8)], as: UTF8.self)
        if let r = json.range(of: "\"passages\": [[0, 0, ") {
            var edited = good
            let at = 32 + json.utf8.distance(from: json.startIndex, to: r.upperBound)
            edited[at] = UInt8(ascii: "9")
            edited[at + 1] = UInt8(ascii: "9")
            edited[at + 2] = UInt8(ascii: "9")
            rejects(edited, "passage range")
        } else {
            XCTFail("the passages list was not where expected")
        }
        // Another encoder width is refused.
        let tiny = try Model.load(path: TestData.fixtures + "/tiny-bert")
        XCTAssertThrowsError(try RetrievalIndex.load(path: path, encoder: tiny))
    }

    // MARK: grounded generation with SmolLM2

    func testGroundedAnswerListsTheAnsweringDocument() throws {
        let index = try makeIndex()
        let model = try Model.load(path: try TestData.require(TestData.smollm2))
        let context = try Context(model: model, params: ContextParams(contextLength: 2048, threads: 2, maxSequences: 1))
        var facts = 0
        let questions = try Self.questions()
        for q in questions.prefix(3) {
            let answer = try GroundedGeneration.answer(context: context, index: index, question: q.question,
                                                       params: .init(k: 3, generation: GenerationParams(maxTokens: 40)))
            print("\(q.question) -> \(answer.text.debugDescription) sources \(answer.sources.map(\.documentID))")
            XCTAssertEqual(answer.sources.count, 3)
            XCTAssertEqual(answer.sources.first?.documentID, q.document)
            XCTAssertEqual(answer.sources.map(\.number), [1, 2, 3])
            XCTAssertTrue(answer.prompt.contains("[1] (\(q.document))"))
            if answer.text.lowercased().contains(q.fact.lowercased()) { facts += 1 }
        }
        print("grounded answers naming the key fact: \(facts)/3")
        XCTAssertGreaterThanOrEqual(facts, 2)
    }
}
