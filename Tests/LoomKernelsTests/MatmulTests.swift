import Foundation
import LoomCore
@testable import LoomKernels
import XCTest

/// The fast `matmul` kernels against `matmulReference` (row-by-row reference dequantization and f32
/// dots) and against an f64 evaluation of the same dequantized weights.
///
/// Error measure: for every output, |y − y_ref| / Σ_k |w_rk·x_k| (the magnitude of the dot product's
/// terms, f64), maximum over the output. Budget: 1e-5 for every type and path — activations stay in
/// f32 and weights are dequantized exactly, so the only differences are f32 summation order (and,
/// in the Q4_1 GEMV, the regrouping d·Σxq + m·Σx); measured values are ~1e-7.
final class MatmulTests: XCTestCase {
    static let budget = 1e-5
    static let pools: [Int: ThreadPool] = Dictionary(uniqueKeysWithValues: [1, 2, 3, 4].map { ($0, ThreadPool(threadCount: $0)) })

    struct Case {
        let type: TensorType
        let rows: Int
        let cols: Int
    }

    /// Worst errors seen, per label, printed at the end of each test.
    var worst: [String: Double] = [:]

    override func tearDown() {
        expectedCache = [:]
        cachedRef = nil
        for key in worst.keys.sorted() {
            print("matmul \(key): max |Δ| / Σ|w·x| = \(String(format: "%.2e", worst[key]!)) (budget \(Self.budget))")
        }
        worst = [:]
        super.tearDown()
    }

    func randomInputs(_ count: Int, seed: UInt64) -> [Float] {
        var rng = KernelRandom(seed: seed)
        return (0..<count).map { _ in rng.float() }
    }

    /// Reference outputs and term magnitudes of one (matrix, n, bias) problem, computed once and
    /// reused for every ISA level and thread count.
    struct Expected {
        let x: [Float]
        let bias: [Float]
        let y: [Float]
        let magnitude: [Double]   // Σ_k |w_rk·x_ik| (+ |bias_r|), per output
    }
    var expectedCache: [String: Expected] = [:]
    /// The reference matrix the cache belongs to, held so that its memory cannot be reused by the
    /// next case's matrix while cached (its address identifies it).
    var cachedRef: WeightMatrix?

