import CLoomSupport
import LoomCore
#if canImport(Glibc)
import Glibc
#endif

// GELU with the exact erf form (HF `gelu`, BERT): gelu(x) = x/2 · (1 + erf(x/√2)).

/// erf as a rational function of x² on [-4, 4] (outside, erf is ±1 to f32 precision); max error
/// 4e-7 absolute. Plain SIMD mul/add: this file is built without a target CPU, where explicit
/// FMA would become libm calls.
@inline(__always)
func erfApprox(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let x = x.clamped(lowerBound: SIMD8(repeating: -4), upperBound: SIMD8(repeating: 4))
    let x2 = x * x
    var p = SIMD8<Float>(repeating: -2.72614225801306e-10)
    p = p * x2 + SIMD8(repeating: 2.77068142495902e-08)
    p = p * x2 + SIMD8(repeating: -2.10102402082508e-06)
    p = p * x2 + SIMD8(repeating: -5.69250639462346e-05)
    p = p * x2 + SIMD8(repeating: -7.34990630326855e-04)
    p = p * x2 + SIMD8(repeating: -2.95459980854025e-03)
    p = p * x2 + SIMD8(repeating: -1.60960333262415e-02)
    var q = SIMD8<Float>(repeating: -1.45660718464996e-05)
    q = q * x2 + SIMD8(repeating: -2.13374055278905e-04)
    q = q * x2 + SIMD8(repeating: -1.68282697438203e-03)
    q = q * x2 + SIMD8(repeating: -7.37332916720468e-03)
    q = q * x2 + SIMD8(repeating: -1.42647390514189e-02)
    return p * x / q
}

