// Q4_K: 256 weights in 144 bytes: 8 sub-blocks of 32 weights, 4-bit codes, 6-bit scale and min.
//   offset size field
//   0      2    d           f16 super-block scale for the scales
//   2      2    dmin        f16 super-block scale for the mins
//   4      12   scales[12]  eight 6-bit scales sc[j] and mins m[j], packed (see kScaleMin):
//                             j < 4:  sc = b[j] & 63,  m = b[j+4] & 63
//                             j >= 4: sc = (b[j+4] & 0xF) | (b[j-4] >> 6) << 4
//                                     m  = (b[j+4] >> 4)  | (b[j]   >> 6) << 4
//   16     128  qs[128]     4-bit codes in four 32-byte groups g: weight 64g + l is qs[32g + l] & 0xF,
//                           weight 64g + 32 + l is qs[32g + l] >> 4 (l 0...31)
// sub-block j = weight / 32;  y = (d * sc[j]) * q - (dmin * m[j])

/// The j-th (0...7) 6-bit scale and min of the 12-byte packed field at `p` (Q4_K and Q5_K).
@inline(__always)
func kScaleMin(_ p: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (blockU8(p, j) & 63, blockU8(p, j + 4) & 63)
    }
    let scale = (blockU8(p, j + 4) & 0x0F) | ((blockU8(p, j - 4) >> 6) << 4)
    let min = (blockU8(p, j + 4) >> 4) | ((blockU8(p, j) >> 6) << 4)
    return (scale, min)
}

func dequantizeQ4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 144
        let y = dst + b * 256
        let d = blockF16(x, 0)
        let dmin = blockF16(x, 2)
        for j in 0..<8 {
            let (sc, m) = kScaleMin(x + 4, j)
            let dl = d * Float(sc)
            let ml = dmin * Float(m)
            let g = j / 2, shift = UInt8(4 * (j % 2))
            for l in 0..<32 {
                let q = (blockU8(x, 16 + 32 * g + l) >> shift) & 0x0F
                y[32 * j + l] = dl * Float(q) - ml
            }
        }
    }
}

// Quantization: a port of ggml's quantize_row_q4_K_ref (no importance matrix), same f32 operations in
// the same order. Per super-block:
//   1. each sub-block j of 32 gets a scale s_j and a min m_j >= 0 from makeQKX2Quants (nmax 15), the
//      weighted least-squares search over 21 candidate scales, weights w = rms(sub-block) + |x|;
//   2. the eight scales and mins are themselves quantized to 6 bits against d = max s / 63 and
//      dmin = max m / 63 (both stored as f16);
//   3. every weight is re-quantized against its rounded (d * sc_j, dmin * m_j): q = round((x + dm) / dl).

/// ggml's make_qkx2_quants: codes L (0...nmax) for x with y ~ scale * L - theMin; returns (scale, theMin).
/// `weights`, `L` and `aux` hold n entries.
func makeQKX2Quants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                    _ L: UnsafeMutablePointer<UInt8>, _ aux: UnsafeMutablePointer<UInt8>,
                    rmin: Float, rdelta: Float, nstep: Int, useMAD: Bool) -> (scale: Float, theMin: Float) {
    var lo = x[0], hi = x[0]
    var sumW = weights[0]
    var sumX = sumW * x[0]
    for i in 1..<n {
        if x[i] < lo { lo = x[i] }
        if x[i] > hi { hi = x[i] }
        let w = weights[i]
        sumW += w
        sumX += w * x[i]
    }
    if lo > 0 { lo = 0 }
    if hi == lo {
        for i in 0..<n { L[i] = 0 }
        return (0, -lo)
    }
    let fmax = Float(nmax)
    var iscale = fmax / (hi - lo)
    var scale = 1 / iscale
    var bestError: Float = 0
    for i in 0..<n {
        let l = nearestInt(iscale * (x[i] - lo))
        L[i] = UInt8(max(0, min(nmax, l)))
        var diff = scale * Float(L[i]) + lo - x[i]
        diff = useMAD ? abs(diff) : diff * diff
        bestError += weights[i] * diff
    }
    if nstep < 1 { return (scale, -lo) }
    for step in 0...nstep {
        iscale = (rmin + rdelta * Float(step) + fmax) / (hi - lo)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for i in 0..<n {
            let l = max(0, min(nmax, nearestInt(iscale * (x[i] - lo))))
            aux[i] = UInt8(l)
            let w = weights[i]
            let fl = Float(l)
            sumL += w * fl
            sumL2 += w * fl * fl
            sumXL += w * fl * x[i]
        }
        let D = sumW * sumL2 - sumL * sumL
        if D > 0 {
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var curError: Float = 0
            for i in 0..<n {
                var diff = thisScale * Float(aux[i]) + thisMin - x[i]
                diff = useMAD ? abs(diff) : diff * diff
                curError += weights[i] * diff
            }
            if curError < bestError {
                for i in 0..<n { L[i] = aux[i] }
                bestError = curError
                scale = thisScale
                lo = thisMin
            }
        }
    }
    return (scale, -lo)
}

func quantizeQ4_K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    let L = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    let aux = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
    let weights = UnsafeMutablePointer<Float>.allocate(capacity: 32)
    let packed = UnsafeMutableRawPointer.allocate(byteCount: 12, alignment: 4)
    defer {
        L.deallocate()
        aux.deallocate()
        weights.deallocate()
        packed.deallocate()
    }
    var scales = [Float](repeating: 0, count: 8)
    var mins = [Float](repeating: 0, count: 8)
    for b in 0..<blocks {
        let x = src + b * 256
        let y = dst + b * 144
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<8 {
            let xj = x + 32 * j
            var sumX2: Float = 0
            for l in 0..<32 { sumX2 += xj[l] * xj[l] }
            let avX = (sumX2 / 32).squareRoot()
            for l in 0..<32 { weights[l] = avX + abs(xj[l]) }
            let (s, m) = makeQKX2Quants(32, 15, xj, weights, L + 32 * j, aux,
                                        rmin: -1, rdelta: 0.1, nstep: 20, useMAD: false)
            scales[j] = s
            mins[j] = m
            if s > maxScale { maxScale = s }
            if m > maxMin { maxMin = m }
        }
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        packed.initializeMemory(as: UInt8.self, repeating: 0, count: 12)
        let pk = packed.assumingMemoryBound(to: UInt8.self)
        for j in 0..<8 {
            let ls = min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
            let lm = min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
            if j < 4 {
                pk[j] = ls
                pk[j + 4] = lm
            } else {
                pk[j + 4] = (ls & 0x0F) | ((lm & 0x0F) << 4)
                pk[j - 4] |= (ls >> 4) << 6
                pk[j] |= (lm >> 4) << 6
            }
        }
        let dHalf = halfBits(maxScale / 63)
        let dminHalf = halfBits(maxMin / 63)
        storeU16(y, 0, dHalf)
        storeU16(y, 2, dminHalf)
        for i in 0..<12 { storeU8(y, 4 + i, pk[i]) }
        for j in 0..<8 {
            let (sc, m) = kScaleMin(packed, j)
            let d = halfValue(dHalf) * Float(sc)
            if d == 0 { continue }
            let dm = halfValue(dminHalf) * Float(m)
            for i in 0..<32 {
                L[32 * j + i] = UInt8(max(0, min(15, nearestInt((x[32 * j + i] + dm) / d))))
            }
        }
        for g in 0..<4 {
            for l in 0..<32 {
                storeU8(y, 16 + 32 * g + l, L[64 * g + l] | (L[64 * g + l + 32] << 4))
            }
        }
    }
}
