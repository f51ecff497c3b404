// The inner kernels of `matmul` (and the vectorized exp, SwiGLU, softmax, RMSNorm and dot), written
// once and compiled three times:
//   - in LoomKernels itself without CPU flags (ISALevel.scalar: portable Swift),
//   - in LoomKernelsAVX2 (`-target-cpu haswell`, LOOM_AVX2 defined),
//   - in LoomKernelsAVX512 (`-target-cpu skylake-avx512`, LOOM_AVX512 defined).
// The two ISA targets reach this file through symlinks (Sources/LoomKernelsAVX*/ISAKernels.swift).
// Only the primitives at the top (load/convert/FMA/exp) and the GEMM microkernel differ per level
// (`#if LOOM_AVX512` / `LOOM_AVX2`; AVX-512 builtins from `_Builtin_intrinsics.intel`). Everything is `package`
// and not @inlinable, so code built for AVX-512 can never be inlined into generic callers: LoomKernels
// picks a level at run time (CPUFeatures) and calls `LoomKernelsAVX512.gemvQ4_1(...)` and so on.
//
// All functions take raw pointers; weights are in the interleaved layout of PackedWeights.swift:
// a group of 16 rows stores, per 32-column tile, the 16 rows' block headers side by side and then
// their quant bytes chunk by chunk (byte j of a 16-byte chunk belongs to row j), so one 16-lane
// vector holds one column of 16 rows and no kernel needs a horizontal sum.

#if LOOM_AVX512 || LOOM_AVX2
import _Builtin_intrinsics.intel
#endif
import CLoomSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias V16 = SIMD16<Float>

/// Columns of one quantized tile (the block size of Q4_0/Q4_1/Q5_x/Q8_0).
let tileCols = 32
/// Bytes of one interleaved Q4_1 tile: 16 f16 d, 16 f16 m, 16 chunks of 16 bytes.
let q4_1Tile = 320
/// Bytes of one interleaved Q4_0 tile: 16 f16 d, 16 chunks of 16 bytes.
let q4_0Tile = 288
/// Bytes of one interleaved Q8_0 tile: 16 f16 d, 32 chunks of 16 bytes.
let q8_0Tile = 544
/// Software prefetch distance of the GEMV kernels (bytes ahead in the weight stream).
let prefetchAhead = 4096

// MARK: - Primitives (the only per-ISA code besides the microkernel)

@inline(__always)
func vload(_ p: UnsafePointer<Float>) -> V16 { UnsafeRawPointer(p).loadUnaligned(as: V16.self) }

@inline(__always)
func vstore(_ v: V16, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self) }

/// c + a·b, fused where the level has FMA.
@inline(__always)
func vmadd(_ a: V16, _ b: V16, _ c: V16) -> V16 {
    #if LOOM_AVX512
    return _mm512_fmadd_ps(a, b, c)
    #elseif LOOM_AVX2
    return V16(lowHalf: _mm256_fmadd_ps(a.lowHalf, b.lowHalf, c.lowHalf),
               highHalf: _mm256_fmadd_ps(a.highHalf, b.highHalf, c.highHalf))
    #else
    return a * b + c
    #endif
}