    func expected(_ ref: WeightMatrix, n: Int, bias: Bool) -> Expected {
        if cachedRef?.data != ref.data {
            expectedCache = [:]
            cachedRef = ref
        }
        let cacheKey = "n=\(n) bias=\(bias)"
        if let e = expectedCache[cacheKey] { return e }
        let M = ref.rows, K = ref.cols
        let x = randomInputs(n * K, seed: UInt64(n * 7919 + K))
        let b = bias ? randomInputs(M, seed: 99) : []
        var y = [Float](repeating: .nan, count: n * M)
        x.withUnsafeBufferPointer { xp in
            b.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer {
                    matmulReference(ref, xp.baseAddress!, $0.baseAddress!, n: n, bias: bias ? bp.baseAddress : nil, pool: Self.pools[4]!)
                }
            }
        }
        var mag = [Double](repeating: 0, count: n * M)
        var row = [Float](repeating: 0, count: K)
        row.withUnsafeMutableBufferPointer { rp in
            x.withUnsafeBufferPointer { xp in
                mag.withUnsafeMutableBufferPointer { mp in
                    for r in 0..<M {
                        ref.dequantizeRow(r, into: rp.baseAddress!)
                        for i in 0..<n {
                            var m = bias ? abs(Double(b[r])) : 0
                            let xi = xp.baseAddress! + i * K
                            for k in 0..<K { m += abs(Double(rp[k]) * Double(xi[k])) }
                            mp[i * M + r] = m
                        }
                    }
                }
            }
        }
        let e = Expected(x: x, bias: b, y: y, magnitude: mag)
        expectedCache[cacheKey] = e
        return e
    }

    /// Runs the fast matmul and checks it against the reference within the budget; returns the max
    /// relative error.
    @discardableResult
    func check(_ w: WeightMatrix, reference ref: WeightMatrix, n: Int, threads: Int, isa: ISALevel, bias: Bool,
               label: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        let M = w.rows
        let e = expected(ref, n: n, bias: bias)
        var y = [Float](repeating: .nan, count: n * M)
        e.x.withUnsafeBufferPointer { xp in
            e.bias.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer {
                    matmul(w, xp.baseAddress!, $0.baseAddress!, n: n, bias: bias ? bp.baseAddress : nil, pool: Self.pools[threads]!, isa: isa)
                }
            }
        }
        var maxRel = 0.0
        var bad = 0
        for j in 0..<(n * M) {
            let got = y[j], want = e.y[j]
            let rel = got.isFinite ? abs(Double(got) - Double(want)) / max(e.magnitude[j], 1e-30) : .infinity
            if !(rel <= Self.budget) {
                if bad < 3 {
                    XCTFail("\(label) n=\(n) threads=\(threads) \(isa): y[\(j / M)][\(j % M)] = \(got), reference \(want) (rel \(rel))",
                            file: file, line: line)
                }
                bad += 1
            }
            maxRel = max(maxRel, rel)
        }
        let key = "\(label.split(separator: " ").first!) \(isa)"
        worst[key] = max(worst[key] ?? 0, maxRel)
        return maxRel
    }

    func matrix(_ c: Case, seed: UInt64) throws -> WeightMatrix {
        try randomMatrix(c.type, rows: c.rows, cols: c.cols, seed: seed, prepare: false)
    }

    // MARK: - Fast paths: Q4_1, Q8_0, F32 (prepared and not), all ISA levels, odd shapes, 1–4 threads

    func testFastTypesAllLevels() throws {
        let cases: [Case] = [
            Case(type: .q4_1, rows: 16, cols: 32), Case(type: .q4_1, rows: 17, cols: 96),
            Case(type: .q4_1, rows: 50, cols: 320), Case(type: .q4_1, rows: 83, cols: 608),
            Case(type: .q4_0, rows: 35, cols: 352),
            Case(type: .q8_0, rows: 16, cols: 64), Case(type: .q8_0, rows: 33, cols: 288),
            Case(type: .q8_0, rows: 70, cols: 544),
            Case(type: .f32, rows: 1, cols: 1), Case(type: .f32, rows: 31, cols: 7),
            Case(type: .f32, rows: 48, cols: 45), Case(type: .f32, rows: 67, cols: 301),
            Case(type: .f16, rows: 37, cols: 70), Case(type: .bf16, rows: 20, cols: 33),
        ]
        for (ci, c) in cases.enumerated() {
            let raw = try matrix(c, seed: UInt64(ci + 1))
            let packed = try raw.prepared()
            if c.rows >= 16 { XCTAssertEqual(packed.layout, .interleaved16) }
            for isa in CPUFeatures.host.availableISAs {
                for n in [1, 2, 5, 7, 33] {
                    for threads in [1, 2, 3, 4] {
                        check(packed, reference: raw, n: n, threads: threads, isa: isa, bias: n == 2,
                              label: "\(c.type.name)-prepared \(c.rows)x\(c.cols)")
                    }
                    check(raw, reference: raw, n: n, threads: 2, isa: isa, bias: n == 7,
                          label: "\(c.type.name)-rows \(c.rows)x\(c.cols)")
                }
            }
        }
    }

    /// Prompt-sized batches (n = 512) through SmolLM2-like shapes.
    func testLargeBatch() throws {
        // Several token blocks (cols > 512), two column blocks (cols > 1024), a tail panel (rows % 16),
        // token splits (few panels, 2–3 threads).
        let cases: [Case] = [Case(type: .q4_1, rows: 96, cols: 576), Case(type: .q8_0, rows: 49, cols: 1088),
                             Case(type: .q4_0, rows: 64, cols: 544), Case(type: .bf16, rows: 40, cols: 600),
                             Case(type: .f32, rows: 130, cols: 300)]
        for (ci, c) in cases.enumerated() {
            let raw = try matrix(c, seed: UInt64(50 + ci))
            let packed = try raw.prepared()
            for isa in CPUFeatures.host.availableISAs {
                for threads in [1, 2, 3] {
                    check(packed, reference: raw, n: 512, threads: threads, isa: isa, bias: threads == 2,
                          label: "\(c.type.name)-prepared \(c.rows)x\(c.cols)")
                }
            }
        }
    }

    // MARK: - Generic path: every other supported type

    func testGenericTypes() throws {
        let cases: [Case] = [
            Case(type: .q5_0, rows: 18, cols: 288),
            Case(type: .q5_1, rows: 33, cols: 64), Case(type: .q4_K, rows: 40, cols: 512),
            Case(type: .q5_K, rows: 17, cols: 256), Case(type: .q6_K, rows: 35, cols: 512),
        ]
        for (ci, c) in cases.enumerated() {
            let raw = try matrix(c, seed: UInt64(200 + ci))
            let prepared = try raw.prepared()
            XCTAssertEqual(prepared.layout, .rows, "\(c.type.name) has no kernel layout")
            for isa in CPUFeatures.host.availableISAs {
                for n in [1, 2, 7, 33] {
                    for threads in [1, 3] {
                        check(prepared, reference: raw, n: n, threads: threads, isa: isa, bias: n == 7,
                              label: "\(c.type.name) \(c.rows)x\(c.cols)")
                    }
                }
            }
        }
    }

    // MARK: - Layout

    /// Rows read back from the interleaved layout are bit-identical to the file's rows.
    func testPreparedRowsAreBitExact() throws {
        for (ci, c) in [Case(type: .q4_1, rows: 37, cols: 96), Case(type: .q8_0, rows: 40, cols: 64),
                        Case(type: .q4_0, rows: 19, cols: 128), Case(type: .f16, rows: 21, cols: 40),
                        Case(type: .bf16, rows: 32, cols: 17),
                        Case(type: .f32, rows: 33, cols: 19)].enumerated() {
            let raw = try matrix(c, seed: UInt64(300 + ci))
            let packed = try raw.prepared()
            XCTAssertEqual(packed.rows * packed.rowBytes, raw.rows * raw.rowBytes)
            XCTAssertNotNil(packed.storage)
            var a = [Float](repeating: 0, count: c.cols), b = a
            for r in 0..<c.rows {
                a.withUnsafeMutableBufferPointer { raw.dequantizeRow(r, into: $0.baseAddress!) }
                b.withUnsafeMutableBufferPointer { packed.dequantizeRow(r, into: $0.baseAddress!) }
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(c.type.name) row \(r)")
            }
            // Preparing twice is a no-op.
            XCTAssertEqual(try packed.prepared().data, packed.data)
        }
    }

    /// prepared(source:) on a mapped file: the copy is right, and the file's pages may be dropped.
    func testPreparedFromMappedFile() throws {
        let c = Case(type: .q4_1, rows: 512, cols: 576)
        let bytes = randomWeightBytes(c.type, rows: c.rows, cols: c.cols, seed: 400)
        let path = NSTemporaryDirectory() + "loom-kernels-\(getpid()).bin"
        // 100 bytes of header so that the matrix does not start on a page boundary.
        var contents = Data(repeating: 7, count: 100)
        contents.append(contentsOf: bytes)
        try contents.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let file = try MappedFile(path: path)
        let raw = try WeightMatrix(type: c.type, rows: c.rows, cols: c.cols, data: file.base! + 100)
        let copy = try randomMatrix(c.type, rows: c.rows, cols: c.cols, seed: 400, prepare: false)
        let packed = try raw.prepared(source: file)
        for isa in CPUFeatures.host.availableISAs {
            check(packed, reference: copy, n: 1, threads: 2, isa: isa, bias: false, label: "q4_1-mapped")
            check(packed, reference: copy, n: 9, threads: 2, isa: isa, bias: false, label: "q4_1-mapped")
        }
        // The old mapping still reads correctly (pages come back from the file).
        check(raw, reference: copy, n: 3, threads: 1, isa: .scalar, bias: false, label: "q4_1-dropped-source")
    }

    // MARK: - CPU dispatch

    func testCPUFeatures() {
        let f = CPUFeatures.host
        print("CPU: \(f); best kernels: \(f.bestISA); selected: \(CPUFeatures.selectedISA); available: \(f.availableISAs)")
        XCTAssertTrue(f.supports(.scalar))
        XCTAssertLessThanOrEqual(CPUFeatures.selectedISA, f.bestISA)
        XCTAssertEqual(ISALevel(name: "AVX2"), .avx2)
        XCTAssertEqual(ISALevel(name: "avx512"), .avx512)
        XCTAssertEqual(ISALevel(name: "scalar"), .scalar)
        XCTAssertNil(ISALevel(name: "sse9"))
        if f.supports(.avx512) { XCTAssertTrue(f.supports(.avx2)) }
    }
}
