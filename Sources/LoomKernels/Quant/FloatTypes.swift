import LoomCore

// Plain element types: blockSize 1, no scales.
//   F32  : 4 bytes, IEEE binary32, little-endian. Copied bit for bit (NaN payloads kept).
//   F16  : 2 bytes, IEEE binary16: sign(1) exponent(5, bias 15) mantissa(10). Exact widening;
//          subnormals, ±0, ±inf and NaN (payload << 13) all map to the matching f32.
//   BF16 : 2 bytes, the top half of a binary32: sign(1) exponent(8) mantissa(7). f32 bits = b << 16.

func dequantizeF32(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        dst[i] = Float(bitPattern: blockU32(src, 4 * i))
    }
}

func dequantizeF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        dst[i] = halfToFloat(blockU16(src, 2 * i))
    }
}

func dequantizeBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        dst[i] = bf16ToFloat(blockU16(src, 2 * i))
    }
}