/// 16 IEEE halves at `p` widened to f32 (exact).
@inline(__always)
func vhalves(_ p: UnsafeRawPointer) -> V16 {
    #if LOOM_AVX512
    return _mm512_cvtph_ps(p.loadUnaligned(as: SIMD4<Int64>.self))
    #elseif LOOM_AVX2
    let lo = _mm256_cvtph_ps(p.loadUnaligned(as: SIMD2<Int64>.self))
    let hi = _mm256_cvtph_ps(p.loadUnaligned(fromByteOffset: 16, as: SIMD2<Int64>.self))
    return V16(lowHalf: lo, highHalf: hi)
    #else
    var r = V16()
    for i in 0..<16 { r[i] = scalarHalf(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    return r
    #endif
}

/// 16 bfloat16 values at `p` widened to f32 (exact: the bits shifted up by 16).
@inline(__always)
func vbf16(_ p: UnsafeRawPointer) -> V16 {
    #if LOOM_AVX512
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(p.loadUnaligned(as: SIMD4<Int64>.self)), 16))
    #elseif LOOM_AVX2
    let lo = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(p.loadUnaligned(as: SIMD2<Int64>.self)), 16))
    let hi = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(p.loadUnaligned(fromByteOffset: 16, as: SIMD2<Int64>.self)), 16))
    return V16(lowHalf: lo, highHalf: hi)
    #else
    var r = V16()
    for i in 0..<16 { r[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
    return r
    #endif
}

/// 16 f16 (`bf16` false) or bf16 values at `p` as f32.
@inline(__always)
func vwiden(_ p: UnsafeRawPointer, bf16: Bool) -> V16 { bf16 ? vbf16(p) : vhalves(p) }

/// The constant table 0, 1, ..., 15 that turns a nibble into a float by permutation.
@inline(__always)
func nibbleTable() -> V16 { V16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }

/// The table −8, ..., 7 (Q4_0's codes minus 8).
@inline(__always)
func nibbleTableQ4_0() -> V16 { V16(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7) }

/// The low and high nibbles of the 16 bytes at `p` plus `offset`, as floats (lane j from byte j).
/// `table` must be `nibbleTable()` + offset (AVX-512 looks the values up in it).
@inline(__always)
func vnibbles(_ p: UnsafeRawPointer, _ table: V16, offset: Float) -> (lo: V16, hi: V16) {
    #if LOOM_AVX512
    return vnibbles(p, table)
    #else
    let n = vnibbles(p, table)
    return offset == 0 ? n : (n.lo + offset, n.hi + offset)
    #endif
}

/// The low and high nibbles of the 16 bytes at `p`, as floats (lane j from byte j).
@inline(__always)
func vnibbles(_ p: UnsafeRawPointer, _ table: V16) -> (lo: V16, hi: V16) {
    #if LOOM_AVX512
    // vpermps reads only the low 4 bits of each index: no mask, no int→float conversion.
    let w = _mm512_cvtepu8_epi32(p.loadUnaligned(as: SIMD2<Int64>.self))
    let lo = _mm512_permutexvar_ps(w, table)
    let hi = _mm512_permutexvar_ps(_mm512_srli_epi32(w, 4), table)
    return (lo, hi)
    #elseif LOOM_AVX2
    let w0 = _mm256_cvtepu8_epi32(SIMD2<Int64>(p.loadUnaligned(as: Int64.self), 0))
    let w1 = _mm256_cvtepu8_epi32(SIMD2<Int64>(p.loadUnaligned(fromByteOffset: 8, as: Int64.self), 0))
    let m = _mm256_set1_epi32(15)
    let lo = V16(lowHalf: _mm256_cvtepi32_ps(_mm256_and_si256(w0, m)), highHalf: _mm256_cvtepi32_ps(_mm256_and_si256(w1, m)))
    let hi = V16(lowHalf: _mm256_cvtepi32_ps(_mm256_srli_epi32(w0, 4)), highHalf: _mm256_cvtepi32_ps(_mm256_srli_epi32(w1, 4)))
    return (lo, hi)
    #else
    var lo = V16(), hi = V16()
    for i in 0..<16 {
        let b = p.load(fromByteOffset: i, as: UInt8.self)
        lo[i] = Float(b & 0x0F)
        hi[i] = Float(b >> 4)
    }
    return (lo, hi)
    #endif
}

/// The 16 signed bytes at `p` as floats.
@inline(__always)
func vint8(_ p: UnsafeRawPointer) -> V16 {
    #if LOOM_AVX512
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(p.loadUnaligned(as: SIMD2<Int64>.self)))
    #elseif LOOM_AVX2
    let w0 = _mm256_cvtepi8_epi32(SIMD2<Int64>(p.loadUnaligned(as: Int64.self), 0))
    let w1 = _mm256_cvtepi8_epi32(SIMD2<Int64>(p.loadUnaligned(fromByteOffset: 8, as: Int64.self), 0))
    return V16(lowHalf: _mm256_cvtepi32_ps(w0), highHalf: _mm256_cvtepi32_ps(w1))
    #else
    var r = V16()
    for i in 0..<16 { r[i] = Float(p.load(fromByteOffset: i, as: Int8.self)) }
    return r
    #endif
}

@inline(__always)
func prefetch(_ p: UnsafeRawPointer) { loomi_prefetch(p) }

/// Prefetches the 320 bytes of a quantized tile `prefetchAhead` bytes past `p` (five cache lines).
@inline(__always)
func prefetchTileAhead(_ p: UnsafeRawPointer) {
    for line in stride(from: 0, through: 256, by: 64) { prefetch(p + prefetchAhead + line) }
}

