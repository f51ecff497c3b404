import LoomCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The driver of the fast matmul: splits work over the pool's threads, prepares f32 weight panels and
// calls the per-ISA kernels (ISA/ISAKernels.swift through ISA/ISADispatch.swift).
//
//   n < gemmMinTokens: GEMV. Interleaved Q4_0/Q4_1/Q8_0/F32/F16/BF16 weights are streamed once per input by kernels
//     that keep 16 rows in vector lanes, with software prefetch (threads split the 16-row groups).
//     Other matrices: each row is dequantized once and dotted with the n inputs.
//   otherwise: GEMM. Loops: token blocks of ≤ mcTokens (their inputs stay in L2) › panels of 32
//     output features › column blocks of ≤ 1024 (KC) › the register-blocked microkernel over the
//     block's tokens (8×32 on AVX-512, 6×16 on AVX2), accumulating into C, which stays in cache. Each
//     panel's column block is dequantized once per token block into a k-major f32 panel in per-thread
//     scratch (interleaved F32 weights are used in place); the next weights are prefetched into L2
//     while the current panel computes. Threads split the panels (and the tokens too when there are
//     few panels).
//
// Per-thread scratch lives in thread-local storage (KernelScratch), so steady-state calls allocate
// nothing.

/// Fewest inputs for which `matmul` uses the GEMM path.
/// (Measured on SmolLM2 shapes: streaming the weights once per input wins up to 4 inputs.)
let gemmMinTokens = 5
/// Most columns of one f32 panel block (KC); the per-thread panel holds 32 × panelMaxK floats.
let panelMaxK = 1024

/// Per-thread scratch of the kernels, allocated on a thread's first use and kept until it exits, so
/// that steady-state calls allocate nothing.
final class KernelScratch {
    /// Two k-major halves of `panelMaxK × 16` floats (a 32-feature panel).
    let panel: UnsafeMutablePointer<Float>
    private var bufA: UnsafeMutablePointer<Float>
    private var capA = 0
    private var bufB: UnsafeMutablePointer<Float>
    private var capB = 0
    private var bufC: UnsafeMutablePointer<Float>
    private var capC = 0

    init() {
        panel = Self.allocate(2 * 16 * panelMaxK)
        bufA = Self.allocate(0)
        bufB = Self.allocate(0)
        bufC = Self.allocate(0)
    }

