import Foundation
import LoomCore
import LoomFormats
import LoomKernels
import LoomTestSupport
import XCTest

/// GGUFWriter, the row quantizers and whole-model quantization, against gguf-py / ggml / llama.cpp
/// references made by scripts/gen-quantize-refs.py (Tests/Fixtures/quant/README.md).
final class QuantizeTests: XCTestCase {
    static let quant = TestData.fixtures + "/quant"
    static let tinyLlama = TestData.fixtures + "/tiny-llama/model.f32.gguf"

    private func temp(_ name: String) -> String {
        NSTemporaryDirectory() + "loom-quantize-\(getpid())-\(name)"
    }

    // MARK: - Writer

    /// Re-writing a GGUF file (metadata in order, tensors in order) gives the original bytes.
    func testWriterRoundTripIsByteIdentical() throws {
        for path in ["tiny-llama/model.f32.gguf", "tiny-llama/model.f16.gguf", "tiny-llama/model.q8_0.gguf",
                     "tiny-gpt2/model.f32.gguf", "tiny-bert/model.f32.gguf"] {
            let source = try GGUFFile(path: TestData.fixtures + "/" + path)
            var w = GGUFWriter()
            w.addMetadata(from: source)
            for t in source.tensors { try w.add(tensor: t, from: source) }
            let out = temp("roundtrip.gguf")
            defer { unlink(out) }
            try w.write(to: out)
            let a = try Data(contentsOf: URL(fileURLWithPath: TestData.fixtures + "/" + path))
            let b = try Data(contentsOf: URL(fileURLWithPath: out))
            print("GGUFWriter round trip \(path): \(a.count) bytes, identical: \(a == b)")
            XCTAssertEqual(a, b, "\(path) rewritten differs")
        }
    }

