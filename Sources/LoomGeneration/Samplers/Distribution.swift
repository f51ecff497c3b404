/// The final draw: one token from softmax(logits), with a seeded `Xoshiro256StarStar`
/// (HF's `torch.multinomial(softmax(scores), 1)`, llama.cpp's `dist` sampler).
///
/// Method, fully determined by the seed and the logits: weights w_i = exp(x_i − max) (f32; -inf, NaN and
/// weights below FLT_MIN are 0), summed per block of 64 tokens, the block sums summed in f64;
/// u = nextUnitDouble() · Σw; the token is the first, in id order, whose running f64 sum of weights exceeds u.
/// One random number per draw. If some logits are +inf, they share the probability equally.
/// When the chain hands over the list of surviving tokens (after a top-k, top-p or min-p; see Candidates.swift)
/// the same draw runs over that list, its weights summed one by one in f64.
public final class DistributionSelector: TokenSelector {
    /// The seed `reset()` returns to.
    public let seed: UInt64
    public private(set) var rng: Xoshiro256StarStar
    private var weights: [Float] = []
    private var blockSums: [Double] = []

    public init(seed: UInt64) {
        self.seed = seed
        self.rng = Xoshiro256StarStar(seed: seed)
    }

    public func reset() { rng = Xoshiro256StarStar(seed: seed) }

    /// One of the +inf logits among `ids`, uniformly (they share the probability).
    private static func pickInfinite(_ logits: UnsafeBufferPointer<Float>, _ ids: some Sequence<Int>, _ u01: Double) -> Int32? {
        var c = 0
        for i in ids where logits[i] == .infinity { c += 1 }
        var k = min(Int(u01 * Double(c)), c - 1)
        for i in ids where logits[i] == .infinity {
            if k == 0 { return Int32(truncatingIfNeeded: i) }
            k -= 1
        }
        return nil
    }

    public func select(_ logits: UnsafeBufferPointer<Float>) -> Int32? {
        let n = logits.count
        let m = SamplingMath.maxLogit(logits)
        guard m > -Float.infinity else { return nil }
        let u01 = rng.nextUnitDouble()
        if m == .infinity { return Self.pickInfinite(logits, 0..<n, u01) }
        let block = SamplingMath.block
        let blocks = (n + block - 1) / block
        SamplingMath.ensureCapacity(&weights, n, 0)
        SamplingMath.ensureCapacity(&blockSums, blocks, 0)
        return weights.withUnsafeMutableBufferPointer { wb -> Int32? in
            blockSums.withUnsafeMutableBufferPointer { sums -> Int32? in
                guard let w = wb.baseAddress else { return nil }
                SamplingMath.weights(logits, max: m, into: w)
                var total = 0.0
                for b in 0..<blocks {
                    let start = b * block
                    let s = start + block <= n
                        ? SamplingMath.blockSum64(w + start)
                        : SamplingMath.sum(UnsafeBufferPointer(start: w + start, count: n - start))
                    sums[b] = s
                    total += s
                }
                let u = u01 * total
                var acc = 0.0
                var chosen = -1
                for b in 0..<blocks where sums[b] > 0 {
                    chosen = b
                    if u < acc + sums[b] { break }
                    acc += sums[b]
                }
                guard chosen >= 0 else { return nil }  // cannot happen: the maximum has weight 1
                var last = -1
                for i in chosen * block ..< min(chosen * block + block, n) where w[i] > 0 {
                    last = i
                    acc += Double(w[i])
                    if u < acc { return Int32(truncatingIfNeeded: i) }
                }
                return last >= 0 ? Int32(truncatingIfNeeded: last) : nil  // u rounded up past the block's sum
            }
        }
    }
}

extension DistributionSelector: CandidateAwareSelector {
    /// The same draw over the listed tokens (in id order), the weights summed one by one in f64.
    func selectCandidate(_ logits: UnsafeBufferPointer<Float>, ids: UnsafeBufferPointer<Int32>) -> Int32? {
        let m = candidateMax(logits, ids)
        guard m > -Float.infinity else { return nil }
        let u01 = rng.nextUnitDouble()
        if m == .infinity { return Self.pickInfinite(logits, ids.lazy.map { Int($0) }, u01) }
        var total = 0.0
        for id in ids { total += Double(SamplingMath.expNonPositive(logits[Int(id)] - m)) }
        let u = u01 * total
        var acc = 0.0
        var last: Int32? = nil
        for id in ids {
            let w = SamplingMath.expNonPositive(logits[Int(id)] - m)
            guard w > 0 else { continue }
            last = id
            acc += Double(w)
            if u < acc { return id }
        }
        return last  // u rounded up to the total
    }
}

