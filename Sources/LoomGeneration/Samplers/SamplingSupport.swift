#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small numeric helpers shared by the samplers (internal; namespaced so they cannot clash with
/// other files of the module).
///
/// The vocabulary-wide passes are plain scalar loops written so that LLVM vectorises them in release
/// builds (element-wise selects, several independent accumulators) — Swift's SIMD types would be
/// ~100× slower in debug builds, where the tests run.
enum SamplingMath {
    /// Tokens per block in the block-skipping scans.
    static let block = 64

    /// The largest non-NaN value of the 64 floats at `p` (-inf when there is none); vectorises.
    @inline(__always)
    static func blockMax64(_ p: UnsafePointer<Float>) -> Float {
        var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0, m7 = m0
        var j = 0
        while j < 64 {
            // `x > m ? x : m` never takes a NaN.
            m0 = p[j] > m0 ? p[j] : m0
            m1 = p[j + 1] > m1 ? p[j + 1] : m1
            m2 = p[j + 2] > m2 ? p[j + 2] : m2
            m3 = p[j + 3] > m3 ? p[j + 3] : m3
            m4 = p[j + 4] > m4 ? p[j + 4] : m4
            m5 = p[j + 5] > m5 ? p[j + 5] : m5
            m6 = p[j + 6] > m6 ? p[j + 6] : m6
            m7 = p[j + 7] > m7 ? p[j + 7] : m7
            j += 8
        }
        return Swift.max(Swift.max(Swift.max(m0, m1), Swift.max(m2, m3)), Swift.max(Swift.max(m4, m5), Swift.max(m6, m7)))
    }

    /// The largest non-NaN value of `count` floats at `p`, or -inf when there is none.
    @inline(__always)
    static func maxOf(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        if count == 64 { return blockMax64(p) }
        var m = -Float.infinity
        for j in 0..<count where p[j] > m { m = p[j] }
        return m
    }

    /// The largest non-NaN value, or -inf when there is none.
    static func maxLogit(_ values: UnsafeBufferPointer<Float>) -> Float {
        guard let p = values.baseAddress else { return -.infinity }
        let n = values.count
        var m = -Float.infinity
        var i = 0
        while i + 64 <= n {
            let b = blockMax64(p + i)
            m = b > m ? b : m
            i += 64
        }
        let t = maxOf(p + i, n - i)
        return t > m ? t : m
    }

    /// Σ values in f64, through eight f32 partial sums per block of 64 (the error of a 64-term f32 sum).
    static func sum(_ values: UnsafeBufferPointer<Float>) -> Double {
        let n = values.count
        guard let p = values.baseAddress else { return 0 }
        var total = 0.0
        var i = 0
        while i + 64 <= n {
            total += blockSum64(p + i)
            i += 64
        }
        while i < n { total += Double(p[i]); i += 1 }
        return total
    }

