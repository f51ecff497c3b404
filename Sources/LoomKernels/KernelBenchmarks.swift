import LoomCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Kernel micro-benchmarks on random data (for `loom bench` and LoomKernelBench). Build in release.

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A small deterministic generator for benchmark and test data (xorshift64*).
public struct KernelRandom {
    var state: UInt64
    public init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    public mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    /// Uniform in [-1, 1).
    public mutating func float() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }
}

/// Random bytes of a `type` matrix with `rows` × `cols` weights, with finite, moderate scales
/// (quant codes uniformly random; f16 scales about 2⁻⁸…2⁻⁶, Q4_1/Q5_1 mins about −2⁻⁴).
public func randomWeightBytes(_ type: TensorType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
    let count = type.byteCount(elements: rows * cols)!
    var rng = KernelRandom(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        let p = raw.baseAddress!
        var i = 0
        while i + 8 <= count {
            p.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count { p.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self); i += 1 }
        func half(_ v: Float) -> UInt16 { Float16(v).bitPattern }
        func scale() -> UInt16 { half((1 + 3 * abs(rng.float())) / 256) }
        func minimum() -> UInt16 { half(-(1 + abs(rng.float())) / 16) }
        let blocks = rows * cols / type.blockSize
        let bb = type.blockBytes
        switch type {
        case .f32:
            let f = p.assumingMemoryBound(to: Float.self)
            for j in 0..<(rows * cols) { f[j] = rng.float() }
        case .f16:
            for j in 0..<(rows * cols) { p.storeBytes(of: half(rng.float()), toByteOffset: 2 * j, as: UInt16.self) }
        case .bf16:
            for j in 0..<(rows * cols) {
                p.storeBytes(of: UInt16(truncatingIfNeeded: rng.float().bitPattern >> 16), toByteOffset: 2 * j, as: UInt16.self)
            }
        case .q4_0, .q5_0, .q8_0:
            for b in 0..<blocks { p.storeBytes(of: scale(), toByteOffset: b * bb, as: UInt16.self) }
        case .q4_1, .q5_1:
            for b in 0..<blocks {
                p.storeBytes(of: scale(), toByteOffset: b * bb, as: UInt16.self)
                p.storeBytes(of: minimum(), toByteOffset: b * bb + 2, as: UInt16.self)
            }
        case .q4_K, .q5_K:
            for b in 0..<blocks {
                p.storeBytes(of: half(1.0 / 1024), toByteOffset: b * bb, as: UInt16.self)
                p.storeBytes(of: half(1.0 / 4096), toByteOffset: b * bb + 2, as: UInt16.self)
            }
        case .q6_K:
            for b in 0..<blocks { p.storeBytes(of: half(1.0 / 2048), toByteOffset: b * bb + 208, as: UInt16.self) }
        default:
            break
        }
    }
    return bytes
}

