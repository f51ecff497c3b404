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

// Quantization (gguf-py Q4_1.quantize_blocks, ggml quantize_row_q4_1_ref):
//   d = (max - min) / 15;  id = d != 0 ? 1/d : 0;  q = min(15, trunc((x - min) * id + 0.5));
//   d and m = min stored as f16.
func quantizeQ4_1(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 32
        let y = dst + b * 20
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for i in 0..<32 {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
        }
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(y, 0, halfBits(d))
        storeU16(y, 2, halfBits(lo))
        for j in 0..<16 {
            let q0 = truncatedCode((x[j] - lo) * id + 0.5, 15)
            let q1 = truncatedCode((x[j + 16] - lo) * id + 0.5, 15)
            storeU8(y, 4 + j, q0 | (q1 << 4))
        }
    }
}