/// Exact-form GELU in place over `n` values, 8 lanes at a time.
public func geluErf(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    let raw = UnsafeMutableRawPointer(x)
    let half = SIMD8<Float>(repeating: 0.5), one = SIMD8<Float>(repeating: 1)
    let invSqrt2 = SIMD8<Float>(repeating: 0.70710678118654752)
    var i = 0
    while i + 8 <= n {
        let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        raw.storeBytes(of: half * v * (one + erfApprox(v * invSqrt2)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    if i < n {
        var tail = SIMD8<Float>()
        for j in i..<n { tail[j - i] = x[j] }
        let g = half * tail * (one + erfApprox(tail * invSqrt2))
        for j in i..<n { x[j] = g[j - i] }
    }
}

/// Whether the AVX-512 C kernels of GELU, LayerNorm and attention run (`LOOM_ISA` below avx512 turns
/// them off, like the other AVX-512 kernels; they check CPUID themselves as well).
let encoderCKernels = CPUFeatures.selectedISA >= .avx512

/// `geluErf` split over the pool's threads (worth it for a batch of tokens); AVX-512 (the same
/// approximation, with FMA) where the CPU has it.
public func geluErf(_ x: UnsafeMutablePointer<Float>, _ n: Int, pool: ThreadPool) {
    let c = encoderCKernels
    let one = { (p: UnsafeMutablePointer<Float>, count: Int) in
        if !c || loomi_gelu_erf_avx512(p, count) == 0 { geluErf(p, count) }
    }
    guard n >= 16_384, pool.activeThreads > 1 else {
        one(x, n)
        return
    }
    let chunks = (n + 15) / 16
    pool.parallelFor(chunks) { r in
        let lo = 16 * r.lowerBound, hi = min(n, 16 * r.upperBound)
        one(x + lo, hi - lo)
    }
}

/// x = LayerNorm(x + add) · weight + bias over `rows` rows of `n` values, in place (`add` nil: plain
/// LayerNorm), split over the pool's threads. AVX-512 (f32 statistics) where the CPU has it, else
/// `addInPlace` + `layerNorm` (f64 statistics).
public func addLayerNorm(rows: Int, _ x: UnsafeMutablePointer<Float>, add: UnsafePointer<Float>?,
                         weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, n: Int, eps: Float, pool: ThreadPool) {
    let c = encoderCKernels
    let some = { (r: Range<Int>) in
        let xr = x + r.lowerBound * n, ar = add.map { $0 + r.lowerBound * n }
        if !c || loomi_add_layer_norm_avx512(xr, ar, weight, bias, r.count, n, eps) == 0 {
            for i in 0..<r.count {
                if let ar { addInPlace(xr + i * n, ar + i * n, n) }
                layerNorm(xr + i * n, weight, bias, xr + i * n, n: n, eps: eps)
            }
        }
    }
    if rows * n < 16_384 || pool.activeThreads == 1 { some(0..<rows) } else { pool.parallelFor(rows, some) }
}

/// The plain reference the vectorized GELU is tested against: libm erf in f64.
public func geluErfReference(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n {
        let v = Double(x[i])
        x[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    }
}

/// LayerNorm (`layerNorm`, with weight and bias) of `rows` contiguous rows of `n` values, split over
/// the pool's threads. `out` may be `x` (each row's statistics are taken before it is written).
public func layerNorm(rows: Int, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                      _ out: UnsafeMutablePointer<Float>, n: Int, eps: Float, pool: ThreadPool) {
    if rows * n < 16_384 || pool.activeThreads == 1 {
        for i in 0..<rows { layerNorm(x + i * n, weight, bias, out + i * n, n: n, eps: eps) }
        return
    }
    pool.parallelFor(rows) { r in
        for i in r { layerNorm(x + i * n, weight, bias, out + i * n, n: n, eps: eps) }
    }
}

/// Bidirectional multi-head attention within segments (an encoder's batch, rows packed back to
/// back): each token of `segments[s]` attends to every token of that segment and no other.
/// q, k, v, out: [tokens, heads·headDim] row-major. Threads take (segment, head) pairs in turn; each
/// runs on the AVX-512 head kernel (CLoomSupport) where the CPU has it; otherwise a long segment's
/// head runs as two GEMMs (QKᵀ, then PV) on the matmul kernels, a short one as dots.
public func segmentAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                             out: UnsafeMutablePointer<Float>, segments: [Range<Int>], heads: Int, headDim hd: Int,
                             pool: ThreadPool) {
    let width = heads * hd
    let longest = segments.map(\.count).max() ?? 0
    let scale = 1 / Float(hd).squareRoot()
    let tasks = segments.count * heads
    guard tasks > 0, longest > 0 else { return }
    let gemmFrom = 16   // tokens; below this the GEMMs' packing costs more than it saves
    let work = { (thread: Int, threads: Int) in
        // AVX-512 kernel (one head of one segment per call) where the CPU has it.
        let cCount = loomi_attention_scratch(Int32(clamping: longest), Int32(clamping: hd))
        let cScratch = UnsafeMutablePointer<Float>.allocate(capacity: cCount)
        defer { cScratch.deallocate() }
        var fastTask = thread
        var fast = encoderCKernels
        while fast && fastTask < tasks {
            let segment = segments[fastTask / heads], h = fastTask % heads
            let at = segment.lowerBound * width + h * hd
            // 0 only without AVX-512 or for heads wider than 256, so it fails on the first task or never.
            if loomi_attention_head_avx512(q + at, k + at, v + at, out + at, width, Int32(clamping: segment.count),
                                           Int32(clamping: hd), scale, cScratch) == 0 {
                fast = false
                break
            }
            fastTask += threads
        }
        if fast { return }
        // Per-thread scratch: scores [L, L], the head's Q and K [L, hd], Vᵀ [hd, L], output [L, hd].
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: longest * longest)
        let qh = UnsafeMutablePointer<Float>.allocate(capacity: longest * hd)
        let kh = UnsafeMutablePointer<Float>.allocate(capacity: longest * hd)
        let vt = UnsafeMutablePointer<Float>.allocate(capacity: longest * hd)
        let oh = UnsafeMutablePointer<Float>.allocate(capacity: longest * hd)
        defer { for b in [scores, qh, kh, vt, oh] { b.deallocate() } }
        let alone = ThreadPool(threadCount: 1)   // no threads: this worker runs its own GEMMs
        var task = thread
        while task < tasks {
            defer { task += threads }
            let segment = segments[task / heads], h = task % heads
            let L = segment.count
            if L >= gemmFrom {
                for (t, j) in segment.enumerated() {
                    (qh + t * hd).update(from: q + j * width + h * hd, count: hd)
                    (kh + t * hd).update(from: k + j * width + h * hd, count: hd)
                    for e in 0..<hd { vt[e * L + t] = v[j * width + h * hd + e] }
                }
                // Row-layout f32 matrices over scratch: cannot fail (f32 rows of any width).
                guard let keys = try? WeightMatrix(type: .f32, rows: L, cols: hd, data: UnsafeRawPointer(kh)),
                      let values = try? WeightMatrix(type: .f32, rows: hd, cols: L, data: UnsafeRawPointer(vt))
                else { continue }
                matmul(keys, qh, scores, n: L, pool: alone)                  // [L queries, L keys]
                for t in 0..<L {
                    let row = scores + t * L
                    for j in 0..<L { row[j] *= scale }
                    softmaxInPlace(row, L)
                }
                matmul(values, scores, oh, n: L, pool: alone)               // [L, hd]
                for (t, i) in segment.enumerated() { (out + i * width + h * hd).update(from: oh + t * hd, count: hd) }
            } else {
                for i in segment {
                    let qi = q + i * width + h * hd
                    for (t, j) in segment.enumerated() { scores[t] = dot(qi, k + j * width + h * hd, hd) * scale }
                    softmaxInPlace(scores, L)
                    let oi = out + i * width + h * hd
                    oi.update(repeating: 0, count: hd)
                    for (t, j) in segment.enumerated() { axpy(scores[t], v + j * width + h * hd, oi, hd) }
                }
            }
        }
    }
    if pool.activeThreads == 1 || segments.reduce(0, { $0 + $1.count * $1.count }) * width < 65_536 {
        work(0, 1)
    } else {
        let n = pool.activeThreads
        pool.run { t in work(t, n) }
    }
}

/// The naive f64 version of `segmentAttention` (tests).
public func segmentAttentionReference(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                      out: UnsafeMutablePointer<Float>, segments: [Range<Int>], heads: Int, headDim hd: Int) {
    let width = heads * hd
    for segment in segments {
        for h in 0..<heads {
            for i in segment {
                var s = segment.map { j -> Double in
                    var acc = 0.0
                    for e in 0..<hd { acc += Double(q[i * width + h * hd + e]) * Double(k[j * width + h * hd + e]) }
                    return acc / Double(hd).squareRoot()
                }
                let m = s.max() ?? 0
                s = s.map { exp($0 - m) }
                let total = s.reduce(0, +)
                for e in 0..<hd {
                    var acc = 0.0
                    for (t, j) in segment.enumerated() { acc += s[t] / total * Double(v[j * width + h * hd + e]) }
                    out[i * width + h * hd + e] = Float(acc)
                }
            }
        }
    }
}
