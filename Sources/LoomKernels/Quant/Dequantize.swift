import LoomCore

/// Reference dequantization of `count` elements of `type` from `src` (GGUF block layout) to f32.
///
/// `src` must hold `type.byteCount(elements: count)` bytes and may have any alignment; `dst`
/// receives `count` floats. This is the plain, obviously-correct version that faster kernels are
/// tested against: one file per block type, each opening with its byte layout. Arithmetic follows
/// ggml/gguf-py operation by operation (same products, same order), so results are bit-identical
/// to gguf-py's `gguf.quants.dequantize`. No byte pattern traps; NaN/inf scales give NaN/inf out.
///
/// - Throws: `LoomError.invalidArgument` if `count` is negative or not a multiple of
///   `type.blockSize`; `LoomError.unsupported` for types without a dequantizer.
public func dequantize(_ type: TensorType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) throws {
    guard count >= 0, count % type.blockSize == 0 else {
        throw LoomError.invalidArgument(
            "dequantize: \(count) elements is not a whole number of \(type.name) blocks of \(type.blockSize)")
    }
    let blocks = count / type.blockSize
    switch type {
    case .f32: dequantizeF32(src, dst, count: count)
    case .f16: dequantizeF16(src, dst, count: count)
    case .bf16: dequantizeBF16(src, dst, count: count)
    case .q4_0: dequantizeQ4_0(src, dst, blocks: blocks)
    case .q4_1: dequantizeQ4_1(src, dst, blocks: blocks)
    case .q5_0: dequantizeQ5_0(src, dst, blocks: blocks)
    case .q5_1: dequantizeQ5_1(src, dst, blocks: blocks)
    case .q8_0: dequantizeQ8_0(src, dst, blocks: blocks)
    case .q2_K: dequantizeQ2_K(src, dst, blocks: blocks)
    case .q3_K: dequantizeQ3_K(src, dst, blocks: blocks)
    case .q4_K: dequantizeQ4_K(src, dst, blocks: blocks)
    case .q5_K: dequantizeQ5_K(src, dst, blocks: blocks)
    case .q6_K: dequantizeQ6_K(src, dst, blocks: blocks)
    default:
        throw LoomError.unsupported("dequantize: \(type.name) is not implemented")
    }
}

/// Whether `dequantize` supports `type`.
public func canDequantize(_ type: TensorType) -> Bool {
    switch type {
    case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
        return true
    default:
        return false
    }
}

// MARK: - Byte access shared by the block decoders (all little-endian, any alignment)

@inline(__always)
func blockU8(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    p.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always)
func blockI8(_ p: UnsafeRawPointer, _ offset: Int) -> Int8 {
    p.load(fromByteOffset: offset, as: Int8.self)
}

@inline(__always)
func blockU16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
    UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inline(__always)
func blockU32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

/// An IEEE half at `offset`, widened to Float (exact).
@inline(__always)
func blockF16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(blockU16(p, offset))
}
