// Q3_K: 256 weights in 110 bytes: 16 sub-blocks of 16 weights, 3-bit codes, 6-bit signed scales.
//   offset size field
//   0      32   hmask[32]   high (third) bit: weight 32k + l (k 0...7, l 0...31) uses bit k of hmask[l]
//   32     64   qs[64]      low 2 bits, as in Q2_K: weight 128h + 32k + l is (qs[32h + l] >> 2k) & 3
//   96     12   scales[12]  sixteen 6-bit scales, packed:
//                             bytes 0...7 hold the low 4 bits: scale i < 8 in the low nibble of
//                             byte i, scale i >= 8 in the high nibble of byte i - 8;
//                             bytes 8...11 hold the high 2 bits: scale i in bits 2(i/4)+1...2(i/4)
//                             of byte 8 + i % 4
//   108    2    d           f16 super-block scale
// scales are stored biased by 32 (-32...31 after the bias). The hmask bit is inverted: a *clear* bit
// subtracts 4, so q = low2 - (bit ? 0 : 4) in -4...3;  y = (d * (scale - 32)) * q

func dequantizeQ3_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 110
        let y = dst + b * 256
        let d = blockF16(x, 108)
        for s in 0..<16 {
            let low = s < 8 ? blockU8(x, 96 + s) & 0x0F : blockU8(x, 96 + s - 8) >> 4
            let high = (blockU8(x, 104 + s % 4) >> UInt8(2 * (s / 4))) & 3
            let scale = Int(low | (high << 4)) - 32
            let dl = d * Float(scale)
            for i in (16 * s)..<(16 * s + 16) {
                let h = i / 128, k = (i % 128) / 32, l = i % 32
                let low2 = Int((blockU8(x, 32 + 32 * h + l) >> UInt8(2 * k)) & 3)
                let hbit = (blockU8(x, l) >> UInt8(i / 32)) & 1
                let q = low2 - (hbit != 0 ? 0 : 4)
                y[i] = dl * Float(q)
            }
        }
    }
}
