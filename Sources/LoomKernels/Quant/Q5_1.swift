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
