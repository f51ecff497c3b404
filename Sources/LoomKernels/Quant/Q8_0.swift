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

// Quantization (gguf-py Q8_0.quantize_blocks, ggml quantize_row_q8_0_ref):
//   d = max|x| / 127;  id = d != 0 ? 1/d : 0;  q = round-half-away(x * id) (0 when not finite);  d stored as f16.
func quantizeQ8_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let x = src + b * 32
        let y = dst + b * 34
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(x[i])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(y, 0, halfBits(d))
        for i in 0..<32 {
            let v = (x[i] * id).rounded(.toNearestOrAwayFromZero)
            // Non-finite codes (a subnormal d makes 1/d overflow) are 0, as in gguf-py and ggml on x86.
            let q: Int8 = !v.isFinite ? 0 : v >= 127 ? 127 : v <= -128 ? -128 : Int8(v)
            storeU8(y, 2 + i, UInt8(bitPattern: q))
        }
    }
}