    deinit {
        free(panel)
        free(bufA)
        free(bufB)
        free(bufC)
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, max(64, 4 * count)) == 0, let p else {
            fatalError("out of memory allocating \(4 * count) bytes of kernel scratch")
        }
        return p.bindMemory(to: Float.self, capacity: max(16, count))
    }

    /// At least `count` floats (contents unspecified).
    func a(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capA {
            free(bufA)
            capA = max(count, 2 * capA)
            bufA = Self.allocate(capA)
        }
        return bufA
    }

    /// A second buffer of at least `count` floats.
    func b(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capB {
            free(bufB)
            capB = max(count, 2 * capB)
            bufB = Self.allocate(capB)
        }
        return bufB
    }

    /// A third buffer; the calling thread's holds the row-padded copy of a GEMM's inputs that all
    /// threads read.
    func c(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capC {
            free(bufC)
            capC = max(count, 2 * capC)
            bufC = Self.allocate(capC)
        }
        return bufC
    }

    /// The calling thread's scratch.
    static func current() -> KernelScratch {
        if let p = pthread_getspecific(scratchKey) {
            return Unmanaged<KernelScratch>.fromOpaque(p).takeUnretainedValue()
        }
        let s = KernelScratch()
        pthread_setspecific(scratchKey, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

private let scratchKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { p in
        if let p { Unmanaged<KernelScratch>.fromOpaque(p).release() }
    }
    return key
}()

/// Products with fewer multiply-adds than this run on the calling thread alone: waking the pool costs
/// more than it saves (attention over a short context, tiny models).
let parallelMinWork = 1 << 15

func matmulFast(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
                bias: UnsafePointer<Float>?, pool: ThreadPool, isa: ISALevel) {
    let threads = n * w.rows * w.cols < parallelMinWork ? 1 : pool.activeThreads
    if n >= gemmMinTokens {
        gemm(w, x, y, n: n, bias: bias, pool: pool, threads: threads, isa: isa)
    } else if w.layout == .interleaved16 {
        gemvInterleaved(w, x, y, n: n, bias: bias, pool: pool, threads: threads, isa: isa)
    } else {
        gemvRows(w, x, y, n: n, bias: bias, pool: pool, threads: threads, isa: isa)
    }
}

/// Runs body(t) for t in 0..<threads: on the pool when threads > 1, else inline on the caller.
@inline(__always)
func runParallel(_ pool: ThreadPool, _ threads: Int, _ body: (Int) -> Void) {
    if threads > 1 { pool.run(body) } else { body(0) }
}

// MARK: - GEMV

/// Interleaved Q4_1 / Q8_0 / F32: threads take contiguous ranges of 16-row groups; the last thread
/// also does the rows after the last full group.
func gemvInterleaved(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
                     bias: UnsafePointer<Float>?, pool: ThreadPool, threads: Int, isa: ISALevel) {
    let M = w.rows, K = w.cols
    let groups = M / 16
    runParallel(pool, threads) { t in
        let s = KernelScratch.current()
        let g0 = groups * t / threads, g1 = groups * (t + 1) / threads
        let last = t == threads - 1
        let tiles = K / 32
        let groupBytes = 16 * w.rowBytes
        for i in 0..<n {
            let xi = x + i * K, yi = y + i * M
            if g1 > g0 {
                switch w.type {
                case .q4_1:
                    let xsum = s.a(tiles)
                    for tile in 0..<tiles { xsum[tile] = sum32(xi + 32 * tile) }
                    isaGemvQ4_1(isa, w.data + g0 * groupBytes, groups: g1 - g0, tiles: tiles, x: xi, xsum: xsum, y: yi + 16 * g0)
                case .q4_0:
                    isaGemvQ4_0(isa, w.data + g0 * groupBytes, groups: g1 - g0, tiles: tiles, x: xi, y: yi + 16 * g0)
                case .q8_0:
                    isaGemvQ8_0(isa, w.data + g0 * groupBytes, groups: g1 - g0, tiles: tiles, x: xi, y: yi + 16 * g0)
                case .f32:
                    isaGemvF32(isa, (w.data + g0 * groupBytes).assumingMemoryBound(to: Float.self), groups: g1 - g0,
                               cols: K, x: xi, y: yi + 16 * g0)
                case .f16, .bf16:
                    isaGemvHalf(isa, w.data + g0 * groupBytes, groups: g1 - g0, cols: K, bf16: w.type == .bf16,
                                x: xi, y: yi + 16 * g0)
                default:
                    fatalError("no interleaved kernel for \(w.type.name)")
                }
            }
            if last && groups * 16 < M {
                let row = s.b(K)
                for r in (groups * 16)..<M {
                    w.dequantizeRow(r, into: row)
                    yi[r] = dot(row, xi, K)
                }
            }
            if let bias {
                let r1 = last ? M : 16 * g1
                for r in (16 * g0)..<r1 { yi[r] += bias[r] }
            }
        }
    }
}

/// Σ of 32 floats (four independent partial sums).
@inline(__always)
func sum32(_ p: UnsafePointer<Float>) -> Float {
    let r = UnsafeRawPointer(p)
    let a = r.loadUnaligned(as: SIMD8<Float>.self) + r.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
    let b = r.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self) + r.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
    let v = a + b
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    return q[0] + q[1]
}

/// Any type in row layout: threads split the rows; each row is dequantized once and dotted with the
/// n inputs.
func gemvRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
              bias: UnsafePointer<Float>?, pool: ThreadPool, threads: Int, isa: ISALevel) {
    let M = w.rows, K = w.cols
    runParallel(pool, threads) { t in
        let r0 = M * t / threads, r1 = M * (t + 1) / threads
        guard r1 > r0 else { return }
        let scratch = KernelScratch.current().b(K)
        for r in r0..<r1 {
            let wr: UnsafePointer<Float>
            if w.type == .f32 && w.layout == .rows {
                wr = w.row(r).assumingMemoryBound(to: Float.self)
            } else {
                w.dequantizeRow(r, into: scratch)
                wr = UnsafePointer(scratch)
            }
            let b = bias?[r] ?? 0
            for i in 0..<n { y[i * M + r] = isaDot(isa, wr, x + i * K, K) + b }
        }
    }
}

// MARK: - GEMM

/// A block of ≤ 32 consecutive output features handled together.
struct Panel {
    /// First row (output feature).
    var row0: Int
    /// Rows in the panel (1...32).
    var count: Int
    /// 16-row interleaved groups it consists of (1 or 2), or 0 for rows dequantized one by one.
    var groups: Int
}

struct PanelPlan {
    let count: Int
    private let pairs: Int
    private let oddGroup: Bool
    private let groupRows: Int
    private let rows: Int
    private let interleaved: Bool

    init(_ w: WeightMatrix) {
        rows = w.rows
        interleaved = w.layout == .interleaved16
        if interleaved {
            let g = w.rows / 16
            pairs = g / 2
            oddGroup = g % 2 == 1
            groupRows = 16 * g
            count = pairs + (oddGroup ? 1 : 0) + (groupRows < w.rows ? 1 : 0)
        } else {
            pairs = 0
            oddGroup = false
            groupRows = 0
            count = (w.rows + 31) / 32
        }
    }

