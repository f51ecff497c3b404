// Q8_0: 32 weights in 34 bytes, symmetric 8-bit.
//   offset size field
//   0      2    d       f16 scale
//   2      32   qs[32]  int8 codes, weight i is qs[i]
// y = d * q   (q in -128...127)

func dequantizeQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 34
        let y = dst + b * 32
        let d = blockF16(x, 0)
        for i in 0..<32 {
            y[i] = d * Float(blockI8(x, 2 + i))
        }
    }
}
