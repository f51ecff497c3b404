#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoomCore

/// HF `MinPLogitsWarper` (Nguyen et al., 2024): masks every token whose probability is below
/// `minP` × the probability of the most likely token, keeping at least `minTokensToKeep` of the most probable.
/// Since p_i / p_max = exp(x_i − x_max), the test is x_i − x_max < log(minP): one pass, no softmax, no sort.
public final class MinPWarper: LogitProcessor {
    public let minP: Double
    public let minTokensToKeep: Int
    private let logMinP: Float
    private var heap: [Float] = []

    /// - Throws: `LoomError.invalidArgument` unless 0 <= minP <= 1 and `minTokensToKeep >= 1`.
    public init(_ minP: Double, minTokensToKeep: Int = 1) throws {
        guard minP >= 0, minP <= 1 else {  // false for NaN
            throw LoomError.invalidArgument("min-p must be in [0, 1] (got \(minP)); 0 turns min-p off")
        }
        guard minTokensToKeep >= 1 else {
            throw LoomError.invalidArgument("min tokens to keep must be >= 1 (got \(minTokensToKeep))")
        }
        self.minP = minP
        self.minTokensToKeep = minTokensToKeep
        self.logMinP = Float(log(minP))  // -inf for 0: nothing is masked
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let n = logits.count
        let m = SamplingMath.maxLogit(UnsafeBufferPointer(logits))
        guard m > -Float.infinity, m < Float.infinity else { return }
        let lm = logMinP
        // With min_tokens_to_keep > 1 the tokens at or above the k-th largest logit also stay.
        var keepFrom = Float.infinity
        if minTokensToKeep > 1 {
            let k = min(minTokensToKeep, n)
            SamplingMath.ensureCapacity(&heap, min(k, n - k + 1), 0)
            keepFrom = heap.withUnsafeMutableBufferPointer { SamplingMath.kthLargest(UnsafeBufferPointer(logits), k, heap: $0) }
        }
        for i in 0..<n {
            let x = logits[i]
            logits[i] = x - m < lm ? (x < keepFrom ? -.infinity : x) : x
        }
    }
}

extension MinPWarper: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .listed }
    var truncates: Bool { minP > 0 }

    func processCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>,
                           count: inout Int, context: LogitContext) {
        guard minTokensToKeep == 1 else {
            // Keeping several needs the k-th largest logit: the dense pass computes it.
            process(logits, context: context)
            count = compactCandidates(logits, ids: ids, count: count)
            return
        }
        let m = candidateMax(UnsafeBufferPointer(logits), UnsafeBufferPointer(rebasing: ids[0..<count]))
        guard m > -Float.infinity, m < Float.infinity else { return }
        let lm = logMinP
        for j in 0..<count {
            let id = Int(ids[j])
            if logits[id] - m < lm { logits[id] = -.infinity }
        }
        count = compactCandidates(logits, ids: ids, count: count)
    }
}