/// IEEE half → float, exact (portable path only).
@inline(__always)
func scalarHalf(_ h: UInt16) -> Float {
    let sign: UInt32 = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        let v = Float(mant) * (1.0 / 16_777_216.0)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

// MARK: - GEMV: y = W·x for whole 16-row groups, weights streamed once

/// Q4_1, interleaved: y[16g + j] = Σ_k w[16g + j][k]·x[k] for g in 0..<groups.
/// Per tile, Σ_k x_k(d·q_k + m) = d·Σ x_k q_k + m·Σ x_k with `xsum[t]` = Σ of the tile's 32 x values.
package func gemvQ4_1(_ w: UnsafeRawPointer, groups: Int, tiles: Int, x: UnsafePointer<Float>,
                      xsum: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let table = nibbleTable()
    var p = w
    for g in 0..<groups {
        var accD = V16(), accM = V16()
        for t in 0..<tiles {
            prefetchTileAhead(p)
            let xs = x + tileCols * t
            let q = p + 64
            var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
            var c = 0
            while c < 16 {
                let a = vnibbles(q + 16 * c, table)
                let b = vnibbles(q + 16 * (c + 1), table)
                s0 = vmadd(a.lo, V16(repeating: xs[c]), s0)
                s1 = vmadd(a.hi, V16(repeating: xs[c + 16]), s1)
                s2 = vmadd(b.lo, V16(repeating: xs[c + 1]), s2)
                s3 = vmadd(b.hi, V16(repeating: xs[c + 17]), s3)
                c += 2
            }
            let d = vhalves(p), m = vhalves(p + 32)
            accD = vmadd(d, (s0 + s1) + (s2 + s3), accD)
            accM = vmadd(m, V16(repeating: xsum[t]), accM)
            p += q4_1Tile
        }
        vstore(accD + accM, y + 16 * g)
    }
}

/// Q4_0, interleaved: y[16g + j] = Σ_k w[16g + j][k]·x[k]; per tile d·Σ x_k (q_k − 8).
package func gemvQ4_0(_ w: UnsafeRawPointer, groups: Int, tiles: Int, x: UnsafePointer<Float>,
                      y: UnsafeMutablePointer<Float>) {
    let table = nibbleTableQ4_0()
    var p = w
    for g in 0..<groups {
        var acc0 = V16(), acc1 = V16()
        for t in 0..<tiles {
            prefetchTileAhead(p)
            let xs = x + tileCols * t
            let q = p + 32
            var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
            var c = 0
            while c < 16 {
                let a = vnibbles(q + 16 * c, table, offset: -8)
                let b = vnibbles(q + 16 * (c + 1), table, offset: -8)
                s0 = vmadd(a.lo, V16(repeating: xs[c]), s0)
                s1 = vmadd(a.hi, V16(repeating: xs[c + 16]), s1)
                s2 = vmadd(b.lo, V16(repeating: xs[c + 1]), s2)
                s3 = vmadd(b.hi, V16(repeating: xs[c + 17]), s3)
                c += 2
            }
            let s = (s0 + s1) + (s2 + s3)
            if t & 1 == 0 { acc0 = vmadd(vhalves(p), s, acc0) } else { acc1 = vmadd(vhalves(p), s, acc1) }
            p += q4_0Tile
        }
        vstore(acc0 + acc1, y + 16 * g)
    }
}

/// Q8_0, interleaved: y[16g + j] = Σ_k w[16g + j][k]·x[k]; per tile d·Σ x_k q_k.
package func gemvQ8_0(_ w: UnsafeRawPointer, groups: Int, tiles: Int, x: UnsafePointer<Float>,
                      y: UnsafeMutablePointer<Float>) {
    var p = w
    for g in 0..<groups {
        var acc0 = V16(), acc1 = V16()
        var t = 0
        while t < tiles {
            var o = 0
            while o < q8_0Tile {
                prefetch(p + prefetchAhead + o)
                o += 64
            }
            let xs = x + tileCols * t
            let q = p + 32
            var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
            var c = 0
            while c < 32 {
                s0 = vmadd(vint8(q + 16 * c), V16(repeating: xs[c]), s0)
                s1 = vmadd(vint8(q + 16 * (c + 1)), V16(repeating: xs[c + 1]), s1)
                s2 = vmadd(vint8(q + 16 * (c + 2)), V16(repeating: xs[c + 2]), s2)
                s3 = vmadd(vint8(q + 16 * (c + 3)), V16(repeating: xs[c + 3]), s3)
                c += 4
            }
            let s = (s0 + s1) + (s2 + s3)
            if t & 1 == 0 { acc0 = vmadd(vhalves(p), s, acc0) } else { acc1 = vmadd(vhalves(p), s, acc1) }
            p += q8_0Tile
            t += 1
        }
        vstore(acc0 + acc1, y + 16 * g)
    }
}

/// F32, interleaved ([cols][16] per group): y[16g + j] = Σ_k w[g][k][j]·x[k].
package func gemvF32(_ w: UnsafePointer<Float>, groups: Int, cols: Int, x: UnsafePointer<Float>,
                     y: UnsafeMutablePointer<Float>) {
    var p = w
    for g in 0..<groups {
        var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
        var k = 0
        while k + 4 <= cols {
            prefetch(UnsafeRawPointer(p) + prefetchAhead)
            prefetch(UnsafeRawPointer(p) + prefetchAhead + 64)
            prefetch(UnsafeRawPointer(p) + prefetchAhead + 128)
            prefetch(UnsafeRawPointer(p) + prefetchAhead + 192)
            s0 = vmadd(vload(p), V16(repeating: x[k]), s0)
            s1 = vmadd(vload(p + 16), V16(repeating: x[k + 1]), s1)
            s2 = vmadd(vload(p + 32), V16(repeating: x[k + 2]), s2)
            s3 = vmadd(vload(p + 48), V16(repeating: x[k + 3]), s3)
            p += 64
            k += 4
        }
        while k < cols {
            s0 = vmadd(vload(p), V16(repeating: x[k]), s0)
            p += 16
            k += 1
        }
        vstore((s0 + s1) + (s2 + s3), y + 16 * g)
    }
}

/// F16 / BF16, interleaved ([cols][16] 16-bit values per group): y[16g + j] = Σ_k w[g][k][j]·x[k].
package func gemvHalf(_ w: UnsafeRawPointer, groups: Int, cols: Int, bf16: Bool, x: UnsafePointer<Float>,
                      y: UnsafeMutablePointer<Float>) {
    var p = w
    for g in 0..<groups {
        var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
        var k = 0
        while k + 4 <= cols {
            prefetch(p + prefetchAhead)
            prefetch(p + prefetchAhead + 64)
            s0 = vmadd(vwiden(p, bf16: bf16), V16(repeating: x[k]), s0)
            s1 = vmadd(vwiden(p + 32, bf16: bf16), V16(repeating: x[k + 1]), s1)
            s2 = vmadd(vwiden(p + 64, bf16: bf16), V16(repeating: x[k + 2]), s2)
            s3 = vmadd(vwiden(p + 96, bf16: bf16), V16(repeating: x[k + 3]), s3)
            p += 128
            k += 4
        }
        while k < cols {
            s0 = vmadd(vwiden(p, bf16: bf16), V16(repeating: x[k]), s0)
            p += 32
            k += 1
        }
        vstore((s0 + s1) + (s2 + s3), y + 16 * g)
    }
}

// MARK: - Panel fill: dequantize tiles of one 16-row group into a k-major f32 panel

/// out[16k + j] = the f32 value of src's 16-bit element 16k + j, for k < count (F16 / BF16 groups).
package func fillHalf(_ src: UnsafeRawPointer, count: Int, bf16: Bool, out: UnsafeMutablePointer<Float>) {
    for k in 0..<count { vstore(vwiden(src + 32 * k, bf16: bf16), out + 16 * k) }
}


/// out[(32t + c)·16 + j] = row j's weight at column 32t + c, for `tiles` Q4_1 tiles from `src`.
/// Bit-identical to the reference (d·q rounded, then + m).
package func fillQ4_1(_ src: UnsafeRawPointer, tiles: Int, out: UnsafeMutablePointer<Float>) {
    let table = nibbleTable()
    var p = src
    var o = out
    for _ in 0..<tiles {
        let d = vhalves(p), m = vhalves(p + 32)
        let q = p + 64
        for c in 0..<16 {
            let n = vnibbles(q + 16 * c, table)
            vstore(d * n.lo + m, o + 16 * c)
            vstore(d * n.hi + m, o + 16 * (c + 16))
        }
        p += q4_1Tile
        o += 16 * tileCols
    }
}

/// As `fillQ4_1` for Q4_0 tiles (d·(q − 8)).
package func fillQ4_0(_ src: UnsafeRawPointer, tiles: Int, out: UnsafeMutablePointer<Float>) {
    let table = nibbleTableQ4_0()
    var p = src
    var o = out
    for _ in 0..<tiles {
        let d = vhalves(p)
        let q = p + 32
        for c in 0..<16 {
            let n = vnibbles(q + 16 * c, table, offset: -8)
            vstore(d * n.lo, o + 16 * c)
            vstore(d * n.hi, o + 16 * (c + 16))
        }
        p += q4_0Tile
        o += 16 * tileCols
    }
}

/// As `fillQ4_1` for Q8_0 tiles (d·q).
package func fillQ8_0(_ src: UnsafeRawPointer, tiles: Int, out: UnsafeMutablePointer<Float>) {
    var p = src
    var o = out
    for _ in 0..<tiles {
        let d = vhalves(p)
        let q = p + 32
        for c in 0..<32 {
            vstore(d * vint8(q + 16 * c), o + 16 * c)
        }
        p += q8_0Tile
        o += 16 * tileCols
    }
}

// MARK: - GEMM microkernels

/// Tokens per register tile of this level's microkernel.
#if LOOM_AVX512
package let gemmRowBlock = 8
#elseif LOOM_AVX2
package let gemmRowBlock = 6
#else
package let gemmRowBlock = 2
#endif

/// C[m × nc] (+)= A[m × kc] · B for one panel of up to 32 output columns.
///
/// A is row-major with leading dimension `lda` (tokens × inputs), processed `gemmRowBlock` rows at a time.
/// B is given as two k-major halves `b0` (columns 0..<16) and `b1` (columns 16..<32, nil when
/// nc ≤ 16), each 16 floats per k. C is row-major with leading dimension `ldc`; only its first `nc`
/// columns are written. When `accumulate` is false C is overwritten (plus `bias[0..<nc]` when given),
/// else the product is added to C. `next` names the weights of the panel the caller computes next;
/// they are prefetched into L2 a slice per row block.
package func gemmPanel(kc: Int, a: UnsafePointer<Float>, lda: Int, m: Int,
                       b0: UnsafePointer<Float>, b1: UnsafePointer<Float>?,
                       c: UnsafeMutablePointer<Float>, ldc: Int, nc: Int,
                       accumulate: Bool, bias: UnsafePointer<Float>?,
                       next: NextPanel = NextPanel()) {
    let R = gemmRowBlock
    let blocks = (m + R - 1) / R
    #if LOOM_AVX512
    // 8 tokens × 32 columns: 16 zmm accumulators, two B vectors, broadcast A.
    var i = 0, pa = a, blk = 0
    if let b1 {
        while i < m {
            next.prefetch(part: blk, of: blocks)
            kernel8x32(kc, pa, lda, min(R, m - i), b0, b1, c + i * ldc, ldc, nc, accumulate, bias)
            i += R
            pa += R * lda
            blk += 1
        }
    } else {
        while i < m {
            next.prefetch(part: blk, of: blocks)
            kernel8x16(kc, pa, lda, min(R, m - i), b0, c + i * ldc, ldc, nc, accumulate, bias)
            i += R
            pa += R * lda
            blk += 1
        }
    }
    #else
    // AVX2: 6 tokens × 16 columns (12 ymm accumulators); portable: 2 × 16. One pass per half.
    for half in 0..<2 {
        let b: UnsafePointer<Float>
        if half == 0 { b = b0 } else if let b1, nc > 16 { b = b1 } else { break }
        let n16 = min(16, nc - 16 * half)
        let bh = bias.map { $0 + 16 * half }
        var i = 0, pa = a, blk = 0
        while i < m {
            if half == 0 { next.prefetch(part: blk, of: blocks) }
            kernelRows16(kc, pa, lda, min(R, m - i), b, c + i * ldc + 16 * half, ldc, n16, accumulate, bh)
            i += R
            pa += R * lda
            blk += 1
        }
    }
    #endif
}

/// The weights the next `gemmPanel` call will read (up to two regions of `bytes` bytes), fetched into
/// L2 a slice at a time while this panel computes, so that the next panel does not start on misses.
package struct NextPanel {
    package var first: UnsafeRawPointer?
    package var second: UnsafeRawPointer?
    package var bytes: Int

    package init(first: UnsafeRawPointer? = nil, second: UnsafeRawPointer? = nil, bytes: Int = 0) {
        self.first = first
        self.second = second
        self.bytes = bytes
    }

    @inline(__always)
    func prefetch(part: Int, of parts: Int) {
        guard bytes > 0 else { return }
        let lines = (bytes + 63) / 64
        let lo = lines * part / parts, hi = lines * (part + 1) / parts
        guard lo < hi else { return }
        if let first {
            for l in lo..<hi { loomi_prefetch_t1(first + 64 * l) }
        }
        if let second {
            for l in lo..<hi { loomi_prefetch_t1(second + 64 * l) }
        }
    }
}

/// Prefetches rows 0..<mr, columns 0..<cols of a C tile into L2 (not L1: rows 4 KB apart would
/// share one L1 set).
@inline(__always)
func prefetchTile(_ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mr: Int, _ cols: Int) {
    for i in 0..<mr {
        var j = 0
        while j < cols {
            loomi_prefetch_t1(UnsafeRawPointer(c + i * ldc + j))
            j += 16
        }
        loomi_prefetch_t1(UnsafeRawPointer(c + i * ldc + cols - 1))
    }
}

/// Writes (or adds) one row of a tile: columns 0..<nc of v.
@inline(__always)
func storeRow16(_ p: UnsafeMutablePointer<Float>, _ v: V16, _ nc: Int, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
    var v = v
    if nc >= 16 {
        if accumulate {
            v += vload(p)
        } else if let bias {
            v += vload(bias)
        }
        vstore(v, p)
    } else {
        for j in 0..<nc {
            var e = v[j]
            if accumulate { e += p[j] } else if let bias { e += bias[j] }
            p[j] = e
        }
    }
}

@inline(__always)
func storeRow32(_ p: UnsafeMutablePointer<Float>, _ v0: V16, _ v1: V16, _ nc: Int, _ accumulate: Bool,
                _ bias: UnsafePointer<Float>?) {
    storeRow16(p, v0, min(nc, 16), accumulate, bias)
    if nc > 16 { storeRow16(p + 16, v1, nc - 16, accumulate, bias.map { $0 + 16 }) }
}

#if LOOM_AVX512
/// 8 × 32 register tile; rows ≥ mr are computed but not stored.
@inline(__always)
func kernel8x32(_ kc: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ mr: Int, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ nc: Int, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
    let a0 = a
    let a1 = a + lda * min(1, mr - 1)
    let a2 = a + lda * min(2, mr - 1)
    let a3 = a + lda * min(3, mr - 1)
    let a4 = a + lda * min(4, mr - 1)
    let a5 = a + lda * min(5, mr - 1)
    let a6 = a + lda * min(6, mr - 1)
    let a7 = a + lda * min(7, mr - 1)
    var c00 = V16(), c01 = V16(), c10 = V16(), c11 = V16(), c20 = V16(), c21 = V16(), c30 = V16(), c31 = V16()
    var c40 = V16(), c41 = V16(), c50 = V16(), c51 = V16(), c60 = V16(), c61 = V16(), c70 = V16(), c71 = V16()
    // C is read back at the end; fetch it now so that the loads then do not stall (C often lives in L3).
    if accumulate { prefetchTile(c, ldc, mr, 32) }
    var pb0 = b0, pb1 = b1
    for k in 0..<kc {
        let x0 = vload(pb0), x1 = vload(pb1)
        var s = V16(repeating: a0[k])
        c00 = vmadd(s, x0, c00); c01 = vmadd(s, x1, c01)
        s = V16(repeating: a1[k])
        c10 = vmadd(s, x0, c10); c11 = vmadd(s, x1, c11)
        s = V16(repeating: a2[k])
        c20 = vmadd(s, x0, c20); c21 = vmadd(s, x1, c21)
        s = V16(repeating: a3[k])
        c30 = vmadd(s, x0, c30); c31 = vmadd(s, x1, c31)
        s = V16(repeating: a4[k])
        c40 = vmadd(s, x0, c40); c41 = vmadd(s, x1, c41)
        s = V16(repeating: a5[k])
        c50 = vmadd(s, x0, c50); c51 = vmadd(s, x1, c51)
        s = V16(repeating: a6[k])
        c60 = vmadd(s, x0, c60); c61 = vmadd(s, x1, c61)
        s = V16(repeating: a7[k])
        c70 = vmadd(s, x0, c70); c71 = vmadd(s, x1, c71)
        pb0 += 16
        pb1 += 16
    }
    storeRow32(c, c00, c01, nc, accumulate, bias)
    if mr > 1 { storeRow32(c + ldc, c10, c11, nc, accumulate, bias) }
    if mr > 2 { storeRow32(c + 2 * ldc, c20, c21, nc, accumulate, bias) }
    if mr > 3 { storeRow32(c + 3 * ldc, c30, c31, nc, accumulate, bias) }
    if mr > 4 { storeRow32(c + 4 * ldc, c40, c41, nc, accumulate, bias) }
    if mr > 5 { storeRow32(c + 5 * ldc, c50, c51, nc, accumulate, bias) }
    if mr > 6 { storeRow32(c + 6 * ldc, c60, c61, nc, accumulate, bias) }
    if mr > 7 { storeRow32(c + 7 * ldc, c70, c71, nc, accumulate, bias) }
}

/// 8 × 16 register tile (a panel of one 16-row group).
@inline(__always)
func kernel8x16(_ kc: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ mr: Int, _ b0: UnsafePointer<Float>,
                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ nc: Int, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
    let a0 = a
    let a1 = a + lda * min(1, mr - 1)
    let a2 = a + lda * min(2, mr - 1)
    let a3 = a + lda * min(3, mr - 1)
    let a4 = a + lda * min(4, mr - 1)
    let a5 = a + lda * min(5, mr - 1)
    let a6 = a + lda * min(6, mr - 1)
    let a7 = a + lda * min(7, mr - 1)
    var c0 = V16(), c1 = V16(), c2 = V16(), c3 = V16(), c4 = V16(), c5 = V16(), c6 = V16(), c7 = V16()
    if accumulate { prefetchTile(c, ldc, mr, 16) }
    var pb = b0
    for k in 0..<kc {
        let x = vload(pb)
        c0 = vmadd(V16(repeating: a0[k]), x, c0)
        c1 = vmadd(V16(repeating: a1[k]), x, c1)
        c2 = vmadd(V16(repeating: a2[k]), x, c2)
        c3 = vmadd(V16(repeating: a3[k]), x, c3)
        c4 = vmadd(V16(repeating: a4[k]), x, c4)
        c5 = vmadd(V16(repeating: a5[k]), x, c5)
        c6 = vmadd(V16(repeating: a6[k]), x, c6)
        c7 = vmadd(V16(repeating: a7[k]), x, c7)
        pb += 16
    }
    let n = min(nc, 16)
    storeRow16(c, c0, n, accumulate, bias)
    if mr > 1 { storeRow16(c + ldc, c1, n, accumulate, bias) }
    if mr > 2 { storeRow16(c + 2 * ldc, c2, n, accumulate, bias) }
    if mr > 3 { storeRow16(c + 3 * ldc, c3, n, accumulate, bias) }
    if mr > 4 { storeRow16(c + 4 * ldc, c4, n, accumulate, bias) }
    if mr > 5 { storeRow16(c + 5 * ldc, c5, n, accumulate, bias) }
    if mr > 6 { storeRow16(c + 6 * ldc, c6, n, accumulate, bias) }
    if mr > 7 { storeRow16(c + 7 * ldc, c7, n, accumulate, bias) }
}
#else
/// Up to 6 (AVX2) or 2 (portable) rows × 16 columns .
@inline(__always)
func kernelRows16(_ kc: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ mr: Int, _ b: UnsafePointer<Float>,
                  _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ nc: Int, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
    let a0 = a
    let a1 = a + lda * min(1, mr - 1)
    #if LOOM_AVX2
    let a2 = a + lda * min(2, mr - 1)
    let a3 = a + lda * min(3, mr - 1)
    let a4 = a + lda * min(4, mr - 1)
    let a5 = a + lda * min(5, mr - 1)
    #endif
    var c0 = V16(), c1 = V16()
    #if LOOM_AVX2
    var c2 = V16(), c3 = V16(), c4 = V16(), c5 = V16()
    #endif
    if accumulate { prefetchTile(c, ldc, mr, 16) }
    var pb = b
    for k in 0..<kc {
        let x = vload(pb)
        c0 = vmadd(V16(repeating: a0[k]), x, c0)
        c1 = vmadd(V16(repeating: a1[k]), x, c1)
        #if LOOM_AVX2
        c2 = vmadd(V16(repeating: a2[k]), x, c2)
        c3 = vmadd(V16(repeating: a3[k]), x, c3)
        c4 = vmadd(V16(repeating: a4[k]), x, c4)
        c5 = vmadd(V16(repeating: a5[k]), x, c5)
        #endif
        pb += 16
    }
    storeRow16(c, c0, nc, accumulate, bias)
    if mr > 1 { storeRow16(c + ldc, c1, nc, accumulate, bias) }
    #if LOOM_AVX2
    if mr > 2 { storeRow16(c + 2 * ldc, c2, nc, accumulate, bias) }
    if mr > 3 { storeRow16(c + 3 * ldc, c3, nc, accumulate, bias) }
    if mr > 4 { storeRow16(c + 4 * ldc, c4, nc, accumulate, bias) }
    if mr > 5 { storeRow16(c + 5 * ldc, c5, nc, accumulate, bias) }
    #endif
}
#endif

// MARK: - Element-wise kernels: exp, SiLU·up (SwiGLU), softmax, sum of squares

/// e^x for 16 lanes, within 2 ulp of the correctly rounded result (Cephes expf polynomial). Overflow
/// gives +inf; below the smallest normal the AVX2 and AVX-512 versions return 0 or a denormal (the
/// portable version calls expf); −inf gives 0; NaN stays NaN.
@inline(__always)
func vexp(_ x: V16) -> V16 {
    #if LOOM_AVX512 || LOOM_AVX2
    // n = round(x·log2 e) by the 1.5·2²³ trick; r = x − n·ln 2 in two parts; e^r by a degree-6
    // polynomial; then scale by 2ⁿ.
    #if LOOM_AVX512
    let xc = _mm512_min_ps(V16(repeating: 88.7228394), _mm512_max_ps(V16(repeating: -104), x))
    #else
    let xc = V16(lowHalf: _mm256_min_ps(SIMD8(repeating: 88.7228394), _mm256_max_ps(SIMD8(repeating: -87.3365448), x.lowHalf)),
                 highHalf: _mm256_min_ps(SIMD8(repeating: 88.7228394), _mm256_max_ps(SIMD8(repeating: -87.3365448), x.highHalf)))
    #endif
    let magic = V16(repeating: 12_582_912)
    let t = vmadd(xc, V16(repeating: 1.44269504088896341), magic)
    let n = t - magic
    var r = vmadd(n, V16(repeating: -0.693359375), xc)
    r = vmadd(n, V16(repeating: 2.12194440e-4), r)
    var p = V16(repeating: 1.9875691500e-4)
    p = vmadd(p, r, V16(repeating: 1.3981999507e-3))
    p = vmadd(p, r, V16(repeating: 8.3334519073e-3))
    p = vmadd(p, r, V16(repeating: 4.1665795894e-2))
    p = vmadd(p, r, V16(repeating: 1.6666665459e-1))
    p = vmadd(p, r, V16(repeating: 5.0000001201e-1))
    let y = vmadd(p, r * r, r + 1)
    #if LOOM_AVX512
    return _mm512_scalef_ps(y, n)
    #else
    // 2ⁿ as 2^⌊n/2⌋ · 2^(n−⌊n/2⌋) from exponent bits (n, in −126...128, is in the low bits of t), so
    // that e^x up to the largest float stays finite. Inputs below the clamp (e^x < 2⁻¹²⁶, and −inf)
    // give 0 through the sign of x − lo.
    func half(_ t: SIMD8<Float>, _ y: SIMD8<Float>, _ x: SIMD8<Float>) -> SIMD8<Float> {
        let n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B40_0000))
        let n1 = _mm256_srai_epi32(n, 1)
        let n2 = _mm256_sub_epi32(n, n1)
        let bias = _mm256_set1_epi32(127)
        let e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23))
        let e2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23))
        let v = (y * e1) * e2
        return _mm256_blendv_ps(v, SIMD8<Float>(), x - SIMD8(repeating: -87.3365448))
    }
    return V16(lowHalf: half(t.lowHalf, y.lowHalf, x.lowHalf), highHalf: half(t.highHalf, y.highHalf, x.highHalf))
    #endif
    #else
    var out = V16()
    for i in 0..<16 { out[i] = expf(x[i]) }
    return out
    #endif
}

