import LoomCore
#if canImport(Glibc)
import Glibc
#endif

/// SiLU (swish): x · σ(x).
@inlinable
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// SwiGLU in place: gate[i] = silu(gate[i]) · up[i]. Vectorized (exp within 2 ulp of expf).
public func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    isaSwiglu(CPUFeatures.selectedISA, gate, up, n)
}

/// `swiglu` split over the pool's threads (worth it from a few thousand elements, e.g. a prompt batch).
public func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int, pool: ThreadPool) {
    let isa = CPUFeatures.selectedISA
    guard n >= 16_384, pool.activeThreads > 1 else {
        isaSwiglu(isa, gate, up, n)
        return
    }
    let chunks = (n + 15) / 16
    pool.parallelFor(chunks) { r in
        let lo = 16 * r.lowerBound, hi = min(n, 16 * r.upperBound)
        isaSwiglu(isa, gate + lo, up + lo, hi - lo)
    }
}

/// Softmax in place over `n` values (max-subtracted; -inf entries become 0; the sum is taken in f64).
public func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    guard n > 0 else { return }
    let isa = CPUFeatures.selectedISA
    let m = isaMaxValue(isa, x, n)
    if m == -Float.infinity {
        for i in 0..<n { x[i] = 1 / Float(n) }
        return
    }
    let sum = isaExpShiftSum(isa, x, n, m)
    let inv = Float(1.0 / sum)
    for i in 0..<n { x[i] *= inv }
}

/// The plain scalar softmax (expf, sequential f64 sum) the vectorized one is tested against.
public func softmaxReference(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    guard n > 0 else { return }
    var m = -Float.infinity
    for i in 0..<n where x[i] > m { m = x[i] }
    if m == -Float.infinity {
        for i in 0..<n { x[i] = 1 / Float(n) }
        return
    }
    var sum = 0.0
    for i in 0..<n {
        let e = expf(x[i] - m)
        x[i] = e
        sum += Double(e)
    }
    let inv = Float(1.0 / sum)
    for i in 0..<n { x[i] *= inv }
}
