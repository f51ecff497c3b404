// Q4_1: 32 weights in 20 bytes, 4-bit with offset.
//   offset size field
//   0      2    d       f16 scale
//   2      2    m       f16 minimum (offset)
//   4      16   qs[16]  4-bit codes q: qs[j] & 0xF is weight j, qs[j] >> 4 is weight j + 16
// y = d * q + m   (q in 0...15; product rounded, then the sum)

func dequantizeQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 20
        let y = dst + b * 32
        let d = blockF16(x, 0)
        let m = blockF16(x, 2)
        for j in 0..<16 {
            let byte = blockU8(x, 4 + j)
            y[j] = d * Float(byte & 0x0F) + m
            y[j + 16] = d * Float(byte >> 4) + m
        }
    }
}
