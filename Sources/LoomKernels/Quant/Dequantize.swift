import LoomCore

/// Reference dequantization of `count` elements of `type` from `src` (GGUF block layout) to f32.
/// `count` must be a multiple of `type.blockSize`; callers validate sizes first.
public func dequantize(_ type: TensorType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) throws {
    throw LoomError.unsupported("dequantize: \(type.name) is not implemented yet")
}
