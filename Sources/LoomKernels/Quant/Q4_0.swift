// Q4_0: 32 weights in 18 bytes, symmetric 4-bit.
//   offset size field
//   0      2    d       f16 scale
//   2      16   qs[16]  4-bit codes q: qs[j] & 0xF is weight j, qs[j] >> 4 is weight j + 16
// y = d * (q - 8)   (q in 0...15, so y in d * -8...7)

func dequantizeQ4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 18
        let y = dst + b * 32
        let d = blockF16(x, 0)
        for j in 0..<16 {
            let byte = blockU8(x, 2 + j)
            y[j] = d * Float(Int(byte & 0x0F) - 8)
            y[j + 16] = d * Float(Int(byte >> 4) - 8)
        }
    }
}
