// Q6_K: 256 weights in 210 bytes: 16 sub-blocks of 16 weights, 6-bit codes, int8 scales.
//   offset size field
//   0      128  ql[128]     low 4 bits; per 128-weight half h (64 bytes from 64h), for l 0...31:
//                             weight 128h + l      : ql[64h + l]      & 0xF
//                             weight 128h + 32 + l : ql[64h + 32 + l] & 0xF
//                             weight 128h + 64 + l : ql[64h + l]      >> 4
//                             weight 128h + 96 + l : ql[64h + 32 + l] >> 4
//   128    64   qh[64]      high 2 bits: weight 128h + 32k + l (k 0...3) is (qh[32h + l] >> 2k) & 3
//   192    16   scales[16]  int8 scale of sub-block s (weights 16s..<16s+16)
//   208    2    d           f16 super-block scale
// q = (low4 | high2 << 4) - 32 in -32...31;  y = (d * scale) * q

func dequantizeQ6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 210
        let y = dst + b * 256
        let d = blockF16(x, 208)
        for h in 0..<2 {
            for k in 0..<4 {
                // Run of 32 weights 128h + 32k + l: low nibble of ql[64h + 32(k%2) + l], shifted by 4(k/2).
                let qlBase = 64 * h + 32 * (k % 2)
                let lowShift = UInt8(4 * (k / 2))
                let highShift = UInt8(2 * k)
                for l in 0..<32 {
                    let i = 128 * h + 32 * k + l
                    let low = (blockU8(x, qlBase + l) >> lowShift) & 0x0F
                    let high = (blockU8(x, 128 + 32 * h + l) >> highShift) & 3
                    let q = Int(low | (high << 4)) - 32
                    let dl = d * Float(blockI8(x, 192 + i / 16))
                    y[i] = dl * Float(q)
                }
            }
        }
    }
}

// Quantization: a port of ggml's quantize_row_q6_K_ref (no importance matrix), same f32 operations in
// the same order. Per super-block: each sub-block of 16 gets a signed scale from makeQXQuants (nmax 32,
// x^2-weighted search over 19 candidate scales); the 16 scales are quantized to int8 against
// d = -max_scale / 128 (f16), and every weight re-quantized against its rounded scale d * sc:
// q = clamp(round(x / (d * sc)), -32, 31) + 32.

/// ggml's make_qx_quants with rmse_type 1 and no importance weights: codes L (0...2 nmax - 1, i.e.
/// l + nmax for l in -nmax...nmax - 1) for x ~ scale * l; returns the scale.
func makeQXQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    var m: Float = 0, amax: Float = 0
    for i in 0..<n where abs(x[i]) > amax {
        amax = abs(x[i])
        m = x[i]
    }
    if amax < 1e-15 {  // GROUP_MAX_EPS: all zero
        for i in 0..<n { L[i] = 0 }
        return 0
    }
    let fmax = Float(nmax)
    var iscale = -fmax / m
    var sumLX: Float = 0, sumL2: Float = 0
    for i in 0..<n {
        let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
        L[i] = Int8(l + nmax)
        let w = x[i] * x[i]
        let fl = Float(l)
        sumLX += w * x[i] * fl
        sumL2 += w * fl * fl
    }
    var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
    var best = scale * sumLX
    for step in -9...9 where step != 0 {
        iscale = -(fmax + 0.1 * Float(step)) / m
        sumLX = 0
        sumL2 = 0
        for i in 0..<n {
            let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
            let w = x[i] * x[i]
            let fl = Float(l)
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
            for i in 0..<n {
                L[i] = Int8(nmax + max(-nmax, min(nmax - 1, nearestInt(iscale * x[i]))))
            }
            scale = sumLX / sumL2
            best = scale * sumLX
        }
    }
    return scale
}

func quantizeQ6_K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    let L = UnsafeMutablePointer<Int8>.allocate(capacity: 256)
    defer { L.deallocate() }
    var scales = [Float](repeating: 0, count: 16)
    for b in 0..<blocks {
        let x = src + b * 256
        let y = dst + b * 210
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for ib in 0..<16 {
            let s = makeQXQuants(16, 32, x + 16 * ib, L + 16 * ib)
            scales[ib] = s
            if abs(s) > maxAbsScale {
                maxAbsScale = abs(s)
                maxScale = s
            }
        }
        if maxAbsScale < 1e-15 {
            for i in 0..<210 { storeU8(y, i, 0) }
            continue
        }
        let iscale = -128 / maxScale
        let dHalf = halfBits(1 / iscale)
        storeU16(y, 208, dHalf)
        var sc = [Int8](repeating: 0, count: 16)
        for ib in 0..<16 {
            sc[ib] = Int8(truncatingIfNeeded: min(127, nearestInt(iscale * scales[ib])))
            storeU8(y, 192 + ib, UInt8(bitPattern: sc[ib]))
        }
        for j in 0..<16 {
            let d = halfValue(dHalf) * Float(sc[j])
            if d == 0 { continue }
            for i in 0..<16 {
                L[16 * j + i] = Int8(max(-32, min(31, nearestInt(x[16 * j + i] / d))) + 32)
            }
        }
        for h in 0..<2 {
            let j = 128 * h
            for l in 0..<32 {
                let q1 = UInt8(bitPattern: L[j + l]), q2 = UInt8(bitPattern: L[j + l + 32])
                let q3 = UInt8(bitPattern: L[j + l + 64]), q4 = UInt8(bitPattern: L[j + l + 96])
                storeU8(y, 64 * h + l, (q1 & 0x0F) | ((q3 & 0x0F) << 4))
                storeU8(y, 64 * h + 32 + l, (q2 & 0x0F) | ((q4 & 0x0F) << 4))
                storeU8(y, 128 + 32 * h + l, (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6))
            }
        }
    }
}
