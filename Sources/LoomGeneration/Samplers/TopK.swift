import LoomCore

/// HF `TopKLogitsWarper`: keeps the `k` highest logits and masks the rest with -inf. As in HF (which
/// masks `logits < torch.topk(logits, k).values[-1]`), every token tied with the k-th value is kept, so
/// more than k tokens may survive. The k-th value is found by bounded-heap selection, not by sorting
/// the vocabulary.
public final class TopKWarper: LogitProcessor {
    public let k: Int
    private var heap: [Float] = []

    /// - Parameter minTokensToKeep: HF's `min_tokens_to_keep` (2 under beam search); k is raised to it.
    /// - Throws: `LoomError.invalidArgument` unless `k >= 1` and `minTokensToKeep >= 1`.
    public init(_ k: Int, minTokensToKeep: Int = 1) throws {
        guard k >= 1 else {
            throw LoomError.invalidArgument("top-k must be >= 1 (got \(k)); 0 turns top-k off")
        }
        guard minTokensToKeep >= 1 else {
            throw LoomError.invalidArgument("min tokens to keep must be >= 1 (got \(minTokensToKeep))")
        }
        self.k = max(k, minTokensToKeep)
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let n = logits.count
        let k = min(self.k, n)
        guard k >= 1, k < n else { return }  // k >= n keeps everything
        SamplingMath.ensureCapacity(&heap, min(k, n - k + 1), 0)
        let kth = heap.withUnsafeMutableBufferPointer { SamplingMath.kthLargest(UnsafeBufferPointer(logits), k, heap: $0) }
        SamplingMath.maskBelow(logits, kth)
    }
}

extension TopKWarper: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .preserving }  // only masks
    var truncates: Bool { true }
}