/// gate[i] = silu(gate[i]) · up[i] with silu(x) = x / (1 + e^−x).
package func swigluKernel(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        let x = vload(gate + i)
        let s = x / (1 + vexp(-x))
        vstore(s * vload(up + i), gate + i)
        i += 16
    }
    while i < n {
        gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i]
        i += 1
    }
}

/// x[i] = e^(x[i] − m) for i < n; returns Σ of the results (f32 lanes, summed in f64).
package func expShiftSum(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ m: Float) -> Double {
    var acc = V16()
    let vm = V16(repeating: m)
    var i = 0
    while i + 16 <= n {
        let e = vexp(vload(x + i) - vm)
        vstore(e, x + i)
        acc += e
        i += 16
    }
    var sum = 0.0
    for j in 0..<16 { sum += Double(acc[j]) }
    while i < n {
        let e = expf(x[i] - m)
        x[i] = e
        sum += Double(e)
        i += 1
    }
    return sum
}

/// max(x[0..<n]) (−inf for n = 0; NaNs ignored unless all are NaN).
package func maxValue(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    var i = 0
    if n >= 16 {
        var v = V16(repeating: -.infinity)
        while i + 16 <= n {
            let a = vload(x + i)
            #if LOOM_AVX512
            v = _mm512_max_ps(a, v)
            #elseif LOOM_AVX2
            v = V16(lowHalf: _mm256_max_ps(a.lowHalf, v.lowHalf), highHalf: _mm256_max_ps(a.highHalf, v.highHalf))
            #else
            v = v.replacing(with: a, where: a .> v)
            #endif
            i += 16
        }
        for j in 0..<16 where v[j] > m { m = v[j] }
    }
    while i < n {
        if x[i] > m { m = x[i] }
        i += 1
    }
    return m
}

