import LoomCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a `WeightMatrix` arranges its bytes.
///
/// `.interleaved16` (made by `WeightMatrix.prepared()`) keeps the file's bytes — same scales, same
/// quant codes, same total size — but reorders them so that 16 rows sit in the 16 lanes of a vector:
///
/// - Rows are taken in groups of 16; group g (rows 16g..<16g+16) occupies bytes
///   `[16g·rowBytes, 16(g+1)·rowBytes)`. Rows after the last full group keep the file's row format
///   at `r·rowBytes`.
/// - Q4_1: per 32-column tile t (320 bytes at `16g·rowBytes + 320t`): the 16 rows' f16 `d` (32 bytes),
///   their f16 `m` (32 bytes), then 16 chunks of 16 bytes where byte j of chunk c is row j's `qs[c]`
///   (low nibble: column 32t + c, high nibble: column 32t + c + 16).
/// - Q4_0: per tile (288 bytes): 16 f16 `d`, then 16 chunks of 16 bytes as for Q4_1.
/// - Q8_0: per tile (544 bytes): 16 f16 `d`, then 32 chunks of 16 bytes, byte j of chunk c = row j's `qs[c]`.
/// - F32, F16, BF16: group g is k-major, `[cols][16]`: element `16k + j` of the group is row 16g + j,
///   column k.
///
/// Other types stay in `.rows` layout (`prepared()` returns them unchanged).
public enum WeightLayout: Sendable, Equatable {
    /// The file's order: row r's blocks are contiguous at `data + r·rowBytes`.
    case rows
    /// Loom's kernel layout, 16 rows interleaved (see the type's documentation).
    case interleaved16
}

/// Memory owned by a prepared `WeightMatrix` (64-byte aligned, freed with the last reference).
public final class WeightStorage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int

    init(byteCount: Int) throws {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 4096, max(byteCount, 64)) == 0, let p else {
            throw LoomError(.outOfMemory, "cannot allocate \(byteCount) bytes for repacked weights")
        }
        base = p
        self.byteCount = byteCount
    }

    deinit { free(base) }
}

extension WeightMatrix {
    /// Whether `prepared()` repacks matrices of `type` (the types with fast kernels).
    public static func hasKernelLayout(_ type: TensorType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q8_0: return true
        default: return false
        }
    }

    /// The matrix repacked into the kernel layout (`.interleaved16`), in memory the result owns; the
    /// byte size is unchanged. Call once per matrix at load time. Returns `self` when the type has no
    /// kernel layout, when the matrix has fewer than 16 rows, or when it is already prepared.
    ///
    /// - Parameter source: the mapped file `data` points into. When given, the pages of the file that
    ///   lie wholly inside this matrix are dropped from the process (`madvise(MADV_DONTNEED)`) after the
    ///   copy, so that the model does not occupy twice its size. They are re-read from the file if
    ///   touched again, so this is safe even if something still reads the old matrix; but do not pass a
    ///   mapping for data that is not a read-only file mapping.
    public func prepared(source: MappedFile? = nil) throws -> WeightMatrix {
        guard layout == .rows, Self.hasKernelLayout(type), rows >= 16 else { return self }
        let total = rows * rowBytes
        let storage = try WeightStorage(byteCount: total)
        let dst = storage.base
        let groups = rows / 16
        let tiles = cols / 32
        switch type {
        case .q4_1:
            interleaveBlocks(into: dst, groups: groups, tiles: tiles, scaleFields: 2, quantBytes: 16)
        case .q4_0:
            interleaveBlocks(into: dst, groups: groups, tiles: tiles, scaleFields: 1, quantBytes: 16)
        case .q8_0:
            interleaveBlocks(into: dst, groups: groups, tiles: tiles, scaleFields: 1, quantBytes: 32)
        case .f32:
            let out = dst.assumingMemoryBound(to: Float.self)
            for g in 0..<groups {
                let gout = out + g * 16 * cols
                for j in 0..<16 {
                    let src = data + (16 * g + j) * rowBytes
                    for k in 0..<cols {
                        gout[16 * k + j] = src.loadUnaligned(fromByteOffset: 4 * k, as: Float.self)
                    }
                }
            }
        case .f16, .bf16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            for g in 0..<groups {
                let gout = out + g * 16 * cols
                for j in 0..<16 {
                    let src = data + (16 * g + j) * rowBytes
                    for k in 0..<cols {
                        gout[16 * k + j] = src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)
                    }
                }
            }
        default:
            return self
        }
        let tailStart = groups * 16 * rowBytes
        if tailStart < total {
            (dst + tailStart).copyMemory(from: data + tailStart, byteCount: total - tailStart)
        }
        if let source { releasePages(of: source, from: data, count: total) }
        return WeightMatrix(type: type, rows: rows, cols: cols, rowBytes: rowBytes, layout: .interleaved16, storage: storage)
    }

    /// Row r (< rows / 16 · 16) of an interleaved matrix: gathers each block back into the file's
    /// format and runs the reference dequantizer on it, so the result is bit-identical.
    func dequantizeInterleavedRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let g = r / 16, j = r % 16
        let base = data + g * 16 * rowBytes
        switch type {
        case .f32:
            let p = base.assumingMemoryBound(to: Float.self)
            for k in 0..<cols { out[k] = p[16 * k + j] }
        case .f16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for k in 0..<cols { out[k] = halfToFloat(p[16 * k + j]) }
        case .bf16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for k in 0..<cols { out[k] = bf16ToFloat(p[16 * k + j]) }
        case .q4_1:
            withUnsafeTemporaryAllocation(byteCount: 20, alignment: 4) { blk in
                for t in 0..<cols / 32 {
                    let tile = base + t * 320
                    blk.storeBytes(of: tile.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self), toByteOffset: 0, as: UInt16.self)
                    blk.storeBytes(of: tile.loadUnaligned(fromByteOffset: 32 + 2 * j, as: UInt16.self), toByteOffset: 2, as: UInt16.self)
                    for c in 0..<16 {
                        blk.storeBytes(of: tile.load(fromByteOffset: 64 + 16 * c + j, as: UInt8.self), toByteOffset: 4 + c, as: UInt8.self)
                    }
                    try? dequantize(.q4_1, UnsafeRawPointer(blk.baseAddress!), out + 32 * t, count: 32)
                }
            }
        case .q4_0:
            withUnsafeTemporaryAllocation(byteCount: 18, alignment: 4) { blk in
                for t in 0..<cols / 32 {
                    let tile = base + t * 288
                    blk.storeBytes(of: tile.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self), toByteOffset: 0, as: UInt16.self)
                    for c in 0..<16 {
                        blk.storeBytes(of: tile.load(fromByteOffset: 32 + 16 * c + j, as: UInt8.self), toByteOffset: 2 + c, as: UInt8.self)
                    }
                    try? dequantize(.q4_0, UnsafeRawPointer(blk.baseAddress!), out + 32 * t, count: 32)
                }
            }
        case .q8_0:
            withUnsafeTemporaryAllocation(byteCount: 34, alignment: 4) { blk in
                for t in 0..<cols / 32 {
                    let tile = base + t * 544
                    blk.storeBytes(of: tile.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self), toByteOffset: 0, as: UInt16.self)
                    for c in 0..<32 {
                        blk.storeBytes(of: tile.load(fromByteOffset: 32 + 16 * c + j, as: UInt8.self), toByteOffset: 2 + c, as: UInt8.self)
                    }
                    try? dequantize(.q8_0, UnsafeRawPointer(blk.baseAddress!), out + 32 * t, count: 32)
                }
            }
        default:
            // Only the types above are ever interleaved.
            break
        }
    }
}

