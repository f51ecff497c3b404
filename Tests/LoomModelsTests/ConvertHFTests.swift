import Foundation
import LoomCore
import LoomFormats
import LoomKernels
@testable import LoomModels
import LoomTestSupport
import XCTest

/// `convertHF` (loom convert) on the tiny fixtures: the committed GGUF files of tiny-llama, tiny-gpt2 and
/// tiny-bert were written by llama.cpp's convert_hf_to_gguf.py from the same folders; tiny-t5 has none
/// and is checked against HF transformers' references.
final class ConvertHFTests: XCTestCase {
    static let dir = TestData.fixtures + "/tiny-llama"
    static let gpt2 = TestData.fixtures + "/tiny-gpt2"
    static let bert = TestData.fixtures + "/tiny-bert"
    static let t5 = TestData.fixtures + "/tiny-t5"

    private func temp(_ name: String) -> String { NSTemporaryDirectory() + "loom-convert-\(getpid())-\(name)" }

    /// Converts `folder` and compares the bytes with `reference`; prints the first difference.
    private func assertIdentical(_ folder: String, _ reference: String, type: ConvertType, name: String? = nil,
                                 label: String) throws {
        let out = temp("\(label).\(type.rawValue).gguf")
        defer { unlink(out) }
        try convertHF(folder: folder, output: out, type: type, name: name)
        let mine = try readWholeFile(out, limit: 1 << 30)
        let ref = try readWholeFile(reference, limit: 1 << 30)
        let firstDiff = zip(mine, ref).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        print("convert \(label) \(type.rawValue): \(mine.count) bytes (convert_hf_to_gguf: \(ref.count)), identical: \(mine == ref)"
              + (firstDiff.map { ", first difference at byte \($0)" } ?? ""))
        XCTAssertEqual(mine, ref, "\(label) \(type.rawValue) differs from convert_hf_to_gguf.py's file")
    }

    func testTinyLlamaMatchesConvertHFToGGUF() throws {
        for type in ConvertType.allCases where type != .bf16 {
            try assertIdentical(Self.dir, Self.dir + "/model.\(type.rawValue).gguf", type: type, label: "tiny-llama")
        }
    }

    /// tiny-gpt2's model.f32.gguf carries general.name "G2" (convert_hf_to_gguf names a model after its
    /// folder; that file was converted from a folder named "g2"): byte for byte with that name, and with
    /// the default name ("Tiny Gpt2", from tiny-gpt2) every other key, value and tensor is the same.
    func testTinyGPT2MatchesConvertHFToGGUF() throws {
        let reference = Self.gpt2 + "/model.f32.gguf"
        try assertIdentical(Self.gpt2, reference, type: .f32, name: "G2", label: "tiny-gpt2")

        let out = temp("gpt2-default-name.gguf")
        defer { unlink(out) }
        try convertHF(folder: Self.gpt2, output: out, type: .f32)
        let mine = try GGUFFile(path: out), ref = try GGUFFile(path: reference)
        XCTAssertEqual(mine["general.name"]?.string, "Tiny Gpt2")
        XCTAssertEqual(ref["general.name"]?.string, "G2")
        XCTAssertEqual(mine.metadataKeys, ref.metadataKeys)
        for key in ref.metadataKeys where key != "general.name" {
            XCTAssertEqual(mine[key].map { String(describing: $0) }, ref[key].map { String(describing: $0) }, key)
        }
        XCTAssertEqual(mine.tensors.map(\.name), ref.tensors.map(\.name))
        for (a, b) in zip(mine.tensors, ref.tensors) {
            XCTAssertEqual(a.dims, b.dims, a.name)
            XCTAssertEqual(a.rawType, b.rawType, a.name)
            XCTAssertEqual(a.byteCount, b.byteCount, a.name)
            guard let pa = mine.data(of: a), let pb = ref.data(of: b), let n = a.byteCount else {
                XCTFail("no data for \(a.name)")
                continue
            }
            XCTAssertEqual(memcmp(pa, pb, n), 0, "\(a.name) data")
        }
    }

    func testTinyBertMatchesConvertHFToGGUF() throws {
        try assertIdentical(Self.bert, Self.bert + "/model.f32.gguf", type: .f32, label: "tiny-bert")
    }

