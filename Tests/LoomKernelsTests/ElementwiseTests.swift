import Foundation
import LoomCore
@testable import LoomKernels
import XCTest

/// The vectorized exp / SwiGLU / softmax / RMSNorm kernels against scalar references (expf, f64), at
/// every ISA level of this machine.
///
/// Budgets: exp within 2 ulp of f64 exp in the normal range (measured ≤ 1 ulp); SwiGLU and softmax
/// within 4e-7 relative (a few ulp: exp, one division/multiply); RMSNorm within 2 ulp of the f64 result.
final class ElementwiseTests: XCTestCase {
    func ulpDistance(_ a: Float, _ b: Float) -> Int {
        if a == b { return 0 }
        if a.isNaN || b.isNaN { return Int.max }
        func key(_ f: Float) -> Int64 {
            let i = Int64(Int32(bitPattern: f.bitPattern))
            return i < 0 ? Int64(Int32.min) - i : i
        }
        return Int(abs(key(a) - key(b)))
    }

    func testExpAccuracy() {
        for isa in CPUFeatures.host.availableISAs {
            // Through expShiftSum with shift 0: x[i] ← e^x[i].
            var xs: [Float] = []
            var v: Float = -87
            while v < 88.7 { xs.append(v); v += 0.0137 }
            xs += [0, -0.0, 1e-30, -1e-30, 88.72, -87.3, 1, -1]
            var worst = 0
            var worstAt: Float = 0
            var out = xs
            let n = out.count
            _ = out.withUnsafeMutableBufferPointer { isaExpShiftSum(isa, $0.baseAddress!, n, 0) }
            for (x, y) in zip(xs, out) {
                let want = Float(Foundation.exp(Double(x)))
                guard want.isNormal else { continue }
                let d = ulpDistance(y, want)
                if d > worst { worst = d; worstAt = x }
            }
            print("exp \(isa): max error \(worst) ulp (at x = \(worstAt)) over \(xs.count) values in [-87, 88.7]")
            XCTAssertLessThanOrEqual(worst, 2, "\(isa)")

            // Special values: overflow, underflow, -inf.
            var special: [Float] = [100, 89, -88, -100, -104, -200, -.infinity, .infinity] + [Float](repeating: -1000, count: 16)
            let m = special.count
            _ = special.withUnsafeMutableBufferPointer { isaExpShiftSum(isa, $0.baseAddress!, m, 0) }
            XCTAssertEqual(special[0], .infinity, "\(isa) e^100")
            XCTAssertEqual(special[1], .infinity, "\(isa) e^89")
            XCTAssertLessThanOrEqual(special[2], 1.2e-38, "\(isa) e^-88")
            XCTAssertEqual(special[3], 0, accuracy: 1e-43, "\(isa) e^-100")
            XCTAssertEqual(special[5], 0, "\(isa) e^-200")
            XCTAssertEqual(special[6], 0, "\(isa) e^-inf")
            XCTAssertEqual(special[7], .infinity, "\(isa) e^inf")
            XCTAssertEqual(special[8], 0, "\(isa) e^-1000")
        }
    }

    func testSwiGLU() {
        var rng = KernelRandom(seed: 5)
        for n in [0, 1, 15, 16, 17, 100, 1536] {
            let g = (0..<n).map { _ in rng.float() * 20 }
            let u = (0..<n).map { _ in rng.float() * 3 }
            let want = zip(g, u).map { Double($0) / (1 + Foundation.exp(-Double($0))) * Double($1) }
            for isa in CPUFeatures.host.availableISAs {
                var got = g
                got.withUnsafeMutableBufferPointer { gp in u.withUnsafeBufferPointer { isaSwiglu(isa, gp.baseAddress!, $0.baseAddress!, n) } }
                var worst = 0.0
                for i in 0..<n { worst = max(worst, abs(Double(got[i]) - want[i]) / max(abs(want[i]), 1e-30)) }
                XCTAssertLessThanOrEqual(worst, 4e-7, "\(isa) n=\(n)")
                if n == 1536 { print("swiglu \(isa): max relative error \(worst)") }
            }
        }
        // Extremes: large |x| gives x (positive) or -0 (negative), never NaN.
        var g: [Float] = [100, -100, 1000, -1000, 0] + [Float](repeating: -90, count: 16)
        let u = [Float](repeating: 1, count: g.count)
        let n = g.count
        g.withUnsafeMutableBufferPointer { gp in u.withUnsafeBufferPointer { swiglu(gp.baseAddress!, $0.baseAddress!, n) } }
        XCTAssertEqual(g[0], 100)
        XCTAssertEqual(g[2], 1000)
        XCTAssertEqual(g[1], 0, accuracy: 1e-30)
        XCTAssertEqual(g[3], 0, accuracy: 1e-30)
        XCTAssertFalse(g.contains { $0.isNaN })
    }

