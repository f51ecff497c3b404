import CLoomSupport
import LoomCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Reduced-precision weight matmuls for encoders (C kernels in CLoomSupport/loom_lowp.c): weights are
// packed once into bf16 or f16 panels, activations are converted per call, results are f32.

/// The arithmetic of an encoder's weight matmuls. Norms, softmax, GELU, attention and pooling stay f32.
public enum MatmulPrecision: String, Sendable, CaseIterable {
    /// f32 weights and activations (exact; the default).
    case f32
    /// bf16 weights and activations, f32 accumulation: AMX, else AVX512-BF16, else the f32 path.
    case bf16
    /// f16 weights and activations (scaled by powers of two), products summed in f16 in runs of 64
    /// per lane, then in f32: AVX512-FP16, else the f32 path.
    case f16
}

/// The kernel that runs a reduced-precision matmul.
public enum LowPrecisionKernel: String, Sendable, CaseIterable {
    case amx, avx512bf16, avx512fp16, f32

    /// Whether this CPU (and OS) can run it. Asking about `.amx` requests the tile permission.
    public var isAvailable: Bool {
        switch self {
        case .amx: return loomi_lowp_amx_ready() != 0
        case .avx512bf16: return loomi_lowp_have_avx512bf16() != 0
        case .avx512fp16: return loomi_lowp_have_avx512fp16() != 0
        case .f32: return true
        }
    }

    /// The fastest available kernel of `precision` (`.f32` when the CPU has none).
    public static func best(for precision: MatmulPrecision) -> LowPrecisionKernel {
        switch precision {
        case .f32: return .f32
        case .bf16: return bestBF16
        case .f16: return bestF16
        }
    }

    private static let bestBF16: LowPrecisionKernel =
        LowPrecisionKernel.amx.isAvailable ? .amx : LowPrecisionKernel.avx512bf16.isAvailable ? .avx512bf16 : .f32
    private static let bestF16: LowPrecisionKernel = LowPrecisionKernel.avx512fp16.isAvailable ? .avx512fp16 : .f32

    /// The packed format the kernel reads (nil: plain f32 weights).
    public var format: MatmulPrecision? {
        switch self {
        case .amx, .avx512bf16: return .bf16
        case .avx512fp16: return .f16
        case .f32: return nil
        }
    }
}

/// A weight matrix packed for the reduced-precision kernels. Layout (loom_lowp.h): panels of 16
/// output features × kp columns (kp = cols rounded up to 32), column pairs interleaved.
public final class LowPrecisionWeights: @unchecked Sendable {
    /// `.bf16` or `.f16`.
    public let format: MatmulPrecision
    public let rows: Int
    public let cols: Int
    let paddedCols: Int
    let data: UnsafeMutablePointer<UInt16>   // [panels][kp / 2][16][2]
    /// f16: the factor that undoes the power-of-two scale the weights were packed with.
    let multiplier: Float

