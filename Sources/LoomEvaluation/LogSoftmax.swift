#if canImport(Glibc)
import Glibc
#endif

/// Log-probabilities from one row of logits: log-softmax over f32 logits with the sum of
/// exponentials accumulated in f64 (llama.cpp's perplexity and lm-eval-harness compute the same).
public enum LogSoftmax {
    /// log Σ_j exp(row[j]), accumulated in f64 around the row's maximum.
    public static func logSumExp(_ row: UnsafeBufferPointer<Float>) -> Double {
        guard let base = row.baseAddress, row.count > 0 else { return -.infinity }
        var m = base[0]
        for j in 1..<row.count where base[j] > m { m = base[j] }
        guard m.isFinite else { return Double(m) }
        var s = 0.0
        for j in 0..<row.count { s += exp(Double(base[j] - m)) }
        return Double(m) + log(s)
    }

    /// log p(token) under the softmax of `row`.
    public static func logProbability(_ row: UnsafeBufferPointer<Float>, token: Int) -> Double {
        Double(row[token]) - logSumExp(row)
    }

    /// The first index of the row's largest value (numpy/torch argmax).
    public static func argmax(_ row: UnsafeBufferPointer<Float>) -> Int {
        guard row.count > 0 else { return 0 }
        var best = 0
        for j in 1..<row.count where row[j] > row[best] { best = j }
        return best
    }
}
