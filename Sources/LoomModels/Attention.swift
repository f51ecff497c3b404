import LoomCore
import LoomKernels

/// Causal grouped-query attention over the KV cache, as matrix products so the kernels' GEMM does
/// the work: per KV head, the queries of its heads (group × n rows) times the head's cached keys give
/// the scores; masked softmax; times the cached values gives the output.
///
/// q: [n, heads·hd] (RoPE applied), out: [n, heads·hd]. Token i sees cache positions 0...positions[i];
/// every position up to the largest one must be cached.
func causalAttention(q: UnsafeMutablePointer<Float>, n: Int, positions: UnsafeBufferPointer<Int32>,
                     heads: Int, kvHeads: Int, headDim hd: Int, cache: KVCache, layer: Int,
                     out: UnsafeMutablePointer<Float>, workspace ws: Workspace, pool fullPool: ThreadPool) throws {
    let group = heads / kvHeads
    let qw = heads * hd
    let span = (positions.max().map { Int($0) } ?? 0) + 1       // T: positions attended to
    let rows = group * n
    let qg = ws.buffer("attn.q", rows * hd)                   // [group·n, hd], row = h·n + i
    let scores = ws.buffer("attn.scores", rows * span)        // [group·n, T]
    let vt = ws.buffer("attn.vt", hd * span)                  // [hd, T]: the head's values transposed
    let og = ws.buffer("attn.out", rows * hd)                 // [group·n, hd]
    let scale = 1 / Float(hd).squareRoot()
    // A few rows over a short span (one token of a decode step) cost less than waking the pool's
    // threads: run them on the caller (several sequences per step would otherwise wake it per head).
    let pool = rows * span * hd < 1 << 16 ? serialPool : fullPool

    for g in 0..<kvHeads {
        for h in 0..<group {
            for i in 0..<n {
                (qg + (h * n + i) * hd).update(from: q + i * qw + (g * group + h) * hd, count: hd)
            }
        }
        let keys = try WeightMatrix(type: cache.type, rows: span, cols: hd, data: UnsafeRawPointer(cache.keys(layer: layer, head: g)))
        matmul(keys, qg, scores, n: rows, pool: pool)
        pool.parallelFor(rows) { range in
            for r in range {
                let visible = Int(positions[r % n]) + 1
                let s = scores + r * span
                for t in 0..<visible { s[t] *= scale }
                softmaxInPlace(s, visible)
                for t in visible..<span { s[t] = 0 }
            }
        }
        let values = cache.values(layer: layer, head: g)
        pool.parallelFor(hd) { dims in
            for d in dims {
                for t in 0..<span { vt[d * span + t] = cache.load(values, t * hd + d) }
            }
        }
        let vMatrix = try WeightMatrix(type: .f32, rows: hd, cols: span, data: UnsafeRawPointer(vt))
        matmul(vMatrix, scores, og, n: rows, pool: pool)
        for h in 0..<group {
            for i in 0..<n {
                (out + i * qw + (g * group + h) * hd).update(from: og + (h * n + i) * hd, count: hd)
            }
        }
    }
}

/// A pool of just the calling thread, for work too small to share.
private let serialPool = ThreadPool(threadCount: 1)