    /// Packs `w` (any supported type, dequantized exactly, then rounded to nearest even).
    public init(_ w: WeightMatrix, format: MatmulPrecision) throws {
        guard format != .f32 else { throw LoomError.invalidArgument("f32 weights need no packing") }
        guard w.rows > 0, w.cols > 0, w.rows <= Int(Int32.max) / 2, w.cols <= Int(Int32.max) / 2 else {
            throw LoomError.invalidArgument("cannot pack a \(w.rows) x \(w.cols) matrix")
        }
        self.format = format
        rows = w.rows
        cols = w.cols
        paddedCols = Int(loomi_lowp_padded_k(Int32(w.cols)))
        let count = loomi_lowp_packed_count(Int32(w.rows), Int32(w.cols))
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, max(64, 2 * count)) == 0, let p else {
            throw LoomError(.outOfMemory, "cannot allocate \(2 * count) bytes for packed weights")
        }
        data = p.bindMemory(to: UInt16.self, capacity: count)
        // Dequantized in blocks of rows, so that a large matrix never needs a full f32 copy.
        let block = 64
        let f32 = UnsafeMutablePointer<Float>.allocate(capacity: block * w.cols)
        defer { f32.deallocate() }
        var scale: Float = 1
        if format == .f16 {
            // One power of two for the matrix: its largest magnitude lands in [1, 2).
            var maxAbs: Float = 0
            for r0 in stride(from: 0, to: w.rows, by: block) {
                let r1 = min(w.rows, r0 + block)
                for r in r0..<r1 { w.dequantizeRow(r, into: f32 + (r - r0) * w.cols) }
                for i in 0..<((r1 - r0) * w.cols) where f32[i].isFinite { maxAbs = max(maxAbs, abs(f32[i])) }
            }
            if maxAbs > 0 { scale = Float(sign: .plus, exponent: -maxAbs.exponent, significand: 1) }
        }
        multiplier = 1 / scale
        let kind = format == .bf16 ? Int32(LOOMI_LOWP_BF16) : Int32(LOOMI_LOWP_F16)
        // Packing zero-fills the whole buffer first: pack all rows in one call on a full f32 copy when
        // small, else panel by panel (16 rows at a time write disjoint panels).
        memset(data, 0, 2 * count)
        let panelValues = 16 * paddedCols
        for r0 in stride(from: 0, to: w.rows, by: 16) {
            let r1 = min(w.rows, r0 + 16)
            for r in r0..<r1 { w.dequantizeRow(r, into: f32 + (r - r0) * w.cols) }
            loomi_lowp_pack(f32, Int32(r1 - r0), Int32(w.cols), Int32(w.cols), kind, scale, data + (r0 / 16) * panelValues)
        }
    }

    deinit { free(data) }

    var panels: Int { (rows + 15) / 16 }
}

/// Per-thread scratch of the reduced-precision path: converted activations and their row factors.
final class LowPrecisionScratch {
    private(set) var activations: UnsafeMutablePointer<UInt16>?
    private var activationCap = 0
    private(set) var rowMult: UnsafeMutablePointer<Float>?
    private var rowCap = 0

