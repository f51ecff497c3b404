import LoomCore

/// Reference quantization of `count` f32 values from `src` into GGUF blocks of `type` at `dst`.
///
/// `dst` must have room for `type.byteCount(elements: count)` bytes (any alignment). Each block type's
/// quantizer lives in the file of its dequantizer and follows its reference operation by operation, in
/// f32 without fused multiply-adds, so that on finite input:
///   - F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 give the bytes of gguf-py's `gguf.quants.quantize` (and of
///     ggml's `quantize_row_*_ref`, which gguf-py reproduces);
///   - Q4_K and Q6_K give the bytes of ggml's `quantize_row_q4_K_ref` / `quantize_row_q6_K_ref` (what
///     llama-quantize writes without an importance matrix).
/// Non-finite input never traps; what it gives is unspecified (codes are clamped, NaN codes become 0).
/// Checked by Tests/LoomKernelsTests/QuantizeTests.swift against Tests/Fixtures/quant/quantize-*.
///
/// - Throws: `LoomError.invalidArgument` if `count` is negative or not a multiple of `type.blockSize`;
///   `LoomError.unsupported` for types without a quantizer (`canQuantize`).
public func quantize(_ type: TensorType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) throws {
    guard count >= 0, count % type.blockSize == 0 else {
        throw LoomError.invalidArgument(
            "quantize: \(count) values is not a whole number of \(type.name) blocks of \(type.blockSize)")
    }
    let blocks = count / type.blockSize
    switch type {
    case .f32: dst.copyMemory(from: src, byteCount: 4 * count)
    case .f16: quantizeF16(src, dst, count: count)
    case .bf16: quantizeBF16(src, dst, count: count)
    case .q8_0: quantizeQ8_0(src, dst, blocks: blocks)
    case .q4_0: quantizeQ4_0(src, dst, blocks: blocks)
    case .q4_1: quantizeQ4_1(src, dst, blocks: blocks)
    case .q5_0: quantizeQ5_0(src, dst, blocks: blocks)
    case .q5_1: quantizeQ5_1(src, dst, blocks: blocks)
    case .q4_K: quantizeQ4_K(src, dst, blocks: blocks)
    case .q6_K: quantizeQ6_K(src, dst, blocks: blocks)
    default:
        throw LoomError.unsupported("quantize: \(type.name) is not implemented")
    }
}

/// Whether `quantize` supports `type`.
public func canQuantize(_ type: TensorType) -> Bool {
    switch type {
    case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K: return true
    default: return false
    }
}

// MARK: - Plain element types

/// f32 -> IEEE half, round to nearest even (numpy's astype(float16), ggml's GGML_FP32_TO_FP16).
func quantizeF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    for i in 0..<count { storeU16(dst, 2 * i, floatToHalf(src[i])) }
}

/// f32 -> bfloat16 as ggml_compute_fp32_to_bf16 (and gguf-py): NaN made quiet, else round to nearest even.
@inline(__always)
func floatToBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (UInt64(u) + UInt64(0x7FFF + ((u >> 16) & 1))) >> 16)
}

func quantizeBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    for i in 0..<count { storeU16(dst, 2 * i, floatToBF16(src[i])) }
}

// MARK: - Helpers shared by the block quantizers

@inline(__always)
func storeU8(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: UInt8) {
    p.storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
}

@inline(__always)
func storeU16(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: UInt16) {
    p.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self)
}

@inline(__always)
func storeU32(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: UInt32) {
    p.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self)
}

/// `min(hi, trunc(v))` for the values the legacy quantizers produce (0 <= v < 256), as gguf-py's
/// `trunc(...).astype(uint8).clip(0, hi)` and ggml's `MIN(hi, (int8_t)(v))` compute it. Infinities and NaN
/// (a subnormal scale makes 1/d overflow) give 0, as both do on x86; negatives give 0.
@inline(__always)
func truncatedCode(_ v: Float, _ hi: UInt8) -> UInt8 {
    guard v.isFinite, v >= 0 else { return 0 }
    return v >= Float(hi) ? hi : UInt8(v)
}

/// ggml's nearest_int: round to nearest, ties to even, by the 1.5 * 2^23 trick (exact for |v| <= 4194303).
/// The trick is applied to every value, so out-of-range values, infinities and NaN give what ggml gives.
@inline(__always)
func nearestInt(_ v: Float) -> Int {
    let f = v + 12_582_912
    return Int(Int32(bitPattern: f.bitPattern) & 0x007F_FFFF) - 0x0040_0000
}

/// f32 -> IEEE half bits, round to nearest even (LoomCore's floatToHalf, for the files that do not import it).
@inline(__always)
func halfBits(_ f: Float) -> UInt16 { floatToHalf(f) }

/// IEEE half bits -> f32 (exact).
@inline(__always)
func halfValue(_ h: UInt16) -> Float { halfToFloat(h) }