    func testSoftmax() {
        var rng = KernelRandom(seed: 6)
        for n in [1, 5, 16, 17, 64, 513] {
            var x = (0..<n).map { _ in rng.float() * 30 }
            if n > 4 { x[1] = -.infinity; x[n - 1] = -.infinity }
            var ref = x
            ref.withUnsafeMutableBufferPointer { softmaxReference($0.baseAddress!, n) }
            let m = x.max()!
            let denom = x.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }
            for isa in CPUFeatures.host.availableISAs {
                var got = x
                got.withUnsafeMutableBufferPointer { p in
                    let mm = isaMaxValue(isa, p.baseAddress!, n)
                    let s = isaExpShiftSum(isa, p.baseAddress!, n, mm)
                    let inv = Float(1.0 / s)
                    for i in 0..<n { p[i] *= inv }
                }
                var worst = 0.0
                for i in 0..<n {
                    let want = Foundation.exp(Double(x[i] - m)) / denom
                    worst = max(worst, abs(Double(got[i]) - want) / max(want, 1e-30))
                    if x[i] == -.infinity { XCTAssertEqual(got[i], 0, "\(isa) -inf entry") }
                }
                XCTAssertLessThanOrEqual(worst, 4e-7, "\(isa) n=\(n)")
            }
            var pub = x
            pub.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, n) }
            for i in 0..<n { XCTAssertEqual(pub[i], ref[i], accuracy: 4e-7 * max(ref[i], 1e-30) + 1e-37) }
        }
        var allInf = [Float](repeating: -.infinity, count: 20)
        allInf.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, 20) }
        XCTAssertEqual(allInf, [Float](repeating: 1 / 20, count: 20))
    }

    func testRMSNorm() {
        var rng = KernelRandom(seed: 7)
        let n = 576, rows = 40
        let x = (0..<(rows * n)).map { _ in rng.float() * 4 }
        let w = (0..<n).map { _ in 1 + rng.float() }
        var want = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            var ss = 0.0
            for i in 0..<n { ss += Double(x[r * n + i]) * Double(x[r * n + i]) }
            let scale = Float(1.0 / (ss / Double(n) + 1e-5).squareRoot())
            for i in 0..<n { want[r * n + i] = w[i] * (x[r * n + i] * scale) }
        }
        for isa in CPUFeatures.host.availableISAs {
            var got = [Float](repeating: 0, count: rows * n)
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in got.withUnsafeMutableBufferPointer { op in
                for r in 0..<rows { rmsNormRow(isa, xp.baseAddress! + r * n, wp.baseAddress!, op.baseAddress! + r * n, n: n, eps: 1e-5) }
            } } }
            let worst = zip(got, want).map { ulpDistance($0, $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 2, "\(isa)")
        }
        // Pool variant equals the row-by-row one.
        let pool = ThreadPool(threadCount: 3)
        var a = [Float](repeating: 0, count: rows * n), b = a
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
            a.withUnsafeMutableBufferPointer { rmsNorm(rows: rows, xp.baseAddress!, wp.baseAddress!, $0.baseAddress!, n: n, eps: 1e-5, pool: pool) }
            b.withUnsafeMutableBufferPointer { op in
                for r in 0..<rows { rmsNorm(xp.baseAddress! + r * n, wp.baseAddress!, op.baseAddress! + r * n, n: n, eps: 1e-5) }
            }
        } }
        XCTAssertEqual(a, b)
    }

    func testRoPETableMatchesDirect() {
        for style in [RoPEStyle.interleaved, .halves] {
            let rope = RoPE(dims: 64, base: 10000, style: style)
            let heads = 9, kvHeads = 3, hd = 64, rows = 37
            var rng = KernelRandom(seed: 8)
            let q0 = (0..<(rows * heads * hd)).map { _ in rng.float() }
            let k0 = (0..<(rows * kvHeads * hd)).map { _ in rng.float() }
            let positions: [Int32] = (0..<rows).map { Int32(3 * $0 + 1) }
            var q1 = q0, k1 = k0
            for i in 0..<rows {
                q1.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress! + i * heads * hd, heads: heads, headDim: hd, position: Int(positions[i])) }
                k1.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress! + i * kvHeads * hd, heads: kvHeads, headDim: hd, position: Int(positions[i])) }
            }
            var q2 = q0, k2 = k0
            var table = [Float](repeating: 0, count: rows * 64)
            positions.withUnsafeBufferPointer { p in table.withUnsafeMutableBufferPointer { rope.makeTable(positions: p, into: $0.baseAddress!) } }
            let pool = ThreadPool(threadCount: 2)
            q2.withUnsafeMutableBufferPointer { qp in k2.withUnsafeMutableBufferPointer { kp in table.withUnsafeBufferPointer { t in
                rope.apply(q: qp.baseAddress!, qHeads: heads, k: kp.baseAddress!, kHeads: kvHeads, headDim: hd, rows: rows,
                           table: t.baseAddress!, pool: pool)
            } } }
            XCTAssertEqual(q1.map(\.bitPattern), q2.map(\.bitPattern))
            XCTAssertEqual(k1.map(\.bitPattern), k2.map(\.bitPattern))
        }
    }
}
