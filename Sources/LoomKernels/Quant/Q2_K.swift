// Q2_K: 256 weights in 84 bytes: 16 sub-blocks of 16 weights, 2-bit codes, 4-bit scale and min.
//   offset size field
//   0      16   scales[16]  sub-block s (weights 16s..<16s+16): low nibble = scale, high nibble = min
//   16     64   qs[64]      2-bit codes, two 128-weight halves h of 32 bytes; weight
//                           128h + 32k + l (k 0...3, l 0...31) is (qs[32h + l] >> 2k) & 3
//   80     2    d           f16 super-block scale for the scales
//   82     2    dmin        f16 super-block scale for the mins
// y = (d * scale) * q - (dmin * min)

func dequantizeQ2_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 84
        let y = dst + b * 256
        let d = blockF16(x, 80)
        let dmin = blockF16(x, 82)
        for h in 0..<2 {
            for k in 0..<4 {
                let shift = UInt8(2 * k)
                let base = 128 * h + 32 * k
                for half in 0..<2 {  // two sub-blocks of 16 per 32-weight run
                    let sc = blockU8(x, (base + 16 * half) / 16)
                    let dl = d * Float(sc & 0x0F)
                    let ml = dmin * Float(sc >> 4)
                    for l in (16 * half)..<(16 * half + 16) {
                        let q = (blockU8(x, 16 + 32 * h + l) >> shift) & 3
                        y[base + l] = dl * Float(q) - ml
                    }
                }
            }
        }
    }
}
