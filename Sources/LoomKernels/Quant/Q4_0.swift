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

// Quantization (gguf-py Q4_0.quantize_blocks, ggml quantize_row_q4_0_ref):
//   m = the value of largest magnitude (the first one on ties);  d = m / -8;  id = d != 0 ? 1/d : 0;
//   q = min(15, trunc(x * id + 8.5));  d stored as f16.
func quantizeQ4_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 32
        let y = dst + b * 18
        var amax: Float = 0, m: Float = 0
        for i in 0..<32 where amax < abs(x[i]) {
            amax = abs(x[i])
            m = x[i]
        }
        let d = m / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(y, 0, halfBits(d))
        for j in 0..<16 {
            let q0 = truncatedCode(x[j] * id + 8.5, 15)
            let q1 = truncatedCode(x[j + 16] * id + 8.5, 15)
            storeU8(y, 2 + j, q0 | (q1 << 4))
        }
    }
}
