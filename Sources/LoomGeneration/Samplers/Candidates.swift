// The chain's sparse path (internal): after a top-k, top-p or min-p that leaves few tokens (at most 1/8 of the
// vocabulary), the chain keeps their ids in a list, and the built-in samplers that follow — and the final
// draw or argmax — work on that list instead of scanning the whole vocabulary.
// The dense logits buffer stays authoritative — every sampler also writes -inf there for what it removes —
// so any other processor, `probabilities` and the caller see the same result as on the dense path.
//
// List invariants: ids in increasing order; every token NOT listed has a -inf logit (or NaN); a listed token
// may have become -inf (it then counts as removed).

/// How a built-in sampler relates to the candidate list.
enum CandidateRole {
    /// Never raises a masked token, so the list stays valid; on a list it runs densely (cheap for the
    /// penalties, which touch only the history's ids).
    case preserving
    /// Has a list variant (`processCandidates`).
    case listed
}

protocol CandidateAwareProcessor: LogitProcessor {
    var candidateRole: CandidateRole { get }
    /// True for samplers that usually leave few tokens (top-k, top-p, min-p): after their dense pass the
    /// chain collects the survivors into the list.
    var truncates: Bool { get }
    /// Processes only `ids[0..<count]` and compacts the list to the survivors (order kept), masking the
    /// others in `logits`. Only called for `.listed`.
    func processCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>,
                           count: inout Int, context: LogitContext)
}

extension CandidateAwareProcessor {
    var truncates: Bool { false }

    func processCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>,
                           count: inout Int, context: LogitContext) {
        process(logits, context: context)
        count = compactCandidates(logits, ids: ids, count: count)
    }
}

protocol CandidateAwareSelector: TokenSelector {
    /// `select` over the listed tokens only (the others are masked).
    func selectCandidate(_ logits: UnsafeBufferPointer<Float>, ids: UnsafeBufferPointer<Int32>) -> Int32?
}

/// Drops listed ids whose logit is no longer above -inf; returns the new count.
@inline(__always)
func compactCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>, count: Int) -> Int {
    var c = 0
    for j in 0..<count {
        let id = ids[j]
        if logits[Int(id)] > -Float.infinity { ids[c] = id; c += 1 }
    }
    return c
}

/// The ids of the tokens above -inf, in increasing order, into `ids` (room for the vocabulary); nil when
/// they are more than 1/8 of the vocabulary (the dense path is then as good). Blocks of 64 masked tokens
/// cost only their maximum.
func collectCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>) -> Int? {
    let n = logits.count
    guard let p = logits.baseAddress else { return nil }
    var c = 0
    var i = 0
    while i < n {
        let count = min(SamplingMath.block, n - i)
        if SamplingMath.maxOf(p + i, count) > -Float.infinity {
            for j in i..<(i + count) where p[j] > -Float.infinity {
                ids[c] = Int32(truncatingIfNeeded: j)
                c += 1
            }
            if c * 8 > n { return nil }
        }
        i += count
    }
    return c
}

/// The largest listed logit (NaN ignored), or -inf.
@inline(__always)
func candidateMax(_ logits: UnsafeBufferPointer<Float>, _ ids: UnsafeBufferPointer<Int32>) -> Float {
    var m = -Float.infinity
    for id in ids where logits[Int(id)] > m { m = logits[Int(id)] }
    return m
}

extension RepetitionPenaltyProcessor: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .preserving }  // x < 0 ? x·p : x/p keeps -inf at -inf
}

extension FrequencyPresencePenaltyProcessor: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .preserving }  // -inf minus a finite number stays -inf
}

extension NoRepeatNGramProcessor: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .preserving }  // only masks
}

extension TemperatureWarper: CandidateAwareProcessor {
    var candidateRole: CandidateRole { .listed }
    func processCandidates(_ logits: UnsafeMutableBufferPointer<Float>, ids: UnsafeMutableBufferPointer<Int32>,
                           count: inout Int, context: LogitContext) {
        let t = Float(temperature)
        for j in 0..<count { logits[Int(ids[j])] /= t }
    }
}

extension GreedySelector: CandidateAwareSelector {
    func selectCandidate(_ logits: UnsafeBufferPointer<Float>, ids: UnsafeBufferPointer<Int32>) -> Int32? {
        let m = candidateMax(logits, ids)
        guard m > -Float.infinity else { return nil }
        for id in ids where logits[Int(id)] == m { return id }  // ids ascend: the lowest id wins ties
        return nil
    }
}
