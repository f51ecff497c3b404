import XCTest
import Foundation
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomKernels
@testable import LoomModels

/// BERT against HF transformers' fp32 references (tiny-bert) and sentence-transformers (all-MiniLM-L6-v2).
final class BertTests: XCTestCase {
    static let tinyBert = TestData.fixtures + "/tiny-bert"

    struct Sentence {
        let ids: [Int32]
        let maskedIDs: [Int32]
    }

    static func sentences() throws -> [Sentence] {
        let json = try JSONParser.parse(try readWholeFile(tinyBert + "/refs.json"))
        return (json["sentences"]?.array ?? []).map { s in
            Sentence(ids: (s["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) },
                     maskedIDs: (s["masked_ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) })
        }
    }

    func maxDiff(_ a: some Collection<Float>, _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Max |Δ| of the last hidden states (and MLM logits when the model has the head) of every sentence.
    func compare(model path: String, logits: Bool) throws -> (hidden: Float, logits: Float) {
        let model = try Model.load(path: path)
        let encoder = try XCTUnwrap(model.encoder)
        XCTAssertNil(model.network)
        let refs = try SafetensorsFile(path: Self.tinyBert + "/refs.safetensors")
        let pool = ThreadPool(threadCount: 2)
        var worstHidden: Float = 0, worstLogits: Float = 0
        for (i, s) in try Self.sentences().enumerated() {
            let out = try encoder.encode([s.maskedIDs], pool: pool)
            worstHidden = max(worstHidden, maxDiff(out.hiddenStates, try refs.floats("sentence\(i).last_hidden_state")))
            XCTAssertEqual(encoder.hasTokenLogitsHead, logits)
            guard logits else { continue }
            var got = [Float](repeating: 0, count: s.maskedIDs.count * encoder.vocabSize)
            try out.hiddenStates.withUnsafeBufferPointer { h in
                try got.withUnsafeMutableBufferPointer { l in
                    try encoder.tokenLogits(hidden: h.baseAddress!, count: s.maskedIDs.count, logits: l.baseAddress!, pool: pool)
                }
            }
            worstLogits = max(worstLogits, maxDiff(got, try refs.floats("sentence\(i).mlm_logits")))
        }
        return (worstHidden, worstLogits)
    }

    func testTinyBertHFFolder() throws {
        let d = try compare(model: Self.tinyBert, logits: true)
        print("tiny-bert HF folder vs HF fp32: max|Δhidden| = \(d.hidden), max|Δmlm_logit| = \(d.logits)")
        XCTAssertLessThanOrEqual(d.hidden, 1e-4)
        XCTAssertLessThanOrEqual(d.logits, 1e-4)
    }

    func testTinyBertGGUF() throws {
        let d = try compare(model: Self.tinyBert + "/model.f32.gguf", logits: false)
        print("tiny-bert f32 GGUF vs HF fp32: max|Δhidden| = \(d.hidden)")
        XCTAssertLessThanOrEqual(d.hidden, 1e-4)
    }

    /// Rows of different lengths in one batch give what each row gives alone.
    func testBatchOfDifferentLengthsEqualsRowsAlone() throws {
        let model = try Model.load(path: Self.tinyBert)
        let encoder = try XCTUnwrap(model.encoder)
        let s = try Self.sentences()
        let rows = [s[0].ids, s[1].ids, Array(s[1].ids.prefix(5)), s[0].maskedIDs, [2, 3]]
        let pool = ThreadPool(threadCount: 2)
        let batch = try encoder.encode(rows, pool: pool)
        var worst: Float = 0
        for (r, row) in rows.enumerated() {
            let alone = try encoder.encode([row], pool: ThreadPool(threadCount: 1))
            worst = max(worst, maxDiff(batch.row(r), alone.hiddenStates))
        }
        print("padded batch vs rows alone: max|Δhidden| = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    func testBadInputs() throws {
        let model = try Model.load(path: Self.tinyBert)
        let encoder = try XCTUnwrap(model.encoder)
        XCTAssertThrowsError(try encoder.encode([[2, -1, 3]], threads: 1))
        XCTAssertThrowsError(try encoder.encode([[2, 512, 3]], threads: 1))
        XCTAssertThrowsError(try encoder.encode([[]], threads: 1))
        XCTAssertThrowsError(try encoder.encode([[Int32](repeating: 5, count: 129)], threads: 1))
        XCTAssertThrowsError(try encoder.encode([[2, 3]], tokenTypes: [[0, 2]], threads: 1))
        XCTAssertThrowsError(try encoder.encode([[2, 3]], tokenTypes: [[0]], threads: 1))
        XCTAssertThrowsError(try encoder.encode([[2, 3]], threads: 0))
        XCTAssertThrowsError(try Context(model: model))
        let gguf = try Model.load(path: Self.tinyBert + "/model.f32.gguf")
        XCTAssertThrowsError(try gguf.encoder?.tokenLogits(hidden: [Float](repeating: 0, count: 64), count: 1,
                                                           logits: UnsafeMutablePointer<Float>.allocate(capacity: 512),
                                                           pool: ThreadPool(threadCount: 1)))
        // Token types are an input too: segment B is accepted.
        XCTAssertNoThrow(try encoder.encode([[2, 3]], tokenTypes: [[0, 1]], threads: 1))
    }

    /// A config.json that disagrees with the weights, or describes an unsupported variant, throws.
    func testInconsistentConfigThrows() throws {
        let original = String(decoding: try readWholeFile(Self.tinyBert + "/config.json"), as: UTF8.self)
        let cases = [("\"hidden_size\": 64", "\"hidden_size\": 32"), ("\"intermediate_size\": 128", "\"intermediate_size\": 100"),
                     ("\"num_attention_heads\": 4", "\"num_attention_heads\": 5"), ("\"vocab_size\": 512", "\"vocab_size\": 0"),
                     ("\"max_position_embeddings\": 128", "\"max_position_embeddings\": 1000000000"),
                     ("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"swish\""), ("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3")]
        let dir = NSTemporaryDirectory() + "/loom-bert-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
            try FileManager.default.copyItem(atPath: Self.tinyBert + "/" + name, toPath: dir + "/" + name)
        }
        for (from, to) in cases {
            XCTAssertTrue(original.contains(from), from)
            try original.replacingOccurrences(of: from, with: to).write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try Model.load(path: dir), to) { e in XCTAssertNotNil(e as? LoomError) }
        }
    }

    func testPoolingModes() throws {
        // Two rows: [[1, 2], [3, -4]] and [[0, 5]] (hidden size 2).
        let out = EncoderOutput(hiddenSize: 2, rowLengths: [2, 1], hiddenStates: [1, 2, 3, -4, 0, 5], rowStarts: [0, 2])
        XCTAssertEqual(Pooling(mode: .mean).apply(out), [[2, -1], [0, 5]])
        XCTAssertEqual(Pooling(mode: .cls).apply(out), [[1, 2], [0, 5]])
        XCTAssertEqual(Pooling(mode: .max).apply(out), [[3, 2], [0, 5]])
        XCTAssertEqual(Pooling(mode: .none).apply(out), [[1, 2, 3, -4], [0, 5]])
        XCTAssertEqual(Pooling(mode: .cls, normalize: true).apply(out)[1], [0, 1])
        let sqrtLen = Pooling(mode: .meanSqrtLength).apply(out)[0]
        XCTAssertEqual(sqrtLen[0], 4 / Float(2).squareRoot(), accuracy: 1e-6)

        let dir = NSTemporaryDirectory() + "/loom-pooling-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir + "/1_Pooling", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertNil(try Pooling.sentenceTransformers(folder: dir))
        try #"[{"idx":0,"path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#
            .write(toFile: dir + "/modules.json", atomically: true, encoding: .utf8)
        try #"{"word_embedding_dimension": 2, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#
            .write(toFile: dir + "/1_Pooling/config.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Pooling.sentenceTransformers(folder: dir), Pooling(mode: .cls, normalize: false))
        try #"[{"path":"../elsewhere","type":"sentence_transformers.models.Pooling"}]"#
            .write(toFile: dir + "/modules.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Pooling.sentenceTransformers(folder: dir))
    }

    func testKernelsAgainstReferences() {
        var x = (0..<1000).map { Float($0 - 500) / 60 }
        var ref = x
        x.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, $0.count) }
        ref.withUnsafeMutableBufferPointer { geluErfReference($0.baseAddress!, $0.count) }
        let geluDiff = maxDiff(x, ref)
        print("geluErf vs f64 erf: max|Δ| = \(geluDiff)")
        XCTAssertLessThanOrEqual(geluDiff, 2e-6)

        let heads = 3, hd = 8, n = 60, w = heads * hd
        var rng = SystemRandomNumberGenerator()
        let q = (0..<(n * w)).map { _ in Float.random(in: -2...2, using: &rng) }
        let k = (0..<(n * w)).map { _ in Float.random(in: -2...2, using: &rng) }
        let v = (0..<(n * w)).map { _ in Float.random(in: -2...2, using: &rng) }
        var fast = [Float](repeating: 0, count: n * w), slow = fast
        let segments = [0..<4, 4..<5, 5..<11, 11..<60]   // the last one takes the GEMM path
        segmentAttention(q: q, k: k, v: v, out: &fast, segments: segments, heads: heads, headDim: hd, pool: ThreadPool(threadCount: 2))
        segmentAttentionReference(q: q, k: k, v: v, out: &slow, segments: segments, heads: heads, headDim: hd)
        let attnDiff = maxDiff(fast, slow)
        print("segmentAttention vs f64 reference: max|Δ| = \(attnDiff)")
        XCTAssertLessThanOrEqual(attnDiff, 1e-5)
    }

    /// all-MiniLM-L6-v2 embeddings against sentence-transformers (mean pooling + Normalize).
    func testMiniLMEmbeddings() throws {
        try checkMiniLM(precision: .f32)
    }

    /// The same with bf16 weight matmuls (AMX / AVX512-BF16 where the CPU has them): the same bar.
    func testMiniLMEmbeddingsBF16() throws {
        print("bf16 matmuls run on: \(LowPrecisionKernel.best(for: .bf16))")
        try checkMiniLM(precision: .bf16)
    }

    /// The same with f16 weight matmuls (AVX512-FP16 where the CPU has it).
    func testMiniLMEmbeddingsF16() throws {
        print("f16 matmuls run on: \(LowPrecisionKernel.best(for: .f16))")
        try checkMiniLM(precision: .f16)
    }

    /// tiny-bert's hidden states with every available kernel forced stay close to f32's.
    func testTinyBertReducedPrecisionKernels() throws {
        guard let bert = try Model.load(path: Self.tinyBert).encoder as? BertModel else { return XCTFail("not a BertModel") }
        let rows = try Self.sentences().map(\.maskedIDs)
        let flat = Array(rows.joined())
        let pool = ThreadPool(threadCount: 2)
        func run(_ kernel: LowPrecisionKernel) throws -> [Float] {
            var out = [Float](repeating: 0, count: flat.count * bert.hiddenSize)
            try flat.withUnsafeBufferPointer { t in
                try out.withUnsafeMutableBufferPointer { o in
                    try bert.encode(tokens: t, rowLengths: rows.map(\.count), tokenTypes: nil, hidden: o.baseAddress!,
                                    pool: pool, kernel: kernel)
                }
            }
            return out
        }
        let exact = try run(.f32)
        XCTAssertEqual(exact, try bert.encode(rows, pool: pool).hiddenStates)
        for kernel in LowPrecisionKernel.allCases where kernel != .f32 {
            let got = try run(kernel)
            if !kernel.isAvailable { XCTAssertEqual(got, exact, "unavailable \(kernel) runs f32"); continue }
            let diff = maxDiff(got, exact)
            print("tiny-bert \(kernel) vs f32: max|Δ| = \(diff)")
            XCTAssertLessThanOrEqual(diff, 0.05)
        }
    }

    func checkMiniLM(precision: MatmulPrecision) throws {
        let path = try TestData.require(TestData.cache + "/models/all-MiniLM-L6-v2")
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/real/minilm-refs.json"))
        let items = json["sentences"]?.array ?? []
        let texts = items.compactMap { $0["text"]?.string }
        let refIDs = items.map { ($0["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) } }
        let refs = try SafetensorsFile(path: TestData.fixtures + "/real/minilm-refs.safetensors").floats("embeddings")
        XCTAssertEqual(texts.count, 8)

        let embedder = try Embedder(model: try Model.load(path: path))
        XCTAssertEqual(embedder.pooling, Pooling(mode: .mean, normalize: true))
        XCTAssertEqual(embedder.maxSequenceLength, 256)
        XCTAssertEqual(try embedder.tokenize(texts), refIDs)
        let got = try embedder.embed(texts, batchSize: 3, threads: 2, precision: precision)
        let d = embedder.dimension
        XCTAssertEqual(refs.count, texts.count * d)

        func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
            var ab = 0.0, aa = 0.0, bb = 0.0
            for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
            return ab / (aa * bb).squareRoot()
        }
        func nearest(_ rows: [ArraySlice<Float>], _ i: Int) -> Int {
            (0..<rows.count).filter { $0 != i }.max { cosine(rows[i], rows[$0]) < cosine(rows[i], rows[$1]) } ?? -1
        }
        let refRows = (0..<texts.count).map { refs[($0 * d)..<(($0 + 1) * d)] }
        let gotRows = got.map { $0[...] }
        var minCosine = 1.0
        for i in 0..<texts.count {
            minCosine = min(minCosine, cosine(gotRows[i], refRows[i]))
            XCTAssertEqual(nearest(gotRows, i), nearest(refRows, i), "nearest neighbour of sentence \(i)")
        }
        print("all-MiniLM-L6-v2 (\(precision) matmuls) vs sentence-transformers: min cosine = \(minCosine)")
        XCTAssertGreaterThanOrEqual(minCosine, 0.9999)
    }
}
