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
