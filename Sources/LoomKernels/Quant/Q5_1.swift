// Q5_1: 32 weights in 24 bytes, 5-bit with offset.
//   offset size field
//   0      2    d       f16 scale
//   2      2    m       f16 minimum (offset)
//   4      4    qh      u32 (little-endian, unaligned): bit i is the 5th bit (value 16) of weight i
//   8      16   qs[16]  low 4 bits: qs[j] & 0xF is weight j, qs[j] >> 4 is weight j + 16
// q = low4 | (bit << 4) in 0...31;  y = d * q + m

func dequantizeQ5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 24
        let y = dst + b * 32
        let d = blockF16(x, 0)
        let m = blockF16(x, 2)
        let qh = blockU32(x, 4)
        for j in 0..<16 {
            let byte = blockU8(x, 8 + j)
            let hi0 = UInt32((qh >> UInt32(j)) & 1) << 4
            let hi1 = UInt32((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(UInt32(byte & 0x0F) | hi0) + m
            y[j + 16] = d * Float(UInt32(byte >> 4) | hi1) + m
        }
    }
}

// Quantization (gguf-py Q5_1.quantize_blocks, ggml quantize_row_q5_1_ref):
//   d = (max - min) / 31;  id = d != 0 ? 1/d : 0;  q = min(31, trunc((x - min) * id + 0.5));
//   d and m = min stored as f16; low nibbles to qs, bit 4 of weight i to bit i of qh.
func quantizeQ5_1(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 32
        let y = dst + b * 24
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for i in 0..<32 {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
        }
        let d = (hi - lo) / 31
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(y, 0, halfBits(d))
        storeU16(y, 2, halfBits(lo))
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = truncatedCode((x[j] - lo) * id + 0.5, 31)
            let q1 = truncatedCode((x[j + 16] - lo) * id + 0.5, 31)
            storeU8(y, 8 + j, (q0 & 0x0F) | (q1 << 4))
            qh |= UInt32(q0 >> 4) << UInt32(j)
            qh |= UInt32(q1 >> 4) << UInt32(j + 16)
        }
        storeU32(y, 4, qh)
    }
}
