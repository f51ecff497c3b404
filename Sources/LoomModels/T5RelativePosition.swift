#if canImport(Glibc)
import Glibc
#endif

/// T5's relative position buckets: the attention bias between a query and a key depends only on the
/// bucket of (key position − query position). Small distances get one bucket each, larger ones share
/// logarithmically wider buckets up to `maxDistance`. Bidirectional (encoder) buckets split the range
/// between keys before and after the query; causal (decoder) buckets cover keys before it only.
public struct T5RelativePosition: Sendable {
    public let bucketCount: Int
    public let maxDistance: Int
    public let bidirectional: Bool

    public init(bucketCount: Int, maxDistance: Int, bidirectional: Bool) {
        self.bucketCount = bucketCount
        self.maxDistance = maxDistance
        self.bidirectional = bidirectional
    }

    /// The bucket of `relative` = key position − query position, in 0..<bucketCount
    /// (HF `T5Attention._relative_position_bucket`, with its f32 logarithm).
    public func bucket(relative: Int) -> Int {
        var buckets = bucketCount
        var result = 0
        var distance: Int
        if bidirectional {
            buckets /= 2
            if relative > 0 { result += buckets }
            distance = abs(relative)
        } else {
            distance = max(-relative, 0)
        }
        let maxExact = buckets / 2
        guard maxExact > 0 else { return min(result, bucketCount - 1) }
        if distance < maxExact { return result + distance }
        // f32 like torch: log(d / maxExact) / log(maxDistance / maxExact) · (buckets − maxExact), truncated.
        let ratio = logf(Float(distance) / Float(maxExact)) / Float(log(Double(maxDistance) / Double(maxExact)))
        let scaled = ratio * Float(buckets - maxExact)
        var large = maxExact + (scaled.isFinite ? Int(min(max(scaled, 0), Float(buckets))) : buckets)
        large = min(large, buckets - 1)
        return result + large
    }

    /// Learned biases of relative positions minRelative...maxRelative as [heads × span] (relative r of
    /// head h at h·span + r − minRelative), from the model's [bucketCount × heads] table.
    func biasTable(_ table: [Float], heads: Int, minRelative: Int, maxRelative: Int) -> [Float] {
        let span = maxRelative - minRelative + 1
        var out = [Float](repeating: 0, count: heads * max(span, 0))
        guard span > 0 else { return out }
        for r in minRelative...maxRelative {
            let b = bucket(relative: r)
            for h in 0..<heads { out[h * span + (r - minRelative)] = table[b * heads + h] }
        }
        return out
    }
}
