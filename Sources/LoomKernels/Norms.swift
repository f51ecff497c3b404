import LoomCore
#if canImport(Glibc)
import Glibc
#endif

/// RMSNorm (Llama): out = x / sqrt(mean(x²) + eps) · weight, over `n` values.
/// The mean of squares is accumulated in f64, so the result is at least as exact as an f32 reference.
public func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                    n: Int, eps: Float) {
    rmsNormRow(CPUFeatures.selectedISA, x, weight, out, n: n, eps: eps)
}

/// RMSNorm of `rows` rows of `n` values (row-major, contiguous), split over the pool's threads.
public func rmsNorm(rows: Int, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                    n: Int, eps: Float, pool: ThreadPool) {
    let isa = CPUFeatures.selectedISA
    if rows * n < 16_384 || pool.activeThreads == 1 {
        for i in 0..<rows { rmsNormRow(isa, x + i * n, weight, out + i * n, n: n, eps: eps) }
        return
    }
    pool.parallelFor(rows) { r in
        for i in r { rmsNormRow(isa, x + i * n, weight, out + i * n, n: n, eps: eps) }
    }
}

@inline(__always)
func rmsNormRow(_ isa: ISALevel, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                n: Int, eps: Float) {
    let ss = isaSumOfSquares(isa, x, n)
    let scale = Float(1.0 / (ss / Double(n) + Double(eps)).squareRoot())
    for i in 0..<n { out[i] = weight[i] * (x[i] * scale) }
}

/// LayerNorm: out = (x − mean) / sqrt(var + eps) · weight + bias.
@inlinable
public func layerNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?,
                      _ out: UnsafeMutablePointer<Float>, n: Int, eps: Float) {
    var mean = 0.0
    for i in 0..<n { mean += Double(x[i]) }
    mean /= Double(n)
    var v = 0.0
    for i in 0..<n { let d = Double(x[i]) - mean; v += d * d }
    v /= Double(n)
    let inv = 1.0 / (v + Double(eps)).squareRoot()
    for i in 0..<n {
        let y = Float((Double(x[i]) - mean) * inv)
        out[i] = y * (weight?[i] ?? 1) + (bias?[i] ?? 0)
    }
}
