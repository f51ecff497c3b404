// Q5_0: 32 weights in 22 bytes, symmetric 5-bit.
//   offset size field
//   0      2    d       f16 scale
//   2      4    qh      u32 (little-endian, unaligned): bit i is the 5th bit (value 16) of weight i
//   6      16   qs[16]  low 4 bits: qs[j] & 0xF is weight j, qs[j] >> 4 is weight j + 16
// q = low4 | (bit << 4) in 0...31;  y = d * (q - 16)

func dequantizeQ5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 22
        let y = dst + b * 32
        let d = blockF16(x, 0)
        let qh = blockU32(x, 2)
        for j in 0..<16 {
            let byte = blockU8(x, 6 + j)
            let hi0 = Int((qh >> UInt32(j)) & 1) << 4
            let hi1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float((Int(byte & 0x0F) | hi0) - 16)
            y[j + 16] = d * Float((Int(byte >> 4) | hi1) - 16)
        }
    }
}

// Quantization (gguf-py Q5_0.quantize_blocks, ggml quantize_row_q5_0_ref):
//   m = the value of largest magnitude (the first one on ties);  d = m / -16;  id = d != 0 ? 1/d : 0;
//   q = min(31, trunc(x * id + 16.5));  low nibbles to qs, bit 4 of weight i to bit i of qh.
func quantizeQ5_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 32
        let y = dst + b * 22
        var amax: Float = 0, m: Float = 0
        for i in 0..<32 where amax < abs(x[i]) {
            amax = abs(x[i])
            m = x[i]
        }
        let d = m / -16
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(y, 0, halfBits(d))
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = truncatedCode(x[j] * id + 16.5, 31)
            let q1 = truncatedCode(x[j + 16] * id + 16.5, 31)
            storeU8(y, 6 + j, (q0 & 0x0F) | (q1 << 4))
            qh |= UInt32(q0 >> 4) << UInt32(j)
            qh |= UInt32(q1 >> 4) << UInt32(j + 16)
        }
        storeU32(y, 2, qh)
    }
}