    /// Room for `values` activations and `rows` row factors; false when memory is short.
    func reserve(values: Int, rows: Int) -> Bool {
        if values > activationCap || activations == nil {
            free(activations)
            activations = nil
            activationCap = 0
            let cap = max(values, 2 * activationCap, 32)
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, 64, 2 * cap) == 0, let p else { return false }
            activations = p.bindMemory(to: UInt16.self, capacity: cap)
            activationCap = cap
        }
        if rows > rowCap || rowMult == nil {
            free(rowMult)
            rowMult = nil
            rowCap = 0
            let cap = max(rows, 2 * rowCap, 32)
            guard let p = malloc(4 * cap) else { return false }
            rowMult = p.bindMemory(to: Float.self, capacity: cap)
            rowCap = cap
        }
        return true
    }

    deinit {
        free(activations)
        free(rowMult)
    }

    static func current() -> LowPrecisionScratch {
        if let p = pthread_getspecific(lowpScratchKey) {
            return Unmanaged<LowPrecisionScratch>.fromOpaque(p).takeUnretainedValue()
        }
        let s = LowPrecisionScratch()
        pthread_setspecific(lowpScratchKey, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

private let lowpScratchKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { p in
        if let p { Unmanaged<LowPrecisionScratch>.fromOpaque(p).release() }
    }
    return key
}()

/// y[n × rows] = x[n × cols] · Wᵀ (+ bias) with `packed` (a packing of `w`) on `kernel`
/// (default: the best for the packed format). Falls back to the f32 `matmul` of `w` when `packed` is
/// nil, the kernel is `.f32` or unavailable, or the kernel does not read `packed`'s format.
public func matmul(_ w: WeightMatrix, packed: LowPrecisionWeights?, _ x: UnsafePointer<Float>,
                   _ y: UnsafeMutablePointer<Float>, n: Int, bias: UnsafePointer<Float>? = nil, pool: ThreadPool,
                   kernel: LowPrecisionKernel? = nil) {
    matmul([LowPrecisionProduct(w, packed: packed, y, bias: bias)], x, n: n, pool: pool, kernel: kernel)
}

/// One product of `matmul(_:_:n:pool:kernel:)`: y[n × w.rows] = x · Wᵀ (+ bias).
public struct LowPrecisionProduct {
    public var w: WeightMatrix
    public var packed: LowPrecisionWeights?
    public var y: UnsafeMutablePointer<Float>
    public var bias: UnsafePointer<Float>?

    public init(_ w: WeightMatrix, packed: LowPrecisionWeights?, _ y: UnsafeMutablePointer<Float>,
                bias: UnsafePointer<Float>?) {
        self.w = w
        self.packed = packed
        self.y = y
        self.bias = bias
    }
}

/// Several products of the same input (attention's Q, K, V): on a reduced-precision kernel the input
/// is converted once and all products run in one parallel region. Products whose packing is missing
/// or of another format, or whose shapes disagree, run in f32 (as the one-product `matmul`).
public func matmul(_ products: [LowPrecisionProduct], _ x: UnsafePointer<Float>, n: Int, pool: ThreadPool,
                   kernel: LowPrecisionKernel? = nil) {
    guard n > 0, !products.isEmpty else { return }
    var fast: [(LowPrecisionWeights, UnsafeMutablePointer<Float>, UnsafePointer<Float>?)] = []
    var fastIndices: [Int] = [], slow: [Int] = []
    let cols = products[0].w.cols
    for (i, p) in products.enumerated() {
        if let packed = p.packed, packed.rows == p.w.rows, packed.cols == p.w.cols, packed.cols == cols,
           packed.format == (fast.first?.0.format ?? packed.format) {
            let k = kernel ?? LowPrecisionKernel.best(for: packed.format)
            if k != .f32, k.format == packed.format, k.isAvailable, n <= Int(Int32.max) / 2 {
                fast.append((packed, p.y, p.bias))
                fastIndices.append(i)
                continue
            }
        }
        slow.append(i)
    }
    if let first = fast.first {
        let k = kernel ?? LowPrecisionKernel.best(for: first.0.format)
        if !matmulLowPrecision(fast, x, n: n, pool: pool, kernel: k) { slow += fastIndices }
    }
    for i in slow { matmul(products[i].w, x, products[i].y, n: n, bias: products[i].bias, pool: pool) }
}

/// False (nothing written) when scratch memory could not be had.
func matmulLowPrecision(_ products: [(LowPrecisionWeights, UnsafeMutablePointer<Float>, UnsafePointer<Float>?)],
                        _ x: UnsafePointer<Float>, n: Int, pool: ThreadPool, kernel: LowPrecisionKernel) -> Bool {
    guard let first = products.first?.0 else { return true }
    let K = first.cols, kp = first.paddedCols, format = first.format
    let rows = Int(loomi_lowp_rows(Int32(n)))
    let s = LowPrecisionScratch.current()
    guard s.reserve(values: rows * kp, rows: rows), let a = s.activations, let mult = s.rowMult else {
        return false
    }
    let work = products.reduce(0) { $0 + n * $1.0.rows * K }
    let threads = work < parallelMinWork ? 1 : pool.activeThreads
    // Activations: converted by row ranges in parallel; AMX reads whole 32-row blocks, so the rows
    // after n are zero.
    let convert = { (r: Range<Int>) in
        guard !r.isEmpty else { return }
        if format == .bf16 {
            loomi_lowp_convert_bf16(x + r.lowerBound * K, Int32(r.count), Int32(K), Int32(K), a + r.lowerBound * kp)
        } else {
            loomi_lowp_convert_f16(x + r.lowerBound * K, Int32(r.count), Int32(K), Int32(K), a + r.lowerBound * kp,
                                   mult + r.lowerBound)
        }
    }
    if threads > 1 && n >= 64 { pool.parallelFor(n, convert) } else { convert(0..<n) }
    if rows > n { (a + n * kp).update(repeating: 0, count: (rows - n) * kp) }

    // Panel pairs of all products in one list; threads take contiguous runs of it (each keeps its
    // weights in its own L2).
    var starts: [Int] = [0]
    for p in products { starts.append(starts[starts.count - 1] + (p.0.panels + 1) / 2) }
    let total = starts[starts.count - 1]
    let used = min(threads, total)
    let am = UnsafePointer(a), rm = UnsafePointer(mult)
    runParallel(pool, used) { t in
        let lo = total * t / used, hi = total * (t + 1) / used
        for (i, (w, y, bias)) in products.enumerated() {
            let q0 = max(lo, starts[i]) - starts[i], q1 = min(hi, starts[i + 1]) - starts[i]
            guard q1 > q0 else { continue }
            let p0 = Int32(2 * q0), p1 = Int32(min(w.panels, 2 * q1))
            let M = Int32(w.rows), b = UnsafePointer(w.data)
            switch kernel {
            case .amx:
                loomi_gemm_bf16_amx(am, Int32(n), Int32(kp), b, p0, p1, y, M, M, bias)
            case .avx512bf16:
                loomi_gemm_bf16_avx512(am, Int32(n), Int32(kp), b, p0, p1, y, M, M, bias)
            case .avx512fp16:
                loomi_gemm_f16_avx512(am, Int32(n), Int32(kp), rm, b, w.multiplier, p0, p1, y, M, M, bias)
            case .f32:
                break
            }
        }
    }
    return true
}

/// The naive reference of the reduced-precision kernels (llm.c style): weights and activations rounded
/// as `format` packs them (bf16, or f16 after the same power-of-two scales), products summed in f64.
/// With `format` `.f32` it is the plain f32-input reference.
public func matmulLowPrecisionReference(_ w: WeightMatrix, format: MatmulPrecision, _ x: UnsafePointer<Float>,
                                        _ y: UnsafeMutablePointer<Float>, n: Int, bias: UnsafePointer<Float>? = nil) {
    let M = w.rows, K = w.cols
    var wf = [Float](repeating: 0, count: M * K)
    wf.withUnsafeMutableBufferPointer { b in
        guard let base = b.baseAddress else { return }
        for r in 0..<M { w.dequantizeRow(r, into: base + r * K) }
    }
    func rounded(_ v: Float) -> Float {
        switch format {
        case .f32: return v
        case .bf16: return loomi_bf16_to_f32(loomi_f32_to_bf16(v))
        case .f16: return loomi_f16_to_f32(loomi_f32_to_f16(v))
        }
    }
    func pow2Scale(_ maxAbs: Float, top: Int) -> Float {
        maxAbs > 0 && maxAbs.isFinite ? Float(sign: .plus, exponent: top - maxAbs.exponent, significand: 1) : 1
    }
    let ws = format == .f16 ? pow2Scale(wf.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }, top: 0) : 1
    let wr = wf.map { rounded($0 * ws) }
    for i in 0..<n {
        var rowMax: Float = 0
        for c in 0..<K { rowMax = max(rowMax, abs(x[i * K + c])) }
        let xs = format == .f16 ? pow2Scale(rowMax, top: 3) : 1
        let xr = (0..<K).map { rounded(x[i * K + $0] * xs) }
        for r in 0..<M {
            var acc = 0.0
            for c in 0..<K { acc += Double(xr[c]) * Double(wr[r * K + c]) }
            y[i * M + r] = Float(acc / Double(xs) / Double(ws)) + (bias?[r] ?? 0)
        }
    }
}

/// Packed copies of a model's matrices, made on first use (once per format, under a lock) so that an
/// immutable model shared between threads can hand them out.
public final class LowPrecisionCache<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var values: [MatmulPrecision: Value] = [:]

    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The value for `format`, made by `make` the first time.
    public func value(_ format: MatmulPrecision, make: () throws -> Value) rethrows -> Value {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let v = values[format] { return v }
        let v = try make()
        values[format] = v
        return v
    }
}
