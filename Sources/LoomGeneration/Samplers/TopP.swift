import LoomCore

/// HF `TopPLogitsWarper` (nucleus sampling, Holtzman et al., 2019). HF sorts the logits ascending, takes the
/// cumulative softmax and masks every token whose cumulative probability is <= 1 − top_p, keeping at least
/// `minTokensToKeep` of the most probable. Equivalently, walking down from the most probable token, a token is
/// kept while the probability mass from it downwards — total minus the mass above it — exceeds 1 − top_p.
///
/// That walk is computed without sorting the vocabulary:
/// 1. weights w = exp(x − max) and their total;
/// 2. a histogram of the weights' mass, 16 buckets per octave, over the tokens heavier than a floor
///    (a token of weight <= (1 − top_p) · total / n is removed for sure: everything at or below it in HF's
///    order weighs at most n times that);
/// 3. walking the buckets from the top finds the one where the cut falls: lighter buckets are masked, heavier
///    ones kept, and only that bucket's tokens are ordered, through a heap.
/// Sums are f64 (as torch's CPU cumsum); the comparison is in f32 against f32(1 − top_p), as torch compares.
public final class TopPWarper: LogitProcessor {
    public let p: Double
    public let minTokensToKeep: Int
    private let threshold: Float
    private var weights: [Float] = []
    private var mass = [Double](repeating: 0, count: TopPWarper.buckets)
    private var counts = [Int32](repeating: 0, count: TopPWarper.buckets)
    private var list: [Int32] = []

    /// Bucket b holds weights w in (0, 1] with (bits(1) − bits(w)) >> 19 == b: 16 buckets per octave.
    static let buckets = (0x3F80_0000 >> 19) + 1

    @inline(__always)
    static func bucket(_ w: Float) -> Int {
        Int((0x3F80_0000 &- min(w.bitPattern, 0x3F80_0000)) >> 19)
    }

    /// - Throws: `LoomError.invalidArgument` unless 0 < p <= 1 and `minTokensToKeep >= 1`.
    public init(_ p: Double, minTokensToKeep: Int = 1) throws {
        guard p > 0, p <= 1 else {  // false for NaN
            throw LoomError.invalidArgument("top-p must be in (0, 1] (got \(p)); 1 turns top-p off")
        }
        guard minTokensToKeep >= 1 else {
            throw LoomError.invalidArgument("min tokens to keep must be >= 1 (got \(minTokensToKeep))")
        }
        self.p = p
        self.minTokensToKeep = minTokensToKeep
        self.threshold = Float(1 - p)
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let n = logits.count
        guard n > 0 else { return }
        let m = SamplingMath.maxLogit(UnsafeBufferPointer(logits))
        guard m > -Float.infinity else { return }
        if m == .infinity {
            // Only the +inf logits have probability (equal shares): keep them all.
            for i in 0..<n where logits[i] != .infinity { logits[i] = -.infinity }
            return
        }
        SamplingMath.ensureCapacity(&weights, n, 0)
        SamplingMath.ensureCapacity(&list, n, 0)
        let threshold = self.threshold, minKeep = self.minTokensToKeep
        weights.withUnsafeMutableBufferPointer { w in
            mass.withUnsafeMutableBufferPointer { mass in
                counts.withUnsafeMutableBufferPointer { counts in
                    list.withUnsafeMutableBufferPointer { list in
                        Self.cut(logits, max: m, threshold: threshold, minKeep: minKeep,
                                 w: UnsafeMutableBufferPointer(rebasing: w[0..<n]), mass: mass, counts: counts, list: list)
                    }
                }
            }
        }
    }

