import LoomCore
#if canImport(Glibc)
import Glibc
#endif

/// Which elements RoPE rotates together.
public enum RoPEStyle: Sendable {
    /// Adjacent pairs (x[2i], x[2i+1]): llama.cpp's "normal" mode, for which GGUF converters
    /// permute the Q/K rows of llama-family models.
    case interleaved
    /// Halves (x[i], x[i + d/2]): HF's rotate_half, GPT-NeoX style.
    case halves
}

/// Rotary position embedding tables: inverse frequencies computed in f32 as HF does
/// (1 / base^(2i/d)), angles in f32, cos/sin rounded from f64.
public struct RoPE: Sendable {
    public let dims: Int
    public let style: RoPEStyle
    public let invFreq: [Float]

    public init(dims: Int, base: Float, style: RoPEStyle) {
        self.dims = dims
        self.style = style
        invFreq = (0..<(dims / 2)).map { i in
            1.0 / Float(pow(Double(base), Double(Float(2 * i) / Float(dims))))
        }
    }

    /// Writes the `dims` floats of the rotation at `position` to `row`: cos of the dims/2 angles, then sin.
    public func fillTable(position: Int, into row: UnsafeMutablePointer<Float>) {
        let half = dims / 2
        invFreq.withUnsafeBufferPointer { f in
            for i in 0..<half {
                let angle = Float(position) * f[i]
                row[i] = Float(cos(Double(angle)))
                row[half + i] = Float(sin(Double(angle)))
            }
        }
    }

    /// The rotation table of every position in `positions` (`positions.count × dims` floats, row i for
    /// positions[i]). Positions are the same in every layer: make it once per forward pass.
    public func makeTable(positions: UnsafeBufferPointer<Int32>, into table: UnsafeMutablePointer<Float>) {
        for (i, p) in positions.enumerated() { fillTable(position: Int(p), into: table + i * dims) }
    }

    /// Rotates the first `dims` values of each of `heads` vectors of length `headDim` at `position`.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(dims, 1)) { row in
            fillTable(position: position, into: row.baseAddress!)
            apply(x, heads: heads, headDim: headDim, table: row.baseAddress!)
        }
    }

    /// Rotates `heads` vectors with a row of `makeTable` / `fillTable`.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, table row: UnsafePointer<Float>) {
        let half = dims / 2
        let cosv = row, sinv = row + half
        for h in 0..<heads {
            let v = x + h * headDim
            switch style {
            case .interleaved:
                for i in 0..<half {
                    let x0 = v[2 * i], x1 = v[2 * i + 1]
                    v[2 * i] = x0 * cosv[i] - x1 * sinv[i]
                    v[2 * i + 1] = x0 * sinv[i] + x1 * cosv[i]
                }
            case .halves:
                for i in 0..<half {
                    let x0 = v[i], x1 = v[i + half]
                    v[i] = x0 * cosv[i] - x1 * sinv[i]
                    v[i + half] = x0 * sinv[i] + x1 * cosv[i]
                }
            }
        }
    }

    /// Rotates the queries and keys of `rows` tokens (q: rows × qHeads·headDim, k: rows × kHeads·headDim,
    /// contiguous) with rows of `table` (from `makeTable`), split over the pool's threads.
    public func apply(q: UnsafeMutablePointer<Float>, qHeads: Int, k: UnsafeMutablePointer<Float>, kHeads: Int,
                      headDim: Int, rows: Int, table: UnsafePointer<Float>, pool: ThreadPool) {
        let work = { (r: Range<Int>) in
            for i in r {
                apply(q + i * qHeads * headDim, heads: qHeads, headDim: headDim, table: table + i * dims)
                apply(k + i * kHeads * headDim, heads: kHeads, headDim: headDim, table: table + i * dims)
            }
        }
        if rows < 8 || pool.activeThreads == 1 { work(0..<rows) } else { pool.parallelFor(rows, work) }
    }
}