/// Σ x[i]² accumulated in f64.
package func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var i = 0
    var total = 0.0
    #if LOOM_AVX512
    var a0 = SIMD8<Double>(), a1 = SIMD8<Double>()
    while i + 16 <= n {
        let d0 = _mm512_cvtps_pd(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        let d1 = _mm512_cvtps_pd(UnsafeRawPointer(x + i + 8).loadUnaligned(as: SIMD8<Float>.self))
        a0 = _mm512_fmadd_pd(d0, d0, a0)
        a1 = _mm512_fmadd_pd(d1, d1, a1)
        i += 16
    }
    let a = a0 + a1
    for j in 0..<8 { total += a[j] }
    #elseif LOOM_AVX2
    var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
    while i + 8 <= n {
        let d0 = _mm256_cvtps_pd(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Float>.self))
        let d1 = _mm256_cvtps_pd(UnsafeRawPointer(x + i + 4).loadUnaligned(as: SIMD4<Float>.self))
        a0 = _mm256_fmadd_pd(d0, d0, a0)
        a1 = _mm256_fmadd_pd(d1, d1, a1)
        i += 8
    }
    let a = a0 + a1
    for j in 0..<4 { total += a[j] }
    #endif
    while i < n {
        total += Double(x[i]) * Double(x[i])
        i += 1
    }
    return total
}

/// Σ a[i]·b[i] (four independent accumulators).
package func dotF32(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
    var i = 0
    while i + 64 <= n {
        s0 = vmadd(vload(a + i), vload(b + i), s0)
        s1 = vmadd(vload(a + i + 16), vload(b + i + 16), s1)
        s2 = vmadd(vload(a + i + 32), vload(b + i + 32), s2)
        s3 = vmadd(vload(a + i + 48), vload(b + i + 48), s3)
        i += 64
    }
    while i + 16 <= n {
        s0 = vmadd(vload(a + i), vload(b + i), s0)
        i += 16
    }
    let v = (s0 + s1) + (s2 + s3)
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    let d = q.lowHalf + q.highHalf
    var sum = d[0] + d[1]
    while i < n {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}
