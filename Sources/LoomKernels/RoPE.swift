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

    /// Rotates the first `dims` values of each of `heads` vectors of length `headDim` at `position`.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int) {
        let half = dims / 2
        var cosv = [Float](repeating: 0, count: half)
        var sinv = [Float](repeating: 0, count: half)
        for i in 0..<half {
            let angle = Float(position) * invFreq[i]
            cosv[i] = Float(cos(Double(angle)))
            sinv[i] = Float(sin(Double(angle)))
        }
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let (a, b) = style == .interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                let x0 = v[a], x1 = v[b]
                v[a] = x0 * cosv[i] - x1 * sinv[i]
                v[b] = x0 * sinv[i] + x1 * cosv[i]
            }
        }
    }
}
