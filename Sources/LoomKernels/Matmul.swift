import LoomCore

/// A weight matrix of `rows` output features × `cols` input features (GGUF `dims = [cols, rows]`,
/// HF Linear `weight[rows, cols]`).
///
/// Two byte layouts exist (see `WeightLayout`): the file's own row order, where the memory belongs to
/// a mapped file that outlives the matrix, and Loom's kernel layout made by `prepared()`, which owns
/// its memory (`storage`). Both hold exactly the same number of bytes.
public struct WeightMatrix: @unchecked Sendable {
    public let type: TensorType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// Bytes of one row in the tensor's block format.
    public let rowBytes: Int
    /// How the bytes at `data` are arranged.
    public let layout: WeightLayout
    /// Owner of `data` for prepared matrices (nil when the data lives in a mapped file).
    public let storage: WeightStorage?

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
        self.layout = .rows
        self.storage = nil
    }

    init(type: TensorType, rows: Int, cols: Int, rowBytes: Int, layout: WeightLayout, storage: WeightStorage) {
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = UnsafeRawPointer(storage.base)
        self.rowBytes = rowBytes
        self.layout = layout
        self.storage = storage
    }

    /// Types the matmul and embedding kernels read.
    public static let supported: Set<TensorType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// Row `r` in the file's block format. Valid for `.rows` layout, and in `.interleaved16` only for
    /// the rows after the last full group of 16 (`r >= rows / 16 * 16`); use `dequantizeRow` otherwise.
    @inlinable
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// Writes row `r` as f32 into `out` (`cols` values), bit-identical to the reference dequantization
    /// in either layout.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        if layout == .interleaved16 && r < rows / 16 * 16 {
            dequantizeInterleavedRow(r, into: out)
        } else if type == .f32 {
            out.update(from: row(r).assumingMemoryBound(to: Float.self), count: cols)
        } else {
            // Types are checked at init, so this cannot fail.
            try? dequantize(type, row(r), out, count: cols)
        }
    }
}

/// y[n × rows] = x[n × cols] · Wᵀ (+ bias), activations in f32.
///
/// `x` is n × cols row-major, `y` is n × rows row-major. Uses the fastest kernels this CPU supports
/// (`CPUFeatures.selectedISA`; `LOOM_ISA=scalar|avx2|avx512` lowers the level). Matrices made by
/// `prepared()` take the fast paths (Q4_0, Q4_1, Q8_0, F32, F16, BF16: streaming GEMV for few tokens, dequantize-panel
/// GEMM for several); other matrices take a generic path (rows dequantized into panels for the same
/// f32 microkernel). Results stay within f32 rounding of `matmulReference`: weights are dequantized
/// exactly and activations are never quantized.
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
                   bias: UnsafePointer<Float>? = nil, pool: ThreadPool) {
    matmul(w, x, y, n: n, bias: bias, pool: pool, isa: CPUFeatures.selectedISA)
}

/// `matmul` with an explicit kernel level (tests and benchmarks). `isa` must be supported by this
/// CPU (`CPUFeatures.host.supports(isa)`); an unsupported level is lowered to the best supported one.
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
                   bias: UnsafePointer<Float>? = nil, pool: ThreadPool, isa: ISALevel) {
    guard n > 0, w.rows > 0 else { return }
    guard w.cols > 0 else {
        for i in 0..<n { for r in 0..<w.rows { y[i * w.rows + r] = bias?[r] ?? 0 } }
        return
    }
    let level = CPUFeatures.host.supports(isa) ? isa : CPUFeatures.host.bestISA
    matmulFast(w, x, y, n: n, bias: bias, pool: pool, isa: level)
}

/// The straightforward kernel the fast ones are checked against: threads split the output features;
/// each dequantizes a weight row once (reference dequantization) and applies it to all `n` inputs.
public func matmulReference(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
                            bias: UnsafePointer<Float>? = nil, pool: ThreadPool) {
    let m = w.rows, k = w.cols
    pool.parallelFor(m) { rows in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k)
        defer { scratch.deallocate() }
        for r in rows {
            let wr: UnsafePointer<Float>
            if w.type == .f32 && w.layout == .rows {
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
