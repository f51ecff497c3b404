import XCTest
import LoomTestSupport
@testable import LoomFormats
import LoomCore

final class GGUFTests: XCTestCase {
    func testTinyLlamaF32() throws {
        let g = try GGUFFile(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.architecture, "llama")
        XCTAssertEqual(g["llama.embedding_length"]?.int, 64)
        XCTAssertEqual(g["llama.block_count"]?.int, 2)
        XCTAssertEqual(g["tokenizer.ggml.model"]?.string, "gpt2")
        let tokens = try XCTUnwrap(g["tokenizer.ggml.tokens"]?.strings)
        let emb = try XCTUnwrap(g.tensor(named: "token_embd.weight"))
        XCTAssertEqual(emb.dims, [64, tokens.count])
        XCTAssertEqual(emb.type, .f32)
        XCTAssertTrue(g.tensors.allSatisfy { $0.fileOffset % g.alignment == 0 })
        print("tiny-llama f32 GGUF: \(g.metadata.count) keys, \(g.tensors.count) tensors, vocab \(tokens.count)")
    }

    /// The GGUF's token embedding is the HF safetensors' embed_tokens (same layout, no permutation).
    func testGGUFDataMatchesSafetensors() throws {
        let g = try GGUFFile(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        let s = try SafetensorsFile(path: TestData.fixtures + "/tiny-llama/model.safetensors")
        let hf = try s.floats("model.embed_tokens.weight")
        let t = try XCTUnwrap(g.tensor(named: "token_embd.weight"))
        let p = try XCTUnwrap(g.data(of: t))
        var maxDiff: Float = 0
        for i in 0..<hf.count {
            maxDiff = max(maxDiff, abs(p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) - hf[i]))
        }
        print("token_embd.weight GGUF vs safetensors: max|Δ| = \(maxDiff) over \(hf.count) values")
        XCTAssertEqual(maxDiff, 0)
        XCTAssertEqual(s.tensor(named: "model.embed_tokens.weight")?.shape, [t.dims[1], t.dims[0]])
    }

    func testSmolLM2() throws {
        let g = try GGUFFile(path: try TestData.require(TestData.smollm2))
        XCTAssertEqual(g.architecture, "llama")
        XCTAssertEqual(g["tokenizer.ggml.pre"]?.string, "smollm")
        var histogram: [String: Int] = [:]
        for t in g.tensors { histogram[t.type?.name ?? "?", default: 0] += 1 }
        print("SmolLM2 GGUF v\(g.version): \(g.metadata.count) keys, \(g.tensors.count) tensors, types \(histogram.sorted { $0.key < $1.key })")
        XCTAssertEqual(g.tensors.count, 30 * 9 + 2)
        XCTAssertNil(histogram["?"])
    }

    func testEveryCutOfTheHeaderFails() throws {
        let path = TestData.fixtures + "/tiny-llama/model.f32.gguf"
        let full = try readWholeFile(path)
        let g = try GGUFFile(path: path)
        let tmp = NSTemporaryDirectory() + "/loom-cut-\(getpid()).gguf"
        defer { unlink(tmp) }
        var checked = 0
        for cut in stride(from: 0, to: g.dataOffset + 64, by: 1) {
            FileManager.default.createFile(atPath: tmp, contents: Data(full[0..<cut]))
            XCTAssertThrowsError(try GGUFFile(path: tmp), "cut at \(cut)") { e in
                XCTAssertFalse((e as? LoomError)?.message.isEmpty ?? true)
            }
            checked += 1
        }
        print("GGUF truncations rejected: \(checked)/\(checked)")
    }
}

final class SafetensorsTests: XCTestCase {
    func testTinyLlama() throws {
        let s = try SafetensorsFile(path: TestData.fixtures + "/tiny-llama/model.safetensors")
        let q = try XCTUnwrap(s.tensor(named: "model.layers.0.self_attn.q_proj.weight"))
        XCTAssertEqual(q.shape, [64, 64])
        XCTAssertEqual(q.type, .f32)
        let k = try XCTUnwrap(s.tensor(named: "model.layers.0.self_attn.k_proj.weight"))
        XCTAssertEqual(k.shape, [32, 64])  // 2 KV heads of 16
        print("tiny-llama safetensors: \(s.tensors.count) tensors")
    }

    func testHostileHeaders() throws {
        let tmp = NSTemporaryDirectory() + "/loom-st-\(getpid()).safetensors"
        defer { unlink(tmp) }
        func header(_ json: String, extra: Int = 0, length: UInt64? = nil) -> Data {
            var d = Data()
            var n = length ?? UInt64(json.utf8.count)
            withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(json.utf8))
            d.append(contentsOf: [UInt8](repeating: 0, count: extra))
            return d
        }
        let cases: [(String, Data)] = [
            ("short", Data([1, 2, 3])),
            ("huge header length", header("{}", length: UInt64.max)),
            ("not json", header("{\"a\":")),
            ("offsets outside", header(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)),
            ("size mismatch", header(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, extra: 8)),
            ("shape overflow", header(#"{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}"#, extra: 8)),
            ("overlap", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, extra: 12)),
            ("unknown dtype", header(#"{"w":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#, extra: 8)),
            ("negative dim", header(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, extra: 8)),
        ]
        for (name, data) in cases {
            FileManager.default.createFile(atPath: tmp, contents: data)
            XCTAssertThrowsError(try SafetensorsFile(path: tmp), name)
        }
        print("safetensors hostile headers rejected: \(cases.count)/\(cases.count)")
    }
}

final class JSONTests: XCTestCase {
    func testParses() throws {
        let v = try JSONParser.parse(Array(#"{"a": [1, -2.5e3, true, null], "b": "x\u00e9\ud83d\ude00\n", "c": {}}"#.utf8))
        XCTAssertEqual(v["a"]?.array?.count, 4)
        XCTAssertEqual(v["a"]?.array?[1].double, -2500)
        XCTAssertEqual(v["b"]?.string, "xé😀\n")
        XCTAssertEqual(v["c"]?.object?.count, 0)
    }

    /// Canonically equivalent keys ("Å" as U+00C5 and as U+212B) stay two keys.
    func testKeysAreExactBytes() throws {
        let v = try JSONParser.parse(Array(#"{"\u00c5": 1, "\u212b": 2}"#.utf8))
        XCTAssertEqual(v.object?.count, 2)
        XCTAssertEqual(v["\u{00C5}"]?.int, 1)
        XCTAssertEqual(v["\u{212B}"]?.int, 2)
    }

    func testRejects() {
        let bad = ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "tru", "[1] 2", "\"a\nb\"",
                   String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)]
        for b in bad {
            XCTAssertThrowsError(try JSONParser.parse(Array(b.utf8)), b.prefix(20).description)
        }
    }

    func testConfig() throws {
        let c = try HFConfig(path: TestData.fixtures + "/tiny-llama/config.json")
        XCTAssertEqual(c.modelType, "llama")
        XCTAssertEqual(c.hiddenSize, 64)
        XCTAssertEqual(c.numKeyValueHeads, 2)
        XCTAssertNotNil(c.ropeTheta)
    }
}
