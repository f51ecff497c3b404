/// Greedy decoding: the token with the highest logit; ties go to the lowest id, as `torch.argmax`.
/// NaN logits are ignored. Returns nil when every logit is -inf or NaN.
public final class GreedySelector: TokenSelector {
    public init() {}

    public func select(_ logits: UnsafeBufferPointer<Float>) -> Int32? {
        let m = SamplingMath.maxLogit(logits)
        guard m > -Float.infinity else { return nil }
        return SamplingMath.firstIndex(ofMax: m, in: logits).map { Int32(truncatingIfNeeded: $0) }
    }
}