    func testConvertedLogitsMatchHF() throws {
        let out = temp("logits.gguf")
        defer { unlink(out) }
        try convertHF(folder: Self.dir, output: out, type: .f32)
        let worst = try maxLogitDiff(model: out, folder: Self.dir)
        print("convert tiny-llama f32 -> Loom logits vs HF fp32: max|Δlogit| = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    /// Max |Δ| between all-position logits of `model` and `promptN.logits` of the folder's refs.
    private func maxLogitDiff(model path: String, folder: String) throws -> Float {
        let model = try Model.load(path: path)
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, threads: 2))
        let refs = try SafetensorsFile(path: folder + "/refs.safetensors")
        let json = try JSONParser.parse(try readWholeFile(folder + "/refs.json"))
        var worst: Float = 0
        for (i, p) in (json["prompts"]?.array ?? []).enumerated() {
            let ids = (p["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            ctx.clear()
            try ctx.decode(ids, logits: .all)
            let expected = try refs.floats("prompt\(i).logits")
            XCTAssertEqual(expected.count, ids.count * ctx.vocabSize)
            ctx.withLogits { got in
                for j in 0..<min(expected.count, got.count) { worst = max(worst, abs(got[j] - expected[j])) }
            }
        }
        return worst
    }

    /// The bound on max|Δ| against HF's fp32 references for a converted file: 1e-4 for f32; for f16 and
    /// q8_0, which round the weights (there are no references of their dequantized weights for these
    /// models), a fraction of the references' largest magnitude — 0.2 % and 4 %: loose, but a wrong
    /// layout or scale is off by the order of the values themselves. (The f16 / q8_0 bytes are checked
    /// exactly on tiny-llama.)
    private func bound(_ type: ConvertType, scale: Float) -> Float {
        switch type {
        case .f32: return 1e-4
        case .f16, .bf16: return 2e-3 * scale
        case .q8_0: return 4e-2 * scale
        }
    }

    private func maxMagnitude(_ refs: SafetensorsFile, _ names: [String]) throws -> Float {
        try names.reduce(0) { m, name in try refs.floats(name).reduce(m) { max($0, abs($1)) } }
    }

    /// tiny-gpt2 converted to f32 / f16 / q8_0 loads in Loom; logits against HF's fp32 ones.
    func testConvertedGPT2Logits() throws {
        let scale = try maxMagnitude(try SafetensorsFile(path: Self.gpt2 + "/refs.safetensors"), ["prompt0.logits", "prompt1.logits"])
        for type in [ConvertType.f32, .f16, .q8_0] {
            let out = temp("gpt2.\(type.rawValue).gguf")
            defer { unlink(out) }
            try convertHF(folder: Self.gpt2, output: out, type: type)
            let worst = try maxLogitDiff(model: out, folder: Self.gpt2)
            print("convert tiny-gpt2 \(type.rawValue) -> Loom logits vs HF fp32: max|Δlogit| = \(worst) (max|logit| \(scale))")
            XCTAssertLessThanOrEqual(worst, bound(type, scale: scale))
        }
    }

    /// tiny-bert converted to f32 / f16 / q8_0: the encoder's last hidden states against HF's.
    func testConvertedBertHiddenStates() throws {
        let refs = try SafetensorsFile(path: Self.bert + "/refs.safetensors")
        let json = try JSONParser.parse(try readWholeFile(Self.bert + "/refs.json"))
        let sentences = (json["sentences"]?.array ?? []).map { s in (s["masked_ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) } }
        XCTAssertFalse(sentences.isEmpty)
        let scale = try maxMagnitude(refs, sentences.indices.map { "sentence\($0).last_hidden_state" })
        for type in [ConvertType.f32, .f16, .q8_0] {
            let out = temp("bert.\(type.rawValue).gguf")
            defer { unlink(out) }
            try convertHF(folder: Self.bert, output: out, type: type)
            let model = try Model.load(path: out)
            let encoder = try XCTUnwrap(model.encoder)
            XCTAssertFalse(encoder.hasTokenLogitsHead)
            var worst: Float = 0
            for (i, ids) in sentences.enumerated() {
                let got = try encoder.encode([ids], pool: ThreadPool(threadCount: 2)).hiddenStates
                let expected = try refs.floats("sentence\(i).last_hidden_state")
                XCTAssertEqual(got.count, expected.count)
                for j in 0..<min(got.count, expected.count) { worst = max(worst, abs(got[j] - expected[j])) }
            }
            print("convert tiny-bert \(type.rawValue) -> Loom hidden states vs HF fp32: max|Δ| = \(worst) (max|h| \(scale))")
            XCTAssertLessThanOrEqual(worst, bound(type, scale: scale))
        }
    }

    /// tiny-t5 (no reference GGUF): converted, loaded as a GGUF, its Unigram vocabulary gives HF's ids
    /// and the encoder states / decoder logits are HF's within 1e-4 (f32); greedy generation is HF's.
    func testConvertedT5MatchesHF() throws {
        let refs = try SafetensorsFile(path: Self.t5 + "/refs.safetensors")
        let json = try JSONParser.parse(try readWholeFile(Self.t5 + "/refs.json"))
        func ints(_ v: JSONValue?) -> [Int32] { (v?.array ?? []).compactMap { $0.int.map(Int32.init) } }
        let inputs = json["inputs"]?.array ?? []
        XCTAssertEqual(inputs.count, 2)
        let stateScale = try maxMagnitude(refs, inputs.indices.map { "input\($0).encoder_last_hidden_state" })
        let logitScale = try maxMagnitude(refs, inputs.indices.map { "input\($0).decoder_logits" })
        for type in [ConvertType.f32, .f16, .q8_0] {
            let out = temp("t5.\(type.rawValue).gguf")
            defer { unlink(out) }
            try convertHF(folder: Self.t5, output: out, type: type)
            let gguf = try GGUFFile(path: out)
            XCTAssertEqual(gguf.architecture, "t5")
            XCTAssertEqual(gguf["tokenizer.ggml.model"]?.string, "t5")
            XCTAssertNil(gguf.tensor(named: "output.weight"), "tied, unscaled: no output tensor (as convert_hf_to_gguf)")
            let model = try Model.load(path: out)
            let t5 = try XCTUnwrap(model.seq2seq)
            XCTAssertEqual(t5.config.decoderStartTokenID, 0)
            XCTAssertEqual(t5.config.eosTokenIDs, [1])
            let tokenizer = try model.tokenizer()
            var worstStates: Float = 0, worstLogits: Float = 0
            for (i, input) in inputs.enumerated() {
                let ids = ints(input["ids"])
                XCTAssertEqual(try tokenizer.tokenize(input["text"]?.string ?? "", addSpecial: true, parseSpecial: false), ids)
                let states = try t5.encode(ids)
                let expectedStates = try refs.floats("input\(i).encoder_last_hidden_state")
                XCTAssertEqual(states.values.count, expectedStates.count)
                for j in 0..<min(states.values.count, expectedStates.count) {
                    worstStates = max(worstStates, abs(states.values[j] - expectedStates[j]))
                }
                let logits = try t5.decoderLogits(states, ints(input["decoder_input_ids"]))
                let expectedLogits = try refs.floats("input\(i).decoder_logits")
                XCTAssertEqual(logits.count, expectedLogits.count)
                for j in 0..<min(logits.count, expectedLogits.count) {
                    worstLogits = max(worstLogits, abs(logits[j] - expectedLogits[j]))
                }
                if type == .f32 {
                    XCTAssertEqual(try t5.generateGreedy(ids, maxNewTokens: 12), ints(input["generate"]?["greedy"]))
                }
            }
            print("convert tiny-t5 \(type.rawValue) -> Loom vs HF fp32: encoder max|Δ| = \(worstStates) (max|h| \(stateScale)), "
                  + "decoder logits max|Δ| = \(worstLogits) (max|logit| \(logitScale))")
            XCTAssertLessThanOrEqual(worstStates, bound(type, scale: stateScale))
            XCTAssertLessThanOrEqual(worstLogits, bound(type, scale: logitScale))
        }
    }

    /// A T5 config that scales the decoder output (older configs: tied embeddings without
    /// scale_decoder_outputs) gets the scale folded into an output.weight: the GGUF gives HF's logits
    /// scaled as that config asks, i.e. the unscaled references times d_model^-0.5 (the model has
    /// logits linear in the last hidden state).
    func testT5DecoderOutputScaleIsFolded() throws {
        let folder = temp("t5-scaled")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.createSymbolicLink(atPath: folder + "/" + file, withDestinationPath: Self.t5 + "/" + file)
        }
        let config = try String(contentsOfFile: Self.t5 + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"scale_decoder_outputs\": false"))
        try config.replacingOccurrences(of: "\"scale_decoder_outputs\": false", with: "\"scale_decoder_outputs\": true")
            .write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        let out = temp("t5-scaled.gguf")
        defer { unlink(out) }
        try convertHF(folder: folder, output: out, type: .f32)
        XCTAssertNotNil(try GGUFFile(path: out).tensor(named: "output.weight"))
        let hf = try XCTUnwrap(try Model.load(path: folder).seq2seq)
        let gguf = try XCTUnwrap(try Model.load(path: out).seq2seq)
        let ids: [Int32] = [109, 90, 4, 42, 1], decoderIDs: [Int32] = [0, 5, 6]
        let expected = try hf.decoderLogits(try hf.encode(ids), decoderIDs)
        let got = try gguf.decoderLogits(try gguf.encode(ids), decoderIDs)
        XCTAssertEqual(got.count, expected.count)
        let worst = zip(got, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        print("convert tiny-t5 with scale_decoder_outputs: GGUF vs HF folder max|Δlogit| = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    /// A copy of `fixture` whose config.json has `edit` applied (the other files linked).
    private func editedCopy(of fixture: String, _ label: String, edit: (String) -> String) throws -> String {
        let folder = temp(label)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.createSymbolicLink(atPath: folder + "/" + file, withDestinationPath: fixture + "/" + file)
        }
        try edit(try String(contentsOfFile: fixture + "/config.json", encoding: .utf8))
            .write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        return folder
    }

    private func assertUnsupported(_ folder: String, mentioning text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try convertHF(folder: folder, output: temp("x.gguf"), type: .f32), file: file, line: line) { error in
            let e = error as? LoomError
            XCTAssertEqual(e?.status, .unsupported, "\(error)", file: file, line: line)
            XCTAssertTrue(e?.message.contains(text) ?? false, "'\(e?.message ?? "")' does not mention '\(text)'", file: file, line: line)
            print("convert refuses: \(e?.message ?? "\(error)")")
        }
    }

    func testRejectsWhatItCannotConvert() throws {
        let mamba = try editedCopy(of: Self.dir, "mamba") { $0.replacingOccurrences(of: "\"model_type\": \"llama\"", with: "\"model_type\": \"mamba\"") }
        defer { try? FileManager.default.removeItem(atPath: mamba) }
        assertUnsupported(mamba, mentioning: "model_type 'mamba'")
        assertUnsupported(TestData.fixtures + "/tiny-bert-classifier", mentioning: "BertForSequenceClassification")
        let relu = try editedCopy(of: Self.gpt2, "gpt2-relu") { $0.replacingOccurrences(of: "\"gelu_new\"", with: "\"relu\"") }
        defer { try? FileManager.default.removeItem(atPath: relu) }
        assertUnsupported(relu, mentioning: "activation_function 'relu'")
        let far = try editedCopy(of: Self.t5, "t5-distance") {
            $0.replacingOccurrences(of: "\"relative_attention_max_distance\": 128", with: "\"relative_attention_max_distance\": 64")
        }
        defer { try? FileManager.default.removeItem(atPath: far) }
        assertUnsupported(far, mentioning: "relative_attention_max_distance 64")
        XCTAssertThrowsError(try convertHF(folder: TestData.fixtures + "/no-such-folder", output: temp("x.gguf"), type: .f32))

        XCTAssertEqual(ggufName(forHF: "model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight")
        XCTAssertNil(ggufName(forHF: "model.layers.x.self_attn.q_proj.weight"))
        XCTAssertEqual(GPT2Converter.ggufName(forHF: "transformer.h.3.attn.c_attn.weight"), "blk.3.attn_qkv.weight")
        XCTAssertEqual(GPT2Converter.ggufName(forHF: "h.3.mlp.c_proj.bias"), "blk.3.ffn_down.bias")
        XCTAssertEqual(BertConverter.ggufName(forHF: "bert.encoder.layer.1.output.LayerNorm.weight"), "blk.1.layer_output_norm.weight")
        XCTAssertEqual(BertConverter.ggufName(forHF: "cls.predictions.bias"), .some(nil))
        XCTAssertEqual(T5Converter.ggufName(forHF: "decoder.block.1.layer.1.EncDecAttention.k.weight", gated: true), "dec.blk.1.cross_attn_k.weight")
        XCTAssertEqual(T5Converter.ggufName(forHF: "encoder.block.0.layer.1.DenseReluDense.wi.weight", gated: false), "enc.blk.0.ffn_up.weight")
        XCTAssertNil(T5Converter.ggufName(forHF: "encoder.block.0.layer.1.EncDecAttention.k.weight", gated: true))
        XCTAssertEqual(modelName(folder: "/x/tiny-llama"), "Tiny Llama")
        XCTAssertEqual(modelName(folder: "/x/tiny-gpt2/"), "Tiny Gpt2")
        XCTAssertEqual(modelName(folder: "g2"), "G2")
        XCTAssertEqual(modelName(folder: "SmolLM2-135M-Instruct-v0.2"), "SmolLM2 135M Instruct v0.2")
        XCTAssertEqual(sizeLabel(151_872), "152K")
        XCTAssertEqual(sizeLabel(134_515_008), "135M")
        XCTAssertEqual(sizeLabel(1_500_000_000), "1.5B")
        XCTAssertEqual(decodeBase64("TG9vbQ=="), Array("Loom".utf8))
        XCTAssertNil(decodeBase64("TG9v!"))
    }
}