    func testWriterRejectsBadTensorsAndCleansUp() throws {
        var w = GGUFWriter()
        XCTAssertThrowsError(try w.add(tensor: "", type: .f32, dims: [4], bytes: []))
        XCTAssertThrowsError(try w.add(tensor: "x", type: .q8_0, dims: [33], bytes: []))
        XCTAssertThrowsError(try w.add(tensor: String(repeating: "n", count: 64), type: .f32, dims: [1], bytes: [0, 0, 0, 0]))
        XCTAssertThrowsError(try w.add(tensor: "x", type: .f32, dims: [1, 0], bytes: []))
        try w.add(tensor: "a", type: .f32, dims: [2], bytes: [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try w.add(tensor: "a", type: .f32, dims: [2], bytes: [UInt8](repeating: 0, count: 8)))
        // A failing tensor closure leaves nothing behind (and not the target either).
        try w.add(tensor: "b", type: .f32, dims: [2]) { _ in throw LoomError.io("boom") }
        let out = temp("fail.gguf")
        XCTAssertThrowsError(try w.write(to: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("loom-quantize-\(getpid())-fail.gguf.tmp") }
        XCTAssertEqual(leftovers, [])
        // Alignment from general.alignment, honoured by readers.
        var v = GGUFWriter()
        v.add(key: "general.alignment", value: .uint32(64))
        v.add(key: "k", value: .array(.string, [.string("x"), .string("é")]))
        try v.add(tensor: "t", type: .f32, dims: [3], bytes: [UInt8](repeating: 1, count: 12))
        try v.add(tensor: "u", type: .f16, dims: [2, 2], bytes: [UInt8](repeating: 2, count: 8))
        let path = temp("align.gguf")
        defer { unlink(path) }
        try v.write(to: path)
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.dataOffset % 64, 0)
        XCTAssertEqual(f.tensors.map(\.fileOffset), [f.dataOffset, f.dataOffset + 64])
        XCTAssertEqual(f.metadata["k"]?.strings ?? [], ["x", "é"])
        XCTAssertEqual(f.tensors[1].dims, [2, 2])
    }

    // MARK: - Row quantizers

    private func input() throws -> [Float] {
        let d = try Data(contentsOf: URL(fileURLWithPath: Self.quant + "/quantize-input.f32"))
        return d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
    }

    private func quantized(_ type: TensorType, _ x: [Float]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.byteCount(elements: x.count) ?? 0)
        try x.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBytes { dst in try quantize(type, src.baseAddress!, dst.baseAddress!, count: x.count) }
        }
        return out
    }

    /// F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 equal gguf-py's bytes; Q4_K and Q6_K ggml's reference.
    func testRowQuantizersMatchReferences() throws {
        let x = try input()
        for type in [TensorType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K] {
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.quant + "/quantize-\(type.name).blocks")))
            let got = try quantized(type, x)
            XCTAssertEqual(got.count, expected.count)
            let blockBytes = type.blockBytes
            var badBlocks: [Int] = []
            for b in 0..<(min(got.count, expected.count) / blockBytes)
            where got[(b * blockBytes)..<((b + 1) * blockBytes)] != expected[(b * blockBytes)..<((b + 1) * blockBytes)] {
                badBlocks.append(b)
            }
            print("quantize \(type.name): \(got.count / blockBytes) blocks, \(badBlocks.count) differ from the reference")
            XCTAssertEqual(badBlocks, [], "\(type.name): blocks differing from the reference")
        }
    }

    /// test-quantize-fns' total quantization error: 0.1 + 2 cos(i) over 4096 values, quantize then
    /// dequantize; error = sqrt(sum of squared differences) / n (its array_rmse). Budget 0.002 (its
    /// MAX_QUANTIZATION_TOTAL_ERROR for every type here). The true RMSE is printed too.
    func testRoundTripErrorWithinTestQuantizeFnsBudget() throws {
        let n = 4096
        for offset: Float in [0, 1] {
            let x = (0..<n).map { Float(0.1 + 2 * Double(cosf(Float($0) + offset))) }
            for type in [TensorType.q4_K, .q6_K, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1] {
                let q = try quantized(type, x)
                var y = [Float](repeating: 0, count: n)
                try q.withUnsafeBytes { src in
                    try y.withUnsafeMutableBufferPointer { try dequantize(type, src.baseAddress!, $0.baseAddress!, count: n) }
                }
                var sum = 0.0
                for i in 0..<n { let d = Double(x[i]) - Double(y[i]); sum += d * d }
                let ggmlError = Float(sum.squareRoot()) / Float(n)
                let rmse = (sum / Double(n)).squareRoot()
                print(String(format: "round trip %@ (offset %.0f): test-quantize-fns error %.6f (budget 0.002), RMSE %.6f",
                             type.name, offset, ggmlError, rmse))
                XCTAssertLessThan(ggmlError, 0.002, type.name)
            }
        }
    }

    func testQuantizeRejectsPartialBlocksAndSurvivesNonFinite() throws {
        var x = [Float](repeating: 1, count: 256)
        XCTAssertThrowsError(try quantized(.q8_0, Array(x.prefix(31))))
        x[3] = .nan; x[7] = .infinity; x[100] = -.infinity; x[200] = .greatestFiniteMagnitude
        for type in [TensorType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K] {
            _ = try quantized(type, x)  // must not trap
        }
    }

    // MARK: - Whole models

    private func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return String(format: "%016llx", h)
    }

    /// tiny-llama f32 -> every type llama-quantize also makes: the same file, byte for byte (same tensor
    /// types, order, metadata and data; the data of each quantized tensor is gguf-py's).
    func testTinyLlamaMatchesLlamaQuantize() throws {
        let json = try JSONParser.parse(try readWholeFile(Self.quant + "/tiny-llama-quantized.json"))
        guard let types = json["types"]?.object else { return XCTFail("no types in the reference") }
        XCTAssertGreaterThanOrEqual(types.keys.count, 9)
        for name in types.keys.sorted() {
            guard let type = QuantizeFileType(name: name), let ref = types[name] else { return XCTFail("unknown type \(name)") }
            let out = temp("tiny-\(name).gguf")
            defer { unlink(out) }
            var options = QuantizeOptions(type: type)
            options.threads = 2
            try quantizeModel(input: Self.tinyLlama, output: out, options: options)
            let data = try Data(contentsOf: URL(fileURLWithPath: out))
            let fileHash = data.withUnsafeBytes { fnv1a64($0) }
            let q = try GGUFFile(path: out)
            var sameTensors = 0
            let refTensors = ref["tensors"]?.array ?? []
            XCTAssertEqual(refTensors.count, q.tensors.count)
            for (t, r) in zip(q.tensors, refTensors) {
                let bytes = UnsafeRawBufferPointer(start: q.data(of: t), count: t.byteCount ?? 0)
                let same = r["name"]?.string == t.name && r["type"]?.string?.lowercased() == t.type?.name.lowercased()
                    && r["fnv1a64"]?.string == fnv1a64(bytes)
                if same { sameTensors += 1 } else { XCTFail("\(name): tensor \(t.name) (\(t.type?.name ?? "?")) differs from llama.cpp's") }
            }
            let identical = fileHash == ref["file_fnv1a64"]?.string && data.count == ref["file_bytes"]?.int
            print("quantize tiny-llama \(name): \(data.count) bytes, \(sameTensors)/\(q.tensors.count) tensors identical to llama-quantize, whole file identical: \(identical)")
            XCTAssertTrue(identical, "\(name): file differs from llama-quantize's")
            XCTAssertEqual(q.metadata["general.file_type"]?.int, Int(type.llamaFileType))
        }
    }

    /// Q4_K: tiny-llama's rows (64, 160) are not multiples of 256, so llama.cpp's fallback applies.
    func testQ4KFallbackAndRequantizeRules() throws {
        let out = temp("tiny-q4k.gguf")
        defer { unlink(out) }
        let done = try quantizeModel(input: Self.tinyLlama, output: out, options: QuantizeOptions(type: .q4_K))
        var types: [String: TensorType] = [:]
        for t in done { types[t.name] = t.to }
        XCTAssertEqual(types["output.weight"], .q8_0)       // Q6_K, rows of 64 -> Q8_0
        XCTAssertEqual(types["blk.0.attn_q.weight"], .q5_0) // Q4_K -> Q5_0
        XCTAssertEqual(types["blk.0.ffn_down.weight"], .q5_0)
        XCTAssertEqual(types["blk.0.attn_norm.weight"], .f32)
        // A quantized source is refused unless requantizing is allowed.
        let again = temp("tiny-requant.gguf")
        defer { unlink(again) }
        XCTAssertThrowsError(try quantizeModel(input: out, output: again, options: QuantizeOptions(type: .q8_0)))
        var options = QuantizeOptions(type: .q8_0)
        options.allowRequantize = true
        try quantizeModel(input: out, output: again, options: options)
        XCTAssertEqual(try GGUFFile(path: again).tensor(named: "blk.0.attn_q.weight")?.type, .q8_0)
        XCTAssertThrowsError(try quantizeModel(input: Self.tinyLlama, output: Self.tinyLlama, options: options))
        XCTAssertThrowsError(try quantizeModel(input: Self.quant + "/quantize-input.f32", output: again, options: options))
    }
}