/// A matrix over its own copy of random bytes (kept alive by the returned storage).
func randomMatrix(_ type: TensorType, rows: Int, cols: Int, seed: UInt64, prepare: Bool) throws -> WeightMatrix {
    let bytes = randomWeightBytes(type, rows: rows, cols: cols, seed: seed)
    let storage = try WeightStorage(byteCount: bytes.count)
    bytes.withUnsafeBytes { storage.base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    let raw = try WeightMatrix(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(storage.base))
    let m = WeightMatrix(type: type, rows: rows, cols: cols, rowBytes: raw.rowBytes, layout: .rows, storage: storage)
    return prepare ? try m.prepared() : m
}

private func randomFloats(_ n: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
    var rng = KernelRandom(seed: seed)
    for i in 0..<n { p[i] = rng.float() }
    return p
}

/// Best wall time of `body` over `repeats` runs after one warm-up run, or of as many runs as fit in
/// about `budget` seconds (at least 3).
func bestTime(repeats: Int, budget: Double = 2.0, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    let start = monotonicSeconds()
    var runs = 0
    while runs < repeats || (runs < 3) {
        let t0 = monotonicSeconds()
        body()
        best = min(best, monotonicSeconds() - t0)
        runs += 1
        if monotonicSeconds() - start > budget && runs >= 3 { break }
    }
    return best
}

/// GFLOP/s of `matmul` on y[tokens × rows] = x[tokens × cols] · Wᵀ with W an F32 rows × cols matrix.
public func benchmarkSGEMM(tokens: Int, rows: Int, cols: Int, threads: Int, isa: ISALevel = CPUFeatures.selectedISA) -> Double {
    let pool = ThreadPool(threadCount: threads)
    guard let w = try? randomMatrix(.f32, rows: rows, cols: cols, seed: 1, prepare: true) else { return 0 }
    let x = randomFloats(tokens * cols, seed: 2)
    let y = UnsafeMutablePointer<Float>.allocate(capacity: tokens * rows)
    defer { x.deallocate(); y.deallocate() }
    let t = bestTime(repeats: 10) { matmul(w, x, y, n: tokens, pool: pool, isa: isa) }
    return 2 * Double(tokens) * Double(rows) * Double(cols) / t / 1e9
}

/// GFLOP/s of `matmul` on an F32 `size`³ problem (y[size × size] = x · Wᵀ, W prepared), best of several.
public func benchmarkSGEMM(size: Int, threads: Int, isa: ISALevel = CPUFeatures.selectedISA) -> Double {
    let pool = ThreadPool(threadCount: threads)
    guard let w = try? randomMatrix(.f32, rows: size, cols: size, seed: 1, prepare: true) else { return 0 }
    let x = randomFloats(size * size, seed: 2)
    let y = UnsafeMutablePointer<Float>.allocate(capacity: size * size)
    defer { x.deallocate(); y.deallocate() }
    let t = bestTime(repeats: 10) { matmul(w, x, y, n: size, pool: pool, isa: isa) }
    return 2 * Double(size) * Double(size) * Double(size) / t / 1e9
}

/// The weight matrices of SmolLM2-135M (30 layers of q, k, v, o, gate, up, down as `layerType`) and
/// the tied output matrix (`outputType`, 49152 × 576), all prepared.
public final class SmolLM2Shapes {
    public let layers: [WeightMatrix]
    public let output: WeightMatrix
    public static let hidden = 576, ffn = 1536, kv = 192, vocab = 49152, layerCount = 30

    public init(layerType: TensorType = .q4_1, outputType: TensorType = .q8_0, prepare: Bool = true) throws {
        let d = Self.hidden, f = Self.ffn, kv = Self.kv
        var ms: [WeightMatrix] = []
        var seed: UInt64 = 100
        for _ in 0..<Self.layerCount {
            for (r, c) in [(d, d), (kv, d), (kv, d), (d, d), (f, d), (f, d), (d, f)] {
                seed += 1
                ms.append(try randomMatrix(layerType, rows: r, cols: c, seed: seed, prepare: prepare))
            }
        }
        layers = ms
        output = try randomMatrix(outputType, rows: Self.vocab, cols: d, seed: 7, prepare: prepare)
    }

    /// Bytes of all weights.
    public var byteCount: Int { (layers + [output]).reduce(0) { $0 + $1.rows * $1.rowBytes } }

    /// Multiply-adds of one token through the layer matrices (without the output matrix).
    public var layerWeights: Int { layers.reduce(0) { $0 + $1.rows * $1.cols } }

    /// One pass of `n` tokens through every layer matrix, plus the output matrix for `outputTokens`.
    public func run(n: Int, outputTokens: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                    pool: ThreadPool, isa: ISALevel) {
        for m in layers { matmul(m, x, y, n: n, pool: pool, isa: isa) }
        if outputTokens > 0 { matmul(output, x, y, n: outputTokens, pool: pool, isa: isa) }
    }
}

/// Milliseconds per generated token for the SmolLM2-135M matrices (210 Q4_1 layer matrices + the
/// Q8_0 output, one token each: GEMV), best of several passes.
public func benchmarkSmolLM2GEMV(threads: Int, isa: ISALevel = CPUFeatures.selectedISA, shapes: SmolLM2Shapes? = nil) -> Double {
    guard let s = shapes ?? (try? SmolLM2Shapes()) else { return 0 }
    let pool = ThreadPool(threadCount: threads)
    let x = randomFloats(SmolLM2Shapes.ffn, seed: 3)
    let y = UnsafeMutablePointer<Float>.allocate(capacity: SmolLM2Shapes.vocab)
    defer { x.deallocate(); y.deallocate() }
    return 1000 * bestTime(repeats: 20) { s.run(n: 1, outputTokens: 1, x: x, y: y, pool: pool, isa: isa) }
}

/// Milliseconds for `tokens` prompt tokens through the 210 SmolLM2 layer matrices (GEMM; the output
/// matrix for the last token only, as in prompt processing), best of several passes.
public func benchmarkSmolLM2GEMM(tokens: Int = 512, threads: Int, isa: ISALevel = CPUFeatures.selectedISA,
                                 shapes: SmolLM2Shapes? = nil) -> Double {
    guard let s = shapes ?? (try? SmolLM2Shapes()) else { return 0 }
    let pool = ThreadPool(threadCount: threads)
    let x = randomFloats(tokens * SmolLM2Shapes.ffn, seed: 4)
    let y = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * SmolLM2Shapes.ffn, SmolLM2Shapes.vocab))
    defer { x.deallocate(); y.deallocate() }
    return 1000 * bestTime(repeats: 5, budget: 10) { s.run(n: tokens, outputTokens: 1, x: x, y: y, pool: pool, isa: isa) }
}

