import LoomCore

/// A weight matrix of `rows` output features × `cols` input features, row-major with each row's
/// `cols` weights contiguous in the tensor's own block format (GGUF `dims = [cols, rows]`, HF
/// Linear `weight[rows, cols]`). The memory belongs to a mapped file that outlives the matrix.
public struct WeightMatrix: @unchecked Sendable {
    public let type: TensorType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int

    public init(type: TensorType, rows: Int, cols: Int, data: UnsafeRawPointer) throws {
        guard Self.supported.contains(type) else {
            throw LoomError.unsupported("weights of type \(type.name) are not supported")
        }
        guard cols % type.blockSize == 0, let rb = type.byteCount(elements: cols) else {
            throw LoomError.format("a row of \(cols) weights is not a whole number of \(type.name) blocks")
        }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.rowBytes = rb
    }

    /// Types the matmul and embedding kernels read.
    public static let supported: Set<TensorType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    @inlinable
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// Writes row `r` as f32 into `out` (`cols` values).
    @inlinable
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        if type == .f32 {
            out.update(from: row(r).assumingMemoryBound(to: Float.self), count: cols)
        } else {
            // Types are checked at init, so this cannot fail.
            try? dequantize(type, row(r), out, count: cols)
        }
    }
}

/// y[n × rows] = x[n × cols] · Wᵀ (+ bias), activations in f32.
///
/// Threads split the output features; each dequantizes a weight row once and applies it to all `n`
/// inputs, so every weight byte is read once per call. This is the straightforward kernel; faster
/// blocked ones are checked against it.
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
                   bias: UnsafePointer<Float>? = nil, pool: ThreadPool) {
    let m = w.rows, k = w.cols
    pool.parallelFor(m) { rows in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k)
        defer { scratch.deallocate() }
        for r in rows {
            let wr: UnsafePointer<Float>
            if w.type == .f32 {
                wr = w.row(r).assumingMemoryBound(to: Float.self)
            } else {
                w.dequantizeRow(r, into: scratch)
                wr = UnsafePointer(scratch)
            }
            let b = bias?[r] ?? 0
            for i in 0..<n {
                y[i * m + r] = dot(wr, x + i * k, k) + b
            }
        }
    }
}
