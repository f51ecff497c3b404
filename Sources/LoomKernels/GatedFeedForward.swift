import LoomCore
#if canImport(Glibc)
import Glibc
#endif

/// The element-wise activations of feed-forward layers (T5's `feed_forward_proj`, HF `ACT2FN` names).
public enum FeedForwardActivation: String, Codable, Sendable {
    case relu
    /// HF `gelu_new` / `gelu_pytorch_tanh`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    case geluTanh
    /// HF `gelu`: 0.5·x·(1 + erf(x/√2)).
    case geluExact
    /// HF `silu` / `swish`.
    case silu

    /// f(x) in f32, the way torch evaluates it.
    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return max(x, 0)
        case .geluTanh:
            let inner: Float = 0.7978845608028654 * (x + 0.044715 * (x * x * x))
            return 0.5 * x * (1 + tanhf(inner))
        case .geluExact: return 0.5 * x * (1 + erff(x * 0.7071067811865476))
        case .silu: return x / (1 + expf(-x))
        }
    }

    /// f(x) in f64: what the f32 version is tested against.
    public func reference(_ x: Double) -> Double {
        switch self {
        case .relu: return max(x, 0)
        case .geluTanh: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        case .geluExact: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .silu: return x / (1 + exp(-x))
        }
    }
}

/// x[i] = f(x[i]) in place, split over the pool's threads for large inputs. The tanh GELU and ReLU
/// run 8 lanes at a time (`geluTanh8`: within 1e-6 absolute of the f64 formula).
public func activateInPlace(_ activation: FeedForwardActivation, _ x: UnsafeMutablePointer<Float>, _ n: Int,
                            pool: ThreadPool) {
    forChunks(n, pool: pool) { lo, hi in
        switch activation {
        case .geluTanh: mapLanes(x + lo, hi - lo) { geluTanh8($0) }
        case .relu: mapLanes(x + lo, hi - lo) { $0.replacing(with: 0, where: $0 .< 0) }
        case .geluExact, .silu: for i in lo..<hi { x[i] = activation.apply(x[i]) }
        }
    }
}

/// Gated feed-forward product in place: gate[i] = f(gate[i]) · up[i] (T5 `gated-gelu`, SwiGLU with `.silu`).
public func gatedActivation(_ activation: FeedForwardActivation, _ gate: UnsafeMutablePointer<Float>,
                            _ up: UnsafePointer<Float>, _ n: Int, pool: ThreadPool) {
    activateInPlace(activation, gate, n, pool: pool)
    forChunks(n, pool: pool) { lo, hi in
        for i in lo..<hi { gate[i] *= up[i] }
    }
}

/// The plain f64 version of `gatedActivation` (tests).
public func gatedActivationReference(_ activation: FeedForwardActivation, _ gate: UnsafeMutablePointer<Float>,
                                     _ up: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { gate[i] = Float(activation.reference(Double(gate[i])) * Double(up[i])) }
}

/// Runs `body(lo, hi)` over `0..<n`, on the pool's threads only when there is enough work to pay for it.
/// Chunk bounds are multiples of 8 (whole SIMD8 lanes) except the last.
private func forChunks(_ n: Int, pool: ThreadPool, _ body: (Int, Int) -> Void) {
    guard n >= 16_384, pool.activeThreads > 1 else {
        if n > 0 { body(0, n) }
        return
    }
    pool.parallelFor((n + 7) / 8) { r in body(8 * r.lowerBound, min(n, 8 * r.upperBound)) }
}

/// x[i] = f(x[i]) for `n` values, 8 at a time (the tail through a zero-padded vector).
@inline(__always)
private func mapLanes(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) {
    let raw = UnsafeMutableRawPointer(x)
    var i = 0
    while i + 8 <= n {
        raw.storeBytes(of: f(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    guard i < n else { return }
    var tail = SIMD8<Float>()
    for j in i..<n { tail[j - i] = x[j] }
    let y = f(tail)
    for j in i..<n { x[j] = y[j - i] }
}

/// The tanh GELU on 8 lanes: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
@inline(__always)
func geluTanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let inner = 0.7978845608028654 * (x + 0.044715 * (x * x * x))
    return 0.5 * x * (1 + tanh8(inner))
}

/// tanh on 8 lanes as a [13/6] rational function of x on [-7.9, 7.9] (beyond, tanh is ±1 to within
/// 3.5e-7); max error 3.5e-7 absolute. Plain SIMD mul/add: this file is built without a target CPU,
/// where explicit FMA would become libm calls.
@inline(__always)
func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let x = x.clamped(lowerBound: SIMD8(repeating: -7.90531110763549805), upperBound: SIMD8(repeating: 7.90531110763549805))
    let x2 = x * x
    var p = SIMD8<Float>(repeating: -2.76076847742355e-16)
    p = p * x2 + SIMD8(repeating: 2.00018790482477e-13)
    p = p * x2 + SIMD8(repeating: -8.60467152213735e-11)
    p = p * x2 + SIMD8(repeating: 5.12229709037114e-08)
    p = p * x2 + SIMD8(repeating: 1.48572235717979e-05)
    p = p * x2 + SIMD8(repeating: 6.37261928875436e-04)
    p = p * x2 + SIMD8(repeating: 4.89352455891786e-03)
    var q = SIMD8<Float>(repeating: 1.19825839466702e-06)
    q = q * x2 + SIMD8(repeating: 1.18534705686654e-04)
    q = q * x2 + SIMD8(repeating: 2.26843463243900e-03)
    q = q * x2 + SIMD8(repeating: 4.89352518554385e-03)
    return p * x / q
}