/// One measurement of `runKernelBenchmarks`.
public struct KernelBenchmarkResult: Sendable {
    /// "sgemm512", "sgemm1024", "smollm2_gemv", "smollm2_gemm512".
    public let name: String
    public let threads: Int
    /// GFLOP/s for sgemm; ms per token for GEMV; ms per 512-token pass for GEMM.
    public let value: Double
    public let unit: String
    /// A derived figure: GB/s of weights streamed (GEMV), tokens/s (GEMM), nil for sgemm.
    public let secondary: Double?
    public let secondaryUnit: String?
}

/// All kernel benchmarks at the given thread counts: F32 SGEMM 512³ and 1024³ (prepared weights),
/// the SmolLM2-135M GEMV pass (210 Q4_1 matrices + the Q8_0 output, one token) and the 512-token GEMM
/// pass (the 210 Q4_1 matrices, plus the output matrix for the last token). Random weights, release
/// builds only; takes about 30 s.
public func runKernelBenchmarks(threads: [Int] = [1, 2], isa: ISALevel = CPUFeatures.selectedISA) -> [KernelBenchmarkResult] {
    var out: [KernelBenchmarkResult] = []
    for size in [512, 1024] {
        for t in threads {
            out.append(KernelBenchmarkResult(name: "sgemm\(size)", threads: t, value: benchmarkSGEMM(size: size, threads: t, isa: isa),
                                             unit: "GFLOP/s", secondary: nil, secondaryUnit: nil))
        }
    }
    if let shapes = try? SmolLM2Shapes() {
        let mb = Double(shapes.byteCount) / 1e6
        for t in threads {
            let ms = benchmarkSmolLM2GEMV(threads: t, isa: isa, shapes: shapes)
            out.append(KernelBenchmarkResult(name: "smollm2_gemv", threads: t, value: ms, unit: "ms/token",
                                             secondary: mb / ms, secondaryUnit: "GB/s"))
        }
        for t in threads {
            let ms = benchmarkSmolLM2GEMM(tokens: 512, threads: t, isa: isa, shapes: shapes)
            out.append(KernelBenchmarkResult(name: "smollm2_gemm512", threads: t, value: ms, unit: "ms",
                                             secondary: 512 / (ms / 1000), secondaryUnit: "tokens/s"))
        }
    }
    return out
}

/// A printable report of all kernel benchmarks at the given thread counts.
public func kernelBenchmarkReport(threads: [Int] = [1, 2], isa: ISALevel = CPUFeatures.selectedISA) -> String {
    var lines: [String] = ["kernels: \(isa) (CPU: \(CPUFeatures.host))"]
    func fmt(_ v: Double, _ digits: Int = 1) -> String {
        var s = String(Int((v * pow(10, Double(digits))).rounded()))
        while s.count <= digits { s = "0" + s }
        if digits > 0 { s.insert(".", at: s.index(s.endIndex, offsetBy: -digits)) }
        return s
    }
    let layerGFLOP = 2 * 30 * Double(576 * 576 * 2 + 192 * 576 * 2 + 1536 * 576 * 3) * 512 / 1e9
    for r in runKernelBenchmarks(threads: threads, isa: isa) {
        let th = "\(r.threads) thread\(r.threads == 1 ? "" : "s")"
        switch r.name {
        case "smollm2_gemv":
            lines.append("SmolLM2 GEMV (210 Q4_1 + Q8_0 output), \(th): \(fmt(r.value, 2)) ms/token (\(fmt(r.secondary ?? 0)) GB/s)")
        case "smollm2_gemm512":
            lines.append("SmolLM2 GEMM 512 tokens (210 Q4_1 + last-token output), \(th): \(fmt(r.value)) ms (\(fmt(r.secondary ?? 0)) tok/s, \(fmt(layerGFLOP / (r.value / 1000))) GFLOP/s)")
        default:
            let size = r.name.dropFirst("sgemm".count)
            lines.append("sgemm \(size)³, \(th): \(fmt(r.value)) GFLOP/s")
        }
    }
    return lines.joined(separator: "\n")
}
