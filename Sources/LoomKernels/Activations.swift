#if canImport(Glibc)
import Glibc
#endif

/// SiLU (swish): x · σ(x).
@inlinable
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// SwiGLU in place: gate[i] = silu(gate[i]) · up[i].
@inlinable
public func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { gate[i] = silu(gate[i]) * up[i] }
}

/// Softmax in place over `n` values (max-subtracted; -inf entries become 0).
@inlinable
public func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
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
