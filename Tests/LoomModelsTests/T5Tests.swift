import XCTest
import Foundation
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomKernels
import LoomTokenizers
@testable import LoomModels

/// Loom's T5 encoder-decoder against HF transformers' fp32 references for tiny-t5 (gated-gelu,
/// 32 relative buckets, tied embeddings, no decoder output scaling).
final class T5Tests: XCTestCase {
    static let folder = TestData.fixtures + "/tiny-t5"

    struct Input {
        let text: String
        let ids: [Int32]
        let decoderIDs: [Int32]
        let greedy: [Int32]
    }

    static func inputs() throws -> [Input] {
        let json = try JSONParser.parse(try readWholeFile(folder + "/refs.json"))
        func ints(_ v: JSONValue?) -> [Int32] { (v?.array ?? []).compactMap { $0.int.map(Int32.init) } }
        return (json["inputs"]?.array ?? []).map { p in
            Input(text: p["text"]?.string ?? "", ids: ints(p["ids"]), decoderIDs: ints(p["decoder_input_ids"]), greedy: ints(p["generate"]?["greedy"]))
        }
    }

    static func loadModel(_ path: String = folder) throws -> T5Model {
        let hf = try HFFolder(path: path, loadWeights: true)
        return try T5Model.load(weights: WeightSource(path: path, source: .hf(hf)))
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testEncoderStatesAndDecoderLogitsMatchHF() throws {
        let model = try Self.loadModel()
        let refs = try SafetensorsFile(path: Self.folder + "/refs.safetensors")
        let inputs = try Self.inputs()
        XCTAssertEqual(inputs.count, 2)
        for threads in [1, 2] {
            let pool = ThreadPool(threadCount: threads)
            for (i, input) in inputs.enumerated() {
                let states = try model.encode(input.ids, pool: pool)
                let expectedStates = try refs.floats("input\(i).encoder_last_hidden_state")
                XCTAssertEqual(states.values.count, expectedStates.count)
                let dStates = Self.maxDiff(states.values, expectedStates)
                print("tiny-t5 input\(i) encoder_last_hidden_state (\(threads) threads): max|Δ| = \(dStates)")
                XCTAssertLessThanOrEqual(dStates, 1e-4)

                let logits = try model.decoderLogits(states, input.decoderIDs, pool: pool)
                let expectedLogits = try refs.floats("input\(i).decoder_logits")
                XCTAssertEqual(logits.count, expectedLogits.count)
                let dLogits = Self.maxDiff(logits, expectedLogits)
                print("tiny-t5 input\(i) decoder_logits (\(threads) threads): max|Δ| = \(dLogits)")
                XCTAssertLessThanOrEqual(dLogits, 1e-4)
            }
        }
    }

    /// From text: the Unigram tokenizer's ids (with `</s>`), then greedy generation.
    func testGreedyGenerationMatchesHF() throws {
        let model = try Self.loadModel()
        let tokenizer = try Tokenizer.load(path: Self.folder)
        for (i, input) in try Self.inputs().enumerated() {
            XCTAssertEqual(try tokenizer.tokenize(input.text, addSpecial: true, parseSpecial: false), input.ids)
            let got = try model.generateGreedy(input.ids, maxNewTokens: 12)
            print("tiny-t5 input\(i) greedy: \(got)")
            XCTAssertEqual(got, input.greedy)
        }
    }

    /// `Model.load` of the folder gives the encoder-decoder (no decoder-only network, no encoder), and
    /// Model-level greedy generation from ids and from text equals HF's (without the decoder start token).
    func testModelLoadsT5AndGeneratesGreedy() throws {
        let model = try Model.load(path: Self.folder)
        XCTAssertNotNil(model.seq2seq)
        XCTAssertNil(model.network)
        XCTAssertNil(model.encoder)
        XCTAssertThrowsError(try Context(model: model)) { error in      // not a decoder-only model
            XCTAssertTrue("\(error)".contains("encoder-decoder"), "\(error)")
        }
        XCTAssertNil(try Model.load(path: Self.folder, params: ModelParams(vocabOnly: true)).seq2seq)
        for (i, input) in try Self.inputs().enumerated() {
            for threads in [1, 2] {
                let got = try model.seq2seqGenerate(ids: input.ids, maxNewTokens: 12, threadCount: threads)
                print("tiny-t5 input\(i) Model greedy (\(threads) threads): \(got.tokens), ended at EOS: \(got.endedAtEOS)")
                XCTAssertEqual([Int32(model.seq2seq?.config.decoderStartTokenID ?? -1)] + got.tokens, input.greedy)
                XCTAssertFalse(got.endedAtEOS)
            }
            XCTAssertEqual(try model.seq2seqGenerate(text: input.text, maxNewTokens: 12).tokens, Array(input.greedy.dropFirst()))
            XCTAssertEqual(try model.seq2seqGenerate(ids: input.ids, maxNewTokens: 3).tokens, Array(input.greedy[1...3]))
        }
        XCTAssertThrowsError(try model.seq2seqGenerate(ids: [3, 512], maxNewTokens: 4))
        XCTAssertThrowsError(try model.seq2seqGenerate(ids: [3, 1], maxNewTokens: 4, threadCount: 0))
        let bert = try Model.load(path: TestData.fixtures + "/tiny-bert")
        XCTAssertThrowsError(try bert.seq2seqGenerate(ids: [3, 1], maxNewTokens: 4)) { error in
            XCTAssertEqual((error as? LoomError)?.status, .unsupported)
        }
    }

    /// Generation stops at an end-of-sequence token, which is not returned: tiny-t5 greedily emits
    /// `<pad>` (id 0), so a copy whose config names 0 as EOS stops after one step.
    func testGenerationStopsAtEOS() throws {
        let dir = NSTemporaryDirectory() + "loom-t5-eos-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + file, withDestinationPath: Self.folder + "/" + file)
        }
        let config = try String(contentsOfFile: Self.folder + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"eos_token_id\": 1"))
        try config.replacingOccurrences(of: "\"eos_token_id\": 1", with: "\"eos_token_id\": 0")
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let model = try Model.load(path: dir)
        let got = try model.seq2seqGenerate(ids: try Self.inputs()[0].ids, maxNewTokens: 12)
        XCTAssertEqual(got, Seq2SeqGeneration(tokens: [], endedAtEOS: true))
    }

    /// Step-by-step decoding through the self-attention cache gives the logits of one batched pass.
    func testIncrementalDecodeMatchesBatch() throws {
        let model = try Self.loadModel()
        let input = try Self.inputs()[1]
        let states = try model.encode(input.ids)
        let decoderIDs: [Int32] = [0, 5, 6, 7, 42, 3, 99, 12]
        let batch = try model.decoderLogits(states, decoderIDs)
        let state = try model.makeDecoderState(encoderStates: states)
        var stepwise: [Float] = []
        stepwise += try model.decode(Array(decoderIDs[0..<3]), state: state)
        for t in decoderIDs[3...] { stepwise += try model.decode([t], state: state) }
        XCTAssertEqual(state.count, decoderIDs.count)
        let d = Self.maxDiff(batch, stepwise)
        let largest = batch.reduce(0) { max($0, abs($1)) }
        print("tiny-t5 step-by-step vs batched decoder logits: max|Δ| = \(d) (logits up to \(largest))")
        // GEMV (one row) and GEMM (a batch) round differently: hold them to f32 rounding of the logits.
        XCTAssertLessThanOrEqual(d, 2e-6 * largest)
    }

    /// Buckets of HF `_relative_position_bucket` (32 buckets, max distance 128), with its f32
    /// arithmetic reproduced in numpy (exact powers such as 32 = 8·2² land on their bucket edge).
    func testRelativePositionBuckets() {
        let encoder = T5RelativePosition(bucketCount: 32, maxDistance: 128, bidirectional: true)
        let decoder = T5RelativePosition(bucketCount: 32, maxDistance: 128, bidirectional: false)
        let relatives = [-200, -128, -100, -64, -40, -32, -20, -16, -12, -9, -8, -7, -1, 0, 1, 7, 8, 9, 12, 16, 20, 32, 40, 64, 100, 128, 200]
        let expectedEncoder = [15, 15, 15, 14, 12, 12, 10, 10, 9, 8, 8, 7, 1, 0, 17, 23, 24, 24, 25, 26, 26, 28, 28, 30, 31, 31, 31]
        let expectedDecoder = [31, 31, 30, 26, 23, 21, 17, 16, 12, 9, 8, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(relatives.map { encoder.bucket(relative: $0) }, expectedEncoder)
        XCTAssertEqual(relatives.map { decoder.bucket(relative: $0) }, expectedDecoder)
    }

    /// The vectorized activations (a lane tail, two threads) against the f64 formulas.
    func testActivationsMatchReference() {
        let pool = ThreadPool(threadCount: 2)
        let n = 20_003
        let inputs = (0..<n).map { Float($0 - n / 2) / 500 }          // -20 ... 20
        let up = (0..<n).map { Float(($0 * 7919) % 200) / 100 - 1 }
        for activation in [FeedForwardActivation.relu, .geluTanh, .geluExact, .silu] {
            var plain = inputs
            activateInPlace(activation, &plain, n, pool: pool)
            var worst: Double = 0
            for i in 0..<n { worst = max(worst, abs(Double(plain[i]) - activation.reference(Double(inputs[i])))) }
            XCTAssertLessThanOrEqual(worst, 1e-5 * 20, "\(activation)")      // f32 rounding of values up to 20
            var gate = Array(inputs[0..<n / 4]) + Array(inputs[(n / 2)..<(n / 2 + 3)])   // -20...-10 and a tail
            var reference = gate
            gatedActivation(activation, &gate, up, gate.count, pool: pool)
            gatedActivationReference(activation, &reference, up, reference.count)
            XCTAssertLessThanOrEqual(Self.maxDiff(gate, reference), 1e-6, "\(activation) gated")
            print("\(activation): max|Δ| vs f64 over [-20, 20] = \(worst)")
        }
        var one: [Float] = [1, -1, 0.5]
        activateInPlace(.geluTanh, &one, 3, pool: pool)
        XCTAssertEqual(one[0], 0.8411920, accuracy: 1e-6)     // torch gelu_new(1)
        XCTAssertEqual(one[1], -0.1588080, accuracy: 1e-6)
        XCTAssertEqual(FeedForwardActivation.geluExact.apply(1), 0.8413447, accuracy: 1e-6)  // torch gelu(1)
    }

    func testConfigParsing() throws {
        XCTAssertTrue(try T5Config.parseFeedForward("gated-gelu") == (.geluTanh, true))
        XCTAssertTrue(try T5Config.parseFeedForward("relu") == (.relu, false))
        XCTAssertTrue(try T5Config.parseFeedForward("gated-silu") == (.silu, true))
        XCTAssertThrowsError(try T5Config.parseFeedForward("gated-gelu-x"))
        XCTAssertThrowsError(try T5Config.parseFeedForward("tanh"))
        let model = try Self.loadModel()
        XCTAssertEqual(model.config.decoderStartTokenID, 0)
        XCTAssertEqual(model.config.eosTokenIDs, [1])
        XCTAssertTrue(model.config.gatedFeedForward)
        // tiny-t5 is tied but was saved by transformers 5.24 with scale_decoder_outputs false.
        XCTAssertTrue(model.config.tieWordEmbeddings)
        XCTAssertFalse(model.config.scaleDecoderOutput)
        var legacy = try XCTUnwrap(try HFFolder(path: Self.folder, loadWeights: false).config?.raw)
        legacy.set("scale_decoder_outputs", .null)
        XCTAssertTrue(try T5Config.fromHF(HFConfig(json: .object(legacy))).scaleDecoderOutput)
    }

    func testBadInputsThrow() throws {
        let model = try Self.loadModel()
        XCTAssertThrowsError(try model.encode([]))
        XCTAssertThrowsError(try model.encode([3, 512]))
        XCTAssertThrowsError(try model.encode([-1]))
        let states = try model.encode([3, 4, 1])
        XCTAssertThrowsError(try model.decoderLogits(states, []))
        XCTAssertThrowsError(try model.decoderLogits(states, [0, 100_000]))
        XCTAssertThrowsError(try model.decoderLogits(T5EncoderStates(count: 2, width: 63, values: Array(repeating: 0, count: 126)), [0]))
        XCTAssertThrowsError(try model.decoderLogits(T5EncoderStates(count: 3, width: 64, values: Array(repeating: 0, count: 10)), [0]))
        XCTAssertThrowsError(try model.generateGreedy([3], maxNewTokens: -1))
        let other = try Self.loadModel()
        XCTAssertThrowsError(try other.decode([0], state: try model.makeDecoderState(encoderStates: states)))
    }

    /// A config.json that disagrees with the weights (or names absurd sizes) is a LoomError, not a trap.
    func testMismatchedConfigThrows() throws {
        let base = try String(contentsOfFile: Self.folder + "/config.json", encoding: .utf8)
        let edits: [(String, String)] = [
            ("\"d_ff\": 128", "\"d_ff\": 100"),
            ("\"num_heads\": 4", "\"num_heads\": 8"),
            ("\"num_decoder_layers\": 2", "\"num_decoder_layers\": 3"),
            ("\"relative_attention_num_buckets\": 32", "\"relative_attention_num_buckets\": 16"),
            ("\"feed_forward_proj\": \"gated-gelu\"", "\"feed_forward_proj\": \"relu\""),
            ("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"),
            ("\"d_model\": 64", "\"d_model\": -64"),
            ("\"vocab_size\": 512", "\"vocab_size\": 513"),
        ]
        let dir = NSTemporaryDirectory() + "loom-t5-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.createSymbolicLink(atPath: dir + "/model.safetensors", withDestinationPath: Self.folder + "/model.safetensors")
        for (from, to) in edits {
            XCTAssertTrue(base.contains(from), from)
            try base.replacingOccurrences(of: from, with: to).write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try Self.loadModel(dir), to) { error in
                XCTAssertTrue(error is LoomError, "\(to): \(error)")
            }
        }
    }

    /// The GGUF path (llama.cpp tensor names and `t5.*` keys): tiny-t5 written as an f32 GGUF here, with
    /// `output.weight` stored (llama.cpp applies no output scaling, and neither does this checkpoint).
    func testGGUFMatchesHF() throws {
        let path = NSTemporaryDirectory() + "loom-t5-\(getpid()).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.writeGGUF(from: Self.folder + "/model.safetensors", to: path)
        let gguf = try GGUFFile(path: path)
        let model = try T5Model.load(weights: WeightSource(path: path, source: .gguf(gguf)))
        XCTAssertEqual(model.config.relativeBucketCount, 32)
        XCTAssertTrue(model.config.gatedFeedForward)
        let refs = try SafetensorsFile(path: Self.folder + "/refs.safetensors")
        for (i, input) in try Self.inputs().enumerated() {
            let states = try model.encode(input.ids)
            let dStates = Self.maxDiff(states.values, try refs.floats("input\(i).encoder_last_hidden_state"))
            let dLogits = Self.maxDiff(try model.decoderLogits(states, input.decoderIDs), try refs.floats("input\(i).decoder_logits"))
            print("tiny-t5 f32 GGUF input\(i): encoder max|Δ| = \(dStates), decoder logits max|Δ| = \(dLogits)")
            XCTAssertLessThanOrEqual(dStates, 1e-4)
            XCTAssertLessThanOrEqual(dLogits, 1e-4)
            XCTAssertEqual(try model.generateGreedy(input.ids, maxNewTokens: 12), input.greedy)
        }
    }

    /// A minimal GGUF v3 writer: tiny-t5's F32 tensors under llama.cpp's names plus the `t5.*` keys.
    static func writeGGUF(from safetensors: String, to path: String) throws {
        let st = try SafetensorsFile(path: safetensors)
        var ggufNames = ["token_embd.weight", "enc.output_norm.weight", "dec.output_norm.weight"]
        for stack in ["enc", "dec"] {
            for i in 0..<2 {
                for part in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_o", "attn_rel_b", "cross_attn_norm", "cross_attn_q",
                             "cross_attn_k", "cross_attn_v", "cross_attn_o", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] {
                    ggufNames.append("\(stack).blk.\(i).\(part).weight")
                }
            }
        }
        var tensors: [(name: String, shape: [Int], data: [Float])] = []
        for name in ggufNames {
            guard let hf = T5TensorNames.hfName(name, gated: true), let info = st.tensor(named: hf) else { continue }
            tensors.append((name, info.shape, try st.floats(hf)))
        }
        let embedding = try XCTUnwrap(tensors.first)
        tensors.append(("output.weight", embedding.shape, embedding.data))
        XCTAssertEqual(tensors.count, st.tensors.count + 1)      // every tensor of model.safetensors, plus the output

        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        let ints: [(String, UInt32)] = [("t5.embedding_length", 64), ("t5.feed_forward_length", 128), ("t5.block_count", 2),
                                        ("t5.attention.head_count", 4), ("t5.attention.key_length", 16),
                                        ("t5.attention.relative_buckets_count", 32), ("t5.decoder_start_token_id", 0)]
        out += Array("GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(ints.count + 2))
        str("general.architecture"); u32(8); str("t5")
        str("t5.attention.layer_norm_rms_epsilon"); u32(6); u32(Float(1e-6).bitPattern)
        for (key, value) in ints { str(key); u32(4); u32(value) }
        var offset = 0
        for t in tensors {
            str(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }      // GGUF: the contiguous dimension first
            u32(0)                                              // GGML_TYPE_F32
            u64(UInt64(offset))
            offset += (t.data.count * 4 + 31) / 32 * 32
        }
        while out.count % 32 != 0 { out.append(0) }
        for t in tensors {
            for v in t.data { u32(v.bitPattern) }
            while out.count % 32 != 0 { out.append(0) }
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }
}
