import CLoomSupport
import Foundation
import LoomCore
@testable import LoomKernels
import XCTest

/// The reduced-precision matmul kernels (bf16: AMX / AVX512-BF16; f16: AVX512-FP16), three ways:
/// the naive f32 product, the naive product of bf16/f16-rounded inputs (f64 sums), and the fast kernel.
///
/// Error measure: max |y − y_ref| / max |y_ref| over the output. Budgets (measured values are far below):
/// - bf16 kernels vs the bf16-rounded naive product: 1e-5 (only the f32 summation order differs);
/// - f16 kernel vs the f16-rounded naive product: 2e-3 (it sums 64 products per lane in f16);
/// - every reduced-precision result vs f32: 2e-2 — and the f16 kernel within 1.5× bf16's rounding error.
final class LowPrecisionMatmulTests: XCTestCase {
    struct Shape {
        let n: Int      // inputs
        let rows: Int   // output features
        let cols: Int   // input features
    }

    static let shapes = [Shape(n: 1, rows: 16, cols: 32), Shape(n: 37, rows: 50, cols: 70), Shape(n: 9, rows: 33, cols: 100),
                         Shape(n: 64, rows: 384, cols: 384), Shape(n: 70, rows: 96, cols: 1536)]

    /// Weights in memory the problem owns (a WeightMatrix does not own its rows).
    final class Problem {
        let w: WeightMatrix
        let storage: UnsafeMutablePointer<Float>
        let x: [Float]
        let bias: [Float]
        let shape: Shape

        init(weights: [Float], x: [Float], bias: [Float], shape: Shape) throws {
            storage = .allocate(capacity: weights.count)
            storage.initialize(from: weights, count: weights.count)
            w = try WeightMatrix(type: .f32, rows: shape.rows, cols: shape.cols, data: UnsafeRawPointer(storage))
            self.x = x
            self.bias = bias
            self.shape = shape
        }

        init(sharing other: Problem, x: [Float], bias: [Float]) {
            storage = .allocate(capacity: other.shape.rows * other.shape.cols)
            storage.initialize(from: other.storage, count: other.shape.rows * other.shape.cols)
            w = (try? WeightMatrix(type: .f32, rows: other.shape.rows, cols: other.shape.cols, data: UnsafeRawPointer(storage))) ?? other.w
            self.x = x
            self.bias = bias
            shape = other.shape
        }

        deinit { storage.deallocate() }
    }

    func problem(_ s: Shape, seed: UInt64) throws -> Problem {
        var rng = KernelRandom(seed: seed)
        // Activations of LayerNorm-like size with a few outliers; weights ~0.05 like a trained encoder.
        let x = (0..<(s.n * s.cols)).map { i in rng.float() * (i % 97 == 0 ? 12 : 2) }
        let w = (0..<(s.rows * s.cols)).map { _ in rng.float() * 0.1 }
        let bias = (0..<s.rows).map { _ in rng.float() }
        return try Problem(weights: w, x: x, bias: bias, shape: s)
    }

    func run(_ p: Problem, _ body: (WeightMatrix, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> Void) -> [Float] {
        var y = [Float](repeating: .nan, count: p.shape.n * p.shape.rows)
        p.x.withUnsafeBufferPointer { x in
            p.bias.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { body(p.w, x.baseAddress!, $0.baseAddress!, b.baseAddress!) }
            }
        }
        withExtendedLifetime(p) {}
        return y
    }