    private static func cut(_ logits: UnsafeMutableBufferPointer<Float>, max m: Float, threshold: Float, minKeep: Int,
                            w: UnsafeMutableBufferPointer<Float>, mass: UnsafeMutableBufferPointer<Double>,
                            counts: UnsafeMutableBufferPointer<Int32>, list: UnsafeMutableBufferPointer<Int32>) {
        let n = logits.count
        guard let wp = w.baseAddress else { return }
        // 1. Weights (0 for masked tokens and below FLT_MIN: HF masks those too, their cumulative
        //    probability being 0 <= 1 − top_p) and their total.
        SamplingMath.weights(UnsafeBufferPointer(logits), max: m, into: wp)
        let total = SamplingMath.sum(UnsafeBufferPointer(w))
        let inv = 1 / total
        @inline(__always) func removed(_ massAbove: Double) -> Bool { Float((total - massAbove) * inv) <= threshold }

        // 2. Histogram of the tokens above the floor (no floor when min_tokens_to_keep > 1).
        for b in 0..<mass.count { mass[b] = 0; counts[b] = 0 }
        let floor: Float = minKeep == 1 ? Float(Double(threshold) * total / Double(n) * (1 - 1e-5)) : 0
        var i = 0
        while i < n {
            let count = min(SamplingMath.block, n - i)
            if SamplingMath.maxOf(wp + i, count) > floor {
                for j in i..<(i + count) where w[j] > floor {
                    let b = bucket(w[j])
                    mass[b] += Double(w[j])
                    counts[b] &+= 1
                }
            }
            i += count
        }

        // 3. The cut bucket: the first after which the next token would be removed.
        var above = 0.0, keptAbove = 0, cut = -1
        for b in 0..<mass.count where counts[b] > 0 {
            if removed(above + mass[b]) { cut = b; break }
            above += mass[b]
            keptAbove += Int(counts[b])
        }
        var c = 0
        if cut < 0 || keptAbove + Int(counts[cut]) >= minKeep {
            // Tokens of weight <= wLow go: those below the cut bucket (or, with no cut, at or below the floor);
            // the cut bucket's tokens, of weight in (wLow, wHigh], are listed to be ordered.
            var wLow = floor, wHigh = floor
            if cut >= 0 {
                wLow = Float(bitPattern: UInt32(max(0, 0x3F80_0000 - ((cut + 1) << 19))))
                wHigh = Float(bitPattern: UInt32(0x3F80_0000 - (cut << 19)))
            }
            for j in 0..<n {
                let x = logits[j]
                logits[j] = w[j] <= wLow ? -.infinity : x
            }
            i = 0
            while i < n {
                let count = min(SamplingMath.block, n - i)
                if SamplingMath.maxOf(wp + i, count) > wLow {
                    for j in i..<(i + count) where w[j] > wLow && w[j] <= wHigh {
                        list[c] = Int32(truncatingIfNeeded: j)
                        c += 1
                    }
                }
                i += count
            }
        } else {
            // min_tokens_to_keep reaches past the cut bucket: order every token of non-zero weight.
            above = 0
            keptAbove = 0
            for j in 0..<n {
                if w[j] > 0 { list[c] = Int32(truncatingIfNeeded: j); c += 1 } else { logits[j] = -.infinity }
            }
        }
        walk(logits, list: list, count: c, w: w, total: total, massAbove: above, kept: keptAbove,
             minKeep: minKeep, threshold: threshold)
    }

    /// HF's rule over the tokens `list[0..<count]`, taken from the heaviest (ties: lower id first) with
    /// `massAbove` weight and `kept` tokens above them: a token stays while fewer than `minKeep` are kept or
    /// while the mass from it downwards, (total − mass above) / total, is above 1 − top_p. The rest are masked.
    private static func walk(_ logits: UnsafeMutableBufferPointer<Float>, list: UnsafeMutableBufferPointer<Int32>,
                             count c: Int, w: UnsafeMutableBufferPointer<Float>, total: Double, massAbove: Double,
                             kept: Int, minKeep: Int, threshold: Float) {
        let inv = 1 / total
        var count = c
        var s = count / 2
        while s > 0 { s -= 1; siftDown(list, count, s, w) }
        var massAbove = massAbove, kept = kept
        while count > 0 {
            let top = Int(list[0])
            if kept >= minKeep && Float((total - massAbove) * inv) <= threshold { break }
            massAbove += Double(w[top])
            kept += 1
            count -= 1
            list[0] = list[count]
            if count > 0 { siftDown(list, count, 0, w) }
        }
        for j in 0..<count { logits[Int(list[j])] = -.infinity }
    }

    /// Max-heap of token ids by weight, ties by lower id.
    @inline(__always)
    private static func siftDown(_ h: UnsafeMutableBufferPointer<Int32>, _ count: Int, _ start: Int,
                                 _ w: UnsafeMutableBufferPointer<Float>) {
        @inline(__always) func above(_ a: Int32, _ b: Int32) -> Bool {
            let wa = w[Int(a)], wb = w[Int(b)]
            return wa > wb || (wa == wb && a < b)
        }
        var i = start
        let v = h[i]
        while true {
            var ch = 2 * i + 1
            if ch >= count { break }
            if ch + 1 < count && above(h[ch + 1], h[ch]) { ch += 1 }
            if !above(h[ch], v) { break }
            h[i] = h[ch]
            i = ch
        }
        h[i] = v
    }
}

extension TopPWarper: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .listed }
    var truncates: Bool { true }

    /// The same walk over the listed tokens only: weights for them, then a heap over all of them.
    func processCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>,
                           count: inout Int, context: LogitContext) {
        let n = logits.count, c0 = count
        let m = candidateMax(UnsafeBufferPointer(logits), UnsafeBufferPointer(rebasing: ids[0..<c0]))
        guard m > -Float.infinity else { return }
        if m == .infinity {
            for j in 0..<c0 where logits[Int(ids[j])] != .infinity { logits[Int(ids[j])] = -.infinity }
            count = compactCandidates(logits, ids: ids, count: c0)
            return
        }
        SamplingMath.ensureCapacity(&weights, n, 0)
        SamplingMath.ensureCapacity(&list, n, 0)
        let threshold = self.threshold, minKeep = self.minTokensToKeep
        weights.withUnsafeMutableBufferPointer { w in
            list.withUnsafeMutableBufferPointer { list in
                var total = 0.0
                var c = 0
                for j in 0..<c0 {
                    let id = Int(ids[j])
                    let e = SamplingMath.expNonPositive(logits[id] - m)
                    w[id] = e
                    total += Double(e)
                    if e > 0 { list[c] = ids[j]; c += 1 } else { logits[id] = -.infinity }
                }
                Self.walk(logits, list: list, count: c, w: w, total: total, massAbove: 0, kept: 0,
                          minKeep: minKeep, threshold: threshold)
            }
        }
        count = compactCandidates(logits, ids: ids, count: c0)
    }
}