    func panel(_ p: Int) -> Panel {
        if !interleaved { return Panel(row0: 32 * p, count: min(32, rows - 32 * p), groups: 0) }
        if p < pairs { return Panel(row0: 32 * p, count: 32, groups: 2) }
        if p == pairs && oddGroup { return Panel(row0: 32 * p, count: 16, groups: 1) }
        return Panel(row0: groupRows, count: rows - groupRows, groups: 0)
    }
}

/// The column-block size (KC) for `k` columns: ≤ panelMaxK, a multiple of `granule`, and as even as
/// possible (576 → 576; 1024 → 1024; 1536 → 2 × 768). Long blocks amortize the microkernel's C
/// updates; a 32 × 1024 panel (128 KB) is served from L2 fast enough (measured: KC 1024 beat 512 by
/// 1–3% and 256 by 3–4%, on F32 1024³ and on the SmolLM2 Q4_1 GEMM).
func panelBlock(_ k: Int, granule: Int) -> Int {
    if granule >= panelMaxK { return panelMaxK }
    let blocks = (k + panelMaxK - 1) / panelMaxK
    let even = (k + blocks - 1) / blocks
    return min(panelMaxK, (even + granule - 1) / granule * granule)
}

/// Makes the f32 panel for columns kc0..<kc0+kc of panel `p`; returns its two halves.
@inline(__always)
func loadPanel(_ w: WeightMatrix, _ p: Panel, kc0: Int, kc: Int, scratch s: KernelScratch, isa: ISALevel)
    -> (UnsafePointer<Float>, UnsafePointer<Float>?) {
    let K = w.cols
    let half1 = s.panel + 16 * panelMaxK
    if p.groups > 0 {
        let g0 = p.row0 / 16
        let groupBytes = 16 * w.rowBytes
        switch w.type {
        case .f32:
            let f = w.data.assumingMemoryBound(to: Float.self)
            let b0 = f + g0 * 16 * K + 16 * kc0
            return (b0, p.groups == 2 ? b0 + 16 * K : nil)
        case .f16, .bf16:
            let src = w.data + g0 * groupBytes + 32 * kc0
            isaFillHalf(isa, src, count: kc, bf16: w.type == .bf16, out: s.panel)
            if p.groups == 2 { isaFillHalf(isa, src + groupBytes, count: kc, bf16: w.type == .bf16, out: half1) }
        case .q4_1:
            let src = w.data + g0 * groupBytes + (kc0 / 32) * q4_1Tile
            isaFillQ4_1(isa, src, tiles: kc / 32, out: s.panel)
            if p.groups == 2 { isaFillQ4_1(isa, src + groupBytes, tiles: kc / 32, out: half1) }
        case .q4_0:
            let src = w.data + g0 * groupBytes + (kc0 / 32) * q4_0Tile
            isaFillQ4_0(isa, src, tiles: kc / 32, out: s.panel)
            if p.groups == 2 { isaFillQ4_0(isa, src + groupBytes, tiles: kc / 32, out: half1) }
        case .q8_0:
            let src = w.data + g0 * groupBytes + (kc0 / 32) * q8_0Tile
            isaFillQ8_0(isa, src, tiles: kc / 32, out: s.panel)
            if p.groups == 2 { isaFillQ8_0(isa, src + groupBytes, tiles: kc / 32, out: half1) }
        default:
            fatalError("no interleaved kernel for \(w.type.name)")
        }
        return (UnsafePointer(s.panel), p.groups == 2 ? UnsafePointer(half1) : nil)
    }
    // Rows in file format: dequantize the column block of each row and transpose it into its lane.
    let bs = w.type.blockSize, bb = w.type.blockBytes
    let tmp = s.a(kc)
    for j in 0..<p.count {
        let src = w.row(p.row0 + j) + (kc0 / bs) * bb
        let dst = (j < 16 ? s.panel : half1) + (j & 15)
        if w.type == .f32 {
            let f = src.assumingMemoryBound(to: Float.self)
            for k in 0..<kc { dst[16 * k] = f[k] }
        } else {
            try? dequantize(w.type, src, tmp, count: kc)
            for k in 0..<kc { dst[16 * k] = tmp[k] }
        }
    }
    return (UnsafePointer(s.panel), p.count > 16 ? UnsafePointer(half1) : nil)
}