    func relError(_ a: [Float], _ ref: [Float]) -> Double {
        let scale = ref.reduce(0) { max($0, abs(Double($1))) }
        return zip(a, ref).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) } / max(scale, 1e-30)
    }

    func testThreeWay() throws {
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        let kernels = LowPrecisionKernel.allCases.filter { $0 != .f32 && $0.isAvailable }
        print("reduced-precision kernels available here: \(kernels.map(\.rawValue))")
        for (i, s) in Self.shapes.enumerated() {
            let p = try problem(s, seed: UInt64(100 + i))
            let f32 = run(p) { w, x, y, b in matmulLowPrecisionReference(w, format: .f32, x, y, n: s.n, bias: b) }
            let exact = run(p) { w, x, y, b in matmul(w, x, y, n: s.n, bias: b, pool: pools[0]) }
            XCTAssertLessThanOrEqual(relError(exact, f32), 1e-6, "f32 matmul vs naive \(s)")
            let bf16Ref = run(p) { w, x, y, b in matmulLowPrecisionReference(w, format: .bf16, x, y, n: s.n, bias: b) }
            let f16Ref = run(p) { w, x, y, b in matmulLowPrecisionReference(w, format: .f16, x, y, n: s.n, bias: b) }
            let bf16Rounding = relError(bf16Ref, f32)
            XCTAssertLessThanOrEqual(bf16Rounding, 2e-2, "bf16 rounding \(s)")
            XCTAssertLessThanOrEqual(relError(f16Ref, f32), bf16Rounding, "f16 rounding is finer than bf16's \(s)")
            let packedBF16 = try LowPrecisionWeights(p.w, format: .bf16)
            let packedF16 = try LowPrecisionWeights(p.w, format: .f16)
            for kernel in kernels {
                let packed = kernel.format == .bf16 ? packedBF16 : packedF16
                let ref = kernel.format == .bf16 ? bf16Ref : f16Ref
                let budget = kernel.format == .bf16 ? 1e-5 : 2e-3
                var results: [[Float]] = []
                for pool in pools {
                    let y = run(p) { w, x, y, b in matmul(w, packed: packed, x, y, n: s.n, bias: b, pool: pool, kernel: kernel) }
                    let toRounded = relError(y, ref), toF32 = relError(y, f32)
                    print(String(format: "%@ %@ threads %d: vs rounded naive %.2e, vs f32 %.2e (bf16 rounding %.2e)",
                                 kernel.rawValue, "\(s.n)x\(s.rows)x\(s.cols)", pool.activeThreads, toRounded, toF32, bf16Rounding))
                    XCTAssertLessThanOrEqual(toRounded, budget, "\(kernel) vs rounded naive \(s)")
                    XCTAssertLessThanOrEqual(toF32, 2e-2, "\(kernel) vs f32 \(s)")
                    if kernel == .avx512fp16 { XCTAssertLessThanOrEqual(toF32, 1.5 * bf16Rounding, "f16 kernel vs bf16 rounding \(s)") }
                    results.append(y)
                }
                XCTAssertEqual(results[0], results[1], "\(kernel): threads split output features, so results agree exactly")
            }
        }
    }

    /// The fallbacks: a forced `.f32` kernel, an unavailable kernel, a kernel of the other format and
    /// a missing packing all run the f32 matmul (bit for bit); AVX512-BF16 forced where AMX exists.
    func testFallbackPaths() throws {
        let pool = ThreadPool(threadCount: 2)
        let s = Shape(n: 40, rows: 48, cols: 96)
        let p = try problem(s, seed: 7)
        let exact = run(p) { w, x, y, b in matmul(w, x, y, n: s.n, bias: b, pool: pool) }
        let bf16 = try LowPrecisionWeights(p.w, format: .bf16), f16 = try LowPrecisionWeights(p.w, format: .f16)
        XCTAssertEqual(run(p) { w, x, y, b in matmul(w, packed: bf16, x, y, n: s.n, bias: b, pool: pool, kernel: .f32) }, exact)
        XCTAssertEqual(run(p) { w, x, y, b in matmul(w, packed: nil, x, y, n: s.n, bias: b, pool: pool, kernel: .avx512bf16) }, exact)
        XCTAssertEqual(run(p) { w, x, y, b in matmul(w, packed: f16, x, y, n: s.n, bias: b, pool: pool, kernel: .avx512bf16) }, exact)
        for kernel in LowPrecisionKernel.allCases where !kernel.isAvailable {
            let packed = kernel.format == .f16 ? f16 : bf16
            XCTAssertEqual(run(p) { w, x, y, b in matmul(w, packed: packed, x, y, n: s.n, bias: b, pool: pool, kernel: kernel) }, exact,
                           "unavailable \(kernel) falls back to f32")
        }
        XCTAssertEqual(LowPrecisionKernel.best(for: .f32), .f32)
        let bestBF16 = LowPrecisionKernel.best(for: .bf16)
        XCTAssertTrue(bestBF16.isAvailable)
        XCTAssertTrue(bestBF16 == .f32 || bestBF16.format == .bf16)
        if LowPrecisionKernel.amx.isAvailable {
            XCTAssertEqual(bestBF16, .amx)
            // Both bf16 kernels read the same packing and sum in f32: they agree closely.
            let amx = run(p) { w, x, y, b in matmul(w, packed: bf16, x, y, n: s.n, bias: b, pool: pool, kernel: .amx) }
            if LowPrecisionKernel.avx512bf16.isAvailable {
                let avx = run(p) { w, x, y, b in matmul(w, packed: bf16, x, y, n: s.n, bias: b, pool: pool, kernel: .avx512bf16) }
                XCTAssertLessThanOrEqual(relError(amx, avx), 1e-5)
            }
        }
    }

    /// Several products of one input (Q, K, V) equal the products one at a time.
    func testSharedInput() throws {
        let pool = ThreadPool(threadCount: 2)
        let s = Shape(n: 33, rows: 64, cols: 64)
        let a = try problem(s, seed: 1), b = try problem(s, seed: 2)
        for kernel in LowPrecisionKernel.allCases where kernel.isAvailable {
            let format = kernel.format ?? .bf16
            let pa = try LowPrecisionWeights(a.w, format: format), pb = try LowPrecisionWeights(b.w, format: format)
            var ya = [Float](repeating: 0, count: s.n * s.rows), yb = ya
            a.bias.withUnsafeBufferPointer { ba in
                b.bias.withUnsafeBufferPointer { bb in
                    ya.withUnsafeMutableBufferPointer { oa in
                        yb.withUnsafeMutableBufferPointer { ob in
                            matmul([LowPrecisionProduct(a.w, packed: pa, oa.baseAddress!, bias: ba.baseAddress),
                                    LowPrecisionProduct(b.w, packed: pb, ob.baseAddress!, bias: bb.baseAddress)],
                                   a.x, n: s.n, pool: pool, kernel: kernel)
                        }
                    }
                }
            }
            withExtendedLifetime((a, b)) {}
            let b2 = Problem(sharing: b, x: a.x, bias: b.bias)
            XCTAssertEqual(ya, run(a) { w, x, y, bias in matmul(w, packed: pa, x, y, n: s.n, bias: bias, pool: pool, kernel: kernel) })
            XCTAssertEqual(yb, run(b2) { w, x, y, bias in matmul(w, packed: pb, x, y, n: s.n, bias: bias, pool: pool, kernel: kernel) })
        }
    }

    /// Conversions round to nearest even, as the references assume.
    func testRounding() {
        XCTAssertEqual(loomi_f32_to_bf16(1.0), 0x3F80)
        XCTAssertEqual(loomi_bf16_to_f32(loomi_f32_to_bf16(1 + 1.0 / 256)), 1)           // tie to even
        XCTAssertEqual(loomi_bf16_to_f32(loomi_f32_to_bf16(1 + 3.0 / 256)), 1 + 4.0 / 256)
        XCTAssertTrue(loomi_bf16_to_f32(loomi_f32_to_bf16(.nan)).isNaN)
        XCTAssertEqual(loomi_f16_to_f32(loomi_f32_to_f16(1 + 1.0 / 2048)), 1)
        XCTAssertEqual(loomi_f16_to_f32(loomi_f32_to_f16(65504)), 65504)
    }

    /// The packed copies are made once even when threads ask at the same time.
    func testCacheMakesOnce() {
        let cache = LowPrecisionCache<Int>()
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        counter.initialize(to: 0)
        defer { counter.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            _ = cache.value(.bf16) { counter.pointee += 1; usleep(1000); return 42 }
        }
        XCTAssertEqual(counter.pointee, 1)
        XCTAssertEqual(cache.value(.bf16) { 0 }, 42)
    }
}
