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
