// Q5_K: 256 weights in 176 bytes: 8 sub-blocks of 32 weights, 5-bit codes, 6-bit scale and min.
//   offset size field
//   0      2    d           f16 super-block scale for the scales
//   2      2    dmin        f16 super-block scale for the mins
//   4      12   scales[12]  packed 6-bit scales and mins, exactly as Q4_K (kScaleMin)
//   16     32   qh[32]      5th bit (value 16): weight 32j + l uses bit j of qh[l]
//   48     128  qs[128]     low 4 bits, as Q4_K: weight 64g + l is qs[32g + l] & 0xF,
//                           weight 64g + 32 + l is qs[32g + l] >> 4
// sub-block j = weight / 32;  q in 0...31;  y = (d * sc[j]) * q - (dmin * m[j])

func dequantizeQ5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 176
        let y = dst + b * 256
        let d = blockF16(x, 0)
        let dmin = blockF16(x, 2)
        for j in 0..<8 {
            let (sc, m) = kScaleMin(x + 4, j)
            let dl = d * Float(sc)
            let ml = dmin * Float(m)
            let g = j / 2, shift = UInt8(4 * (j % 2))
            for l in 0..<32 {
                let low = (blockU8(x, 48 + 32 * g + l) >> shift) & 0x0F
                let high = ((blockU8(x, 16 + l) >> UInt8(j)) & 1) << 4
                y[32 * j + l] = dl * Float(low | high) - ml
            }
        }
    }
}
