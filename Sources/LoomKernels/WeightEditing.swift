import LoomCore

/// Writing rows of a weight matrix, for edits of a loaded model (LoRA merge). Only matrices in memory
/// they own, of a float type, are written in place; every other matrix is first copied.
extension WeightMatrix {
    /// Whether `storeRow` may write this matrix: f32, f16 or bf16 in memory the matrix owns (never a
    /// read-only file mapping).
    public var isWritable: Bool {
        storage != nil && (type == .f32 || type == .f16 || type == .bf16)
    }

    /// A writable matrix with the same values: a copy of the bytes for f32 / f16 / bf16, and the
    /// dequantized f32 values for any quantized type (exact; nothing is requantized).
    public func writableCopy() throws -> WeightMatrix {
        let floatType = type == .f32 || type == .f16 || type == .bf16
        let newType: TensorType = floatType ? type : .f32
        guard let newRowBytes = newType.byteCount(elements: cols) else {
            throw LoomError(.internal, "no row size for \(newType.name)")
        }
        let storage = try WeightStorage(byteCount: rows * newRowBytes)
        if floatType {
            storage.base.copyMemory(from: data, byteCount: rows * rowBytes)
            return WeightMatrix(type: type, rows: rows, cols: cols, rowBytes: rowBytes, layout: layout, storage: storage)
        }
        let out = storage.base.assumingMemoryBound(to: Float.self)
        for r in 0..<rows { dequantizeRow(r, into: out + r * cols) }
        let plain = WeightMatrix(type: .f32, rows: rows, cols: cols, rowBytes: newRowBytes, layout: .rows, storage: storage)
        return try plain.prepared()
    }

    /// Stores `values` (`cols` floats) as row `r`, rounded to nearest even for f16 / bf16. The matrix
    /// must be writable (`isWritable`) and `r < rows`; otherwise nothing is written.
    public func storeRow(_ r: Int, from values: UnsafePointer<Float>) {
        guard isWritable, r >= 0, r < rows else { return }
        let base = UnsafeMutableRawPointer(mutating: data)
        // Interleaved groups hold element (row 16g + j, column k) at 16g·cols + 16k + j.
        let interleaved = layout == .interleaved16 && r < rows / 16 * 16
        let start = interleaved ? (r / 16) * 16 * cols + r % 16 : r * cols
        let stride = interleaved ? 16 : 1
        switch type {
        case .f32:
            let p = base.assumingMemoryBound(to: Float.self)
            for k in 0..<cols { p[start + stride * k] = values[k] }
        case .f16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for k in 0..<cols { p[start + stride * k] = floatToHalf(values[k]) }
        case .bf16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for k in 0..<cols { p[start + stride * k] = floatToBF16(values[k]) }
        default:
            break
        }
    }
}