/// The weight bytes `loadPanel` reads for a panel's column block (for prefetching): up to two regions.
@inline(__always)
func panelSource(_ w: WeightMatrix, _ p: Panel, kc0: Int, kc: Int) -> (first: UnsafeRawPointer?, second: UnsafeRawPointer?, bytes: Int) {
    guard p.groups > 0 else { return (nil, nil, 0) }
    let groupBytes = 16 * w.rowBytes
    let g = w.data + (p.row0 / 16) * groupBytes
    let second = p.groups == 2
    switch w.type {
    case .f32:
        let start = g + 64 * kc0
        return (start, second ? start + groupBytes : nil, 64 * kc)
    case .f16, .bf16:
        let start = g + 32 * kc0
        return (start, second ? start + groupBytes : nil, 32 * kc)
    case .q4_1:
        let start = g + (kc0 / 32) * q4_1Tile
        return (start, second ? start + groupBytes : nil, (kc / 32) * q4_1Tile)
    case .q4_0:
        let start = g + (kc0 / 32) * q4_0Tile
        return (start, second ? start + groupBytes : nil, (kc / 32) * q4_0Tile)
    case .q8_0:
        let start = g + (kc0 / 32) * q8_0Tile
        return (start, second ? start + groupBytes : nil, (kc / 32) * q8_0Tile)
    default:
        return (nil, nil, 0)
    }
}

/// Token index where split `i` of `splits` starts (multiples of `r` except the end).
@inline(__always)
func tokenSplit(_ n: Int, _ i: Int, _ splits: Int, _ r: Int) -> Int {
    i >= splits ? n : (n * i / splits) / r * r
}

func gemm(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int,
          bias: UnsafePointer<Float>?, pool: ThreadPool, threads: Int, isa: ISALevel) {
    let M = w.rows, K = w.cols
    let plan = PanelPlan(w)
    let R = isaRowBlock(isa)
    // Split the tokens too when there are few panels per thread (small matrices, many threads).
    var splits = 1
    while plan.count * splits < 4 * threads && n >= 64 * splits { splits *= 2 }
    let items = plan.count * splits
    let kcStep = panelBlock(K, granule: max(32, w.type.blockSize))
    // Token blocks whose inputs (tokens × cols floats, ≈ 1 MB) stay in L2 while the panels pass over them.
    let passes = (n + mcTokens(cols: K) - 1) / mcTokens(cols: K)
    let mcStep = ((n + passes - 1) / passes + R - 1) / R * R
    runParallel(pool, threads) { t in
        let lo = items * t / threads, hi = items * (t + 1) / threads
        guard lo < hi else { return }
        let s = KernelScratch.current()
        var mc0 = 0
        while mc0 < n {
            let mc1 = min(n, mc0 + mcStep)
            var item = lo
            while item < hi {
                // This thread's items of one panel (its token splits) are consecutive.
                let p = item / splits
                var itemEnd = item + 1
                while itemEnd < hi && itemEnd / splits == p { itemEnd += 1 }
                let panel = plan.panel(p)
                // Skip panels none of whose token ranges meet this token block.
                let first = tokenSplit(n, item % splits, splits, R), last = tokenSplit(n, (itemEnd - 1) % splits + 1, splits, R)
                var kc0 = max(mc0, first) < min(mc1, last) ? 0 : K
                while kc0 < K {
                    let kc = min(kcStep, K - kc0)
                    let (b0, b1) = loadPanel(w, panel, kc0: kc0, kc: kc, scratch: s, isa: isa)
                    // The weights this thread reads next: the panel's next column block, or the next panel's first.
                    var next: (first: UnsafeRawPointer?, second: UnsafeRawPointer?, bytes: Int) = (nil, nil, 0)
                    if kc0 + kc < K {
                        next = panelSource(w, panel, kc0: kc0 + kc, kc: min(kcStep, K - kc0 - kc))
                    } else if itemEnd < hi {
                        next = panelSource(w, plan.panel(itemEnd / splits), kc0: 0, kc: min(kcStep, K))
                    }
                    for it in item..<itemEnd {
                        let sp = it % splits
                        let m0 = max(mc0, tokenSplit(n, sp, splits, R)), m1 = min(mc1, tokenSplit(n, sp + 1, splits, R))
                        guard m1 > m0 else { continue }
                        isaGemmPanel(isa, kc: kc, a: x + m0 * K + kc0, lda: K, m: m1 - m0, b0: b0, b1: b1,
                                     c: y + m0 * M + panel.row0, ldc: M, nc: panel.count,
                                     accumulate: kc0 > 0, bias: kc0 == 0 ? bias.map { $0 + panel.row0 } : nil, next: next)
                        next = (nil, nil, 0)
                    }
                    kc0 += kc
                }
                item = itemEnd
            }
            mc0 = mc1
        }
    }
}

/// Most tokens per pass over the panels: their inputs (tokens × cols floats, about 1 MB) stay in L2.
/// (Measured on 1024³ F32 and the SmolLM2 GEMM: 2¹⁸ / cols was at least as good as 128…1024.)
func mcTokens(cols: Int) -> Int {
    max(64, (1 << 18) / max(cols, 1))
}