/// Drops the pages of `file` that lie wholly inside `[start, start + count)`.
private func releasePages(of file: MappedFile, from start: UnsafeRawPointer, count: Int) {
    guard let base = file.base, count > 0 else { return }
    let lo = UInt(bitPattern: base), hi = lo + UInt(file.count)
    let s = UInt(bitPattern: start), e = s + UInt(count)
    guard s >= lo, e <= hi else { return }
    let page = UInt(max(4096, sysconf(Int32(_SC_PAGESIZE))))
    let first = (s + page - 1) / page * page
    let last = e / page * page
    guard last > first else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED)
}

extension WeightMatrix {
    /// Repacks 32-weight blocks made of `scaleFields` f16 fields followed by `quantBytes` quant bytes
    /// (Q4_0: d | 16 B; Q4_1: d, m | 16 B; Q8_0: d | 32 B) into `.interleaved16` tiles: each f16 field
    /// of the 16 rows side by side, then chunk c holds byte c of every row (byte j = row j).
    fileprivate func interleaveBlocks(into dst: UnsafeMutableRawPointer, groups: Int, tiles: Int,
                                      scaleFields: Int, quantBytes: Int) {
        let blockBytes = 2 * scaleFields + quantBytes
        let tileBytes = 16 * blockBytes
        for g in 0..<groups {
            for t in 0..<tiles {
                let tile = dst + g * 16 * rowBytes + t * tileBytes
                for j in 0..<16 {
                    let blk = data + (16 * g + j) * rowBytes + t * blockBytes
                    for f in 0..<scaleFields {
                        tile.storeBytes(of: blk.loadUnaligned(fromByteOffset: 2 * f, as: UInt16.self),
                                        toByteOffset: 32 * f + 2 * j, as: UInt16.self)
                    }
                    for c in 0..<quantBytes {
                        tile.storeBytes(of: blk.load(fromByteOffset: 2 * scaleFields + c, as: UInt8.self),
                                        toByteOffset: 32 * scaleFields + 16 * c + j, as: UInt8.self)
                    }
                }
            }
        }
    }
}
