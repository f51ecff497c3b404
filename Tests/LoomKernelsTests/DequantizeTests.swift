import Foundation
import LoomCore
import LoomKernels
import XCTest

/// Checks `dequantize` against fixtures made by gguf-py (scripts/gen-quant-testdata.py,
/// Tests/Fixtures/quant/README.md).
///
/// Tolerance: none. Every output must match gguf-py bit for bit (including the sign of zero and
/// infinities); the only allowance is that an expected NaN only needs to be *a* NaN, so that the
/// payload of NaNs in the plain f16/bf16/f32 data is not part of the contract.
final class DequantizeTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/quant")

    func testF32() throws { try checkFixture(.f32) }
    func testF16() throws { try checkFixture(.f16) }
    func testBF16() throws { try checkFixture(.bf16) }
    func testQ4_0() throws { try checkFixture(.q4_0) }
    func testQ4_1() throws { try checkFixture(.q4_1) }
    func testQ5_0() throws { try checkFixture(.q5_0) }
    func testQ5_1() throws { try checkFixture(.q5_1) }
    func testQ8_0() throws { try checkFixture(.q8_0) }
    func testQ2_K() throws { try checkFixture(.q2_K) }
    func testQ3_K() throws { try checkFixture(.q3_K) }
    func testQ4_K() throws { try checkFixture(.q4_K) }
    func testQ5_K() throws { try checkFixture(.q5_K) }
    func testQ6_K() throws { try checkFixture(.q6_K) }

    /// Loads `<type>.blocks` and `<type>.f32`, dequantizes (from an aligned and from a deliberately
    /// misaligned copy) and compares bit for bit.
    func checkFixture(_ type: TensorType, file: StaticString = #filePath, line: UInt = #line) throws {
        let blocks = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(type.name).blocks"))
        let expectedBytes = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(type.name).f32"))
        XCTAssertEqual(expectedBytes.count % 4, 0, file: file, line: line)
        let count = expectedBytes.count / 4
        XCTAssertGreaterThan(count, 0, file: file, line: line)
        XCTAssertEqual(type.byteCount(elements: count), blocks.count, "fixture sizes disagree", file: file, line: line)
        let expected: [UInt32] = expectedBytes.withUnsafeBytes { raw in
            (0..<count).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }

        for misalign in [0, 1, 3] {
            // Copy the blocks to `misalign` bytes past a 16-byte boundary.
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: blocks.count + 16, alignment: 16)
            defer { buffer.deallocate() }
            blocks.withUnsafeBytes { buffer.advanced(by: misalign).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var out = [Float](repeating: .nan, count: count)
            try out.withUnsafeMutableBufferPointer {
                try dequantize(type, UnsafeRawPointer(buffer.advanced(by: misalign)), $0.baseAddress!, count: count)
            }

            var maxDelta: Float = 0
            var mismatches = 0
            for i in 0..<count {
                let want = Float(bitPattern: expected[i])
                let got = out[i]
                let same = want.isNaN ? got.isNaN : got.bitPattern == want.bitPattern
                if !same {
                    if mismatches < 5 {
                        XCTFail("\(type.name)[\(i)] (block \(i / type.blockSize), misalign \(misalign)): got \(got) "
                            + "(0x\(String(got.bitPattern, radix: 16))), want \(want) "
                            + "(0x\(String(want.bitPattern, radix: 16)))", file: file, line: line)
                    }
                    mismatches += 1
                }
                if want.isFinite && got.isFinite {
                    maxDelta = max(maxDelta, abs(got - want))
                } else if !same {
                    maxDelta = .infinity
                }
            }
            XCTAssertEqual(mismatches, 0, "\(type.name): \(mismatches) of \(count) values differ", file: file, line: line)
            if misalign == 0 {
                print("dequantize \(type.name): max|Δ| = \(maxDelta == 0 ? "0" : "\(maxDelta)") over \(count) values (bit-exact required)")
            }
        }
    }

    /// Runs `dequantize` over `bytes` into a scratch buffer of `max(count, 0)` floats.
    private func run(_ type: TensorType, _ bytes: [UInt8], count: Int) throws {
        var out = [Float](repeating: 0, count: max(count, 0) + 1)
        try bytes.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try dequantize(type, src.baseAddress!, dst.baseAddress!, count: count)
            }
        }
    }

    func testCountNotMultipleOfBlockSizeThrows() {
        let bytes = [UInt8](repeating: 0, count: 4096)
        let cases: [(TensorType, Int)] = [(.q4_0, 33), (.q8_0, 31), (.q5_1, 1), (.q4_K, 255), (.q6_K, 257), (.q3_K, 100), (.f16, -1)]
        for (type, count) in cases {
            XCTAssertThrowsError(try run(type, bytes, count: count)) { error in
                XCTAssertEqual((error as? LoomError)?.status, .invalidArgument, "\(type.name) count \(count)")
            }
        }
    }

    func testUnsupportedTypesThrow() {
        let bytes = [UInt8](repeating: 0, count: 4096)
        for type in TensorType.allCases where !canDequantize(type) {
            XCTAssertThrowsError(try run(type, bytes, count: type.blockSize)) { error in
                XCTAssertEqual((error as? LoomError)?.status, .unsupported, type.name)
            }
        }
        for type: TensorType in [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K] {
            XCTAssertTrue(canDequantize(type), type.name)
        }
    }

    func testZeroCountWritesNothing() throws {
        var out: [Float] = [42]
        let bytes: [UInt8] = [0xFF]
        for type in TensorType.allCases where canDequantize(type) {
            try bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer { try dequantize(type, src.baseAddress!, $0.baseAddress!, count: 0) }
            }
        }
        XCTAssertEqual(out, [42])
    }

    /// Arbitrary bytes (NaN/inf scales, every code value) never trap and fill exactly `count` floats.
    func testArbitraryBytesDoNotTrap() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        for type in TensorType.allCases where canDequantize(type) {
            let blocks = 32
            let count = blocks * type.blockSize
            var bytes = (0..<(type.byteCount(elements: count)! + 1)).map { _ in next() }
            bytes[bytes.count - 1] = 0  // one spare byte, so the misaligned view stays in bounds
            for fill: UInt8 in [0x00, 0xFF] {  // plus two all-same blocks: NaN (0xFFFF) and zero scales
                for i in 0..<type.blockBytes { bytes[i] = fill }
            }
            var out = [Float](repeating: 0, count: count + 1)
            out[count] = 12345  // sentinel: must not be written
            try bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer {
                    try dequantize(type, src.baseAddress! + 1, $0.baseAddress!, count: count)
                }
            }
            XCTAssertEqual(out[count], 12345, type.name)
        }
    }
}