    /// The sum of 64 floats at `p`, as `sum` adds it.
    @inline(__always)
    static func blockSum64(_ p: UnsafePointer<Float>) -> Double {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
        var j = 0
        while j < 64 {
            s0 += p[j]; s1 += p[j + 1]; s2 += p[j + 2]; s3 += p[j + 3]
            s4 += p[j + 4]; s5 += p[j + 5]; s6 += p[j + 6]; s7 += p[j + 7]
            j += 8
        }
        return Double(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
    }

    /// The first index holding `value` (the maximum of `values`), or nil: blocks whose maximum is lower are skipped.
    static func firstIndex(ofMax value: Float, in values: UnsafeBufferPointer<Float>) -> Int? {
        guard let p = values.baseAddress else { return nil }
        let n = values.count
        var i = 0
        while i + 64 <= n && blockMax64(p + i) < value { i += 64 }
        while i < n {
            if p[i] == value { return i }
            i += 1
        }
        return nil
    }

    /// Masks (sets to -inf) every value below `threshold`, in place.
    static func maskBelow(_ values: UnsafeMutableBufferPointer<Float>, _ threshold: Float) {
        for i in 0..<values.count {
            let x = values[i]
            values[i] = x < threshold ? -.infinity : x
        }
    }

    static let expLow: Float = -87.33654  // exp(expLow) ≈ FLT_MIN; below, 0

    /// exp(d) for d <= 0 (d = logit − max): Cephes' expf (range reduction by ln 2 in two parts, degree-5
    /// polynomial; within 2 ulp of libm's expf) without a libm call, so that loops over it vectorise.
    /// d below FLT_MIN's logarithm, -inf and NaN give 0; exp(0) is exactly 1; d > 0 is treated as 0.
    @inline(__always)
    static func expNonPositive(_ d: Float) -> Float {
        let ok = d >= expLow                 // false for NaN
        var v = ok ? d : expLow
        v = v > 0 ? 0 : v
        let magic: Float = 12_582_912        // 1.5 · 2^23: adding it rounds to an integer
        let t = v * 1.442_695_04 + magic
        let n = t - magic                    // round(v / ln 2), in [-126, 0]
        var r = v - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var q: Float = 1.987_569_15e-4
        q = q * r + 1.398_199_95e-3
        q = q * r + 8.333_451_9e-3
        q = q * r + 4.166_579_59e-2
        q = q * r + 1.666_666_55e-1
        q = q * r + 5.000_000_12e-1
        let y = q * (r * r) + r + 1
        // 2^n from the integer that the magic addition left in t's low mantissa bits.
        let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return ok ? y * scale : 0
    }

    /// out[i] = exp(x[i] − m) for every i (see `expNonPositive`): the unnormalised softmax weights.
    /// Blocks of 64 whose every weight is 0 (masked, e.g. after a top-k) cost only their maximum.
    static func weights(_ x: UnsafeBufferPointer<Float>, max m: Float, into out: UnsafeMutablePointer<Float>) {
        guard let p = x.baseAddress else { return }
        let n = x.count
        var i = 0
        while i < n {
            let count = Swift.min(64, n - i)
            if maxOf(p + i, count) - m >= expLow {
                for j in i..<(i + count) { out[j] = expNonPositive(p[j] - m) }
            } else {
                for j in i..<(i + count) { out[j] = 0 }
            }
            i += count
        }
    }

    /// The history entries a penalty looks at: the whole history, or its last `lastN` entries when
    /// `lastN > 0`, leaving out the prompt when `includePrompt` is false and the prompt length is known.
    @inline(__always)
    static func penaltyWindow(_ context: LogitContext, lastN: Int, includePrompt: Bool) -> UnsafeBufferPointer<Int32> {
        let h = context.history
        var start = 0
        if !includePrompt, let p = context.promptLength { start = min(max(p, 0), h.count) }
        if lastN > 0 { start = max(start, h.count - lastN) }
        return UnsafeBufferPointer(rebasing: h[start...])
    }

    /// Grows a scratch array to at least `count` elements (allocates only when it grows).
    @inline(__always)
    static func ensureCapacity<T>(_ a: inout [T], _ count: Int, _ zero: T) {
        if a.count < count { a = [T](repeating: zero, count: count) }
    }

    /// The `k`-th largest value of `values` (1-based; NaN counts as -inf), as `torch.topk(values, k)[0][-1]`.
    /// A bounded heap of min(k, n-k+1) entries: O(n log min(k, n-k+1)) without sorting the whole vocabulary
    /// (most values fail the one comparison with the heap's root). `heap` must hold at least
    /// min(k, n-k+1) floats. Requires 1 <= k <= values.count.
    static func kthLargest(_ values: UnsafeBufferPointer<Float>, _ k: Int, heap: UnsafeMutableBufferPointer<Float>) -> Float {
        let n = values.count
        let m = n - k + 1
        // Keep the k largest in a min-heap (root = k-th largest) or, when that is smaller, the m smallest in a
        // max-heap (root = m-th smallest = k-th largest) — the latter as a min-heap over negated keys.
        return k <= m ? selectLargest(values, k, heap, negate: false) : -selectLargest(values, m, heap, negate: true)
    }

    /// The `size`-th largest key, key(x) = x (or −x when `negate`), NaN taken as -inf before negation.
    @inline(__always)
    private static func selectLargest(_ values: UnsafeBufferPointer<Float>, _ size: Int,
                                      _ heap: UnsafeMutableBufferPointer<Float>, negate: Bool) -> Float {
        @inline(__always) func key(_ x: Float) -> Float {
            let v = x.isNaN ? -Float.infinity : x
            return negate ? -v : v
        }
        for i in 0..<size { heap[i] = key(values[i]) }
        var s = size / 2
        while s > 0 { s -= 1; siftDownMin(heap, size, s) }
        var root = heap[0]
        guard let p = values.baseAddress else { return root }
        let n = values.count
        var j = size
        while j < n {
            // Without negation, a block of 64 whose maximum does not beat the root is skipped whole.
            if !negate && j % 64 == 0 && j + 64 <= n && !(blockMax64(p + j) > root) { j += 64; continue }
            let v = key(p[j])
            if v > root {
                heap[0] = v
                siftDownMin(heap, size, 0)
                root = heap[0]
            }
            j += 1
        }
        return root
    }

    @inline(__always)
    private static func siftDownMin(_ h: UnsafeMutableBufferPointer<Float>, _ count: Int, _ start: Int) {
        var i = start
        let v = h[i]
        while true {
            var c = 2 * i + 1
            if c >= count { break }
            if c + 1 < count && h[c + 1] < h[c] { c += 1 }
            if !(h[c] < v) { break }
            h[i] = h[c]
            i = c
        }
        h[i] = v
    }

    /// Softmax of `logits` into `out` (same length): exp(x − max) with libm's expf, the sum in f64.
    /// Entries that are -inf or NaN get 0; several +inf share the mass equally. Returns false when no entry
    /// has weight. (Not on the sampling path: for `SamplerChain.probabilities`.)
    static func softmax(_ logits: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        let m = maxLogit(logits)
        guard m > -Float.infinity else { return false }
        var sum = 0.0
        for i in 0..<logits.count {
            let x = logits[i]
            let e: Float = x == m ? 1 : (x > -Float.infinity ? expf(x - m) : 0)  // NaN > -inf is false
            out[i] = e
            sum += Double(e)
        }
        let inv = 1.0 / sum
        for i in 0..<out.count { out[i] = Float(Double(out[i]) * inv) }
        return true
    }
}
