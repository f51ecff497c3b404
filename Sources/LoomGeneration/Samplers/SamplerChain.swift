import LoomCore

/// Picks the next token: logit processors in order, then a selector (greedy or a seeded draw).
///
/// The default chain (`init(_ params:)`) follows HF `generate()`: repetition penalty → frequency/presence
/// penalties → no-repeat-n-gram → [sampling only:] temperature → top-k → top-p → min-p → draw; with
/// temperature 0 the warpers are left out and the selector is greedy. Masked tokens are -inf.
///
/// The chain owns its processors and selector (they hold scratch memory and state); after warm-up,
/// `sample` allocates nothing. It is single-threaded: use one chain per sequence and call it from one
/// thread at a time (it is deliberately not `Sendable`).
///
/// Cost: one or a few vectorised passes over the vocabulary per sampler, no sort. After a top-k, top-p or
/// min-p that leaves at most 1/8 of the vocabulary, the built-in samplers that follow (and the draw) work
/// on the list of surviving ids only (Candidates.swift); the result is identical.
///
/// NaN logits count as masked: no built-in sampler selects them, and `probabilities` gives them 0.
///
/// Protocol: for each step call `sample(logits:history:)`, then `accept(token)` for the token the generator
/// commits (needed only by stateful processors; none of the built-in ones keeps history, they read
/// `history`). `reset()` before reusing the chain for a new sequence restores the seed.
public final class SamplerChain {
    public let processors: [any LogitProcessor]
    public let selector: any TokenSelector
    /// The parameters the chain was built from (nil for an explicitly composed chain).
    public let params: SamplingParams?
    /// The seed of the draw (nil when the selector is not a `DistributionSelector`).
    public var seed: UInt64? { (selector as? DistributionSelector)?.seed }

    /// The HF-ordered chain for `params`: logit bias → repetition penalty → frequency/presence
    /// penalties → no-repeat-n-gram → bad words → min-new-tokens (banning `endTokens`) → the caller's
    /// `userProcessors` → [sampling only:] temperature → top-k → top-p → min-p → typical-p → draw.
    /// - Throws: `LoomError.invalidArgument` for a parameter out of range.
    public init(_ params: SamplingParams, endTokens: [Int32] = [], userProcessors: [any LogitProcessor] = []) throws {
        try params.validate()
        var ps: [any LogitProcessor] = []
        if !params.logitBias.isEmpty { ps.append(try LogitBiasProcessor(params.logitBias)) }
        if params.repetitionPenalty != 1 {
            ps.append(try RepetitionPenaltyProcessor(penalty: params.repetitionPenalty, lastN: params.penaltyLastN))
        }
        if params.frequencyPenalty != 0 || params.presencePenalty != 0 {
            ps.append(try FrequencyPresencePenaltyProcessor(frequencyPenalty: params.frequencyPenalty,
                                                            presencePenalty: params.presencePenalty,
                                                            lastN: params.penaltyLastN))
        }
        if params.noRepeatNGramSize > 0 {
            ps.append(try NoRepeatNGramProcessor(size: params.noRepeatNGramSize))
        }
        if !params.badWords.isEmpty { ps.append(try BadWordsProcessor(params.badWords)) }
        if params.minNewTokens > 0 {
            ps.append(try MinNewTokensProcessor(minNewTokens: params.minNewTokens, endTokens: endTokens))
        }
        ps += userProcessors
        let sel: any TokenSelector
        if params.isGreedy {
            // Temperature, top-k, top-p and min-p never remove the argmax: greedy skips them (as HF does).
            sel = GreedySelector()
        } else {
            if params.temperature != 1 { ps.append(try TemperatureWarper(params.temperature)) }
            if params.topK > 0 { ps.append(try TopKWarper(params.topK)) }
            if params.topP < 1 { ps.append(try TopPWarper(params.topP)) }
            if params.minP > 0 { ps.append(try MinPWarper(params.minP)) }
            if params.typicalP < 1 { ps.append(try TypicalPWarper(params.typicalP)) }
            var system = SystemRandomNumberGenerator()
            sel = DistributionSelector(seed: params.seed ?? system.next())
        }
        self.processors = ps
        self.selector = sel
        self.params = params
        self.aware = ps.map { $0 as? any CandidateAwareProcessor }
        self.listing = aware.contains { $0?.truncates == true }
        self.candidateSelector = sel as? any CandidateAwareSelector
    }

    /// A chain of explicit samplers, applied in the given order.
    public init(processors: [any LogitProcessor], selector: any TokenSelector) {
        self.processors = processors
        self.selector = selector
        self.params = nil
        self.aware = processors.map { $0 as? any CandidateAwareProcessor }
        self.listing = aware.contains { $0?.truncates == true }
        self.candidateSelector = selector as? any CandidateAwareSelector
    }

    // The sparse path (Candidates.swift): the processors that know the candidate list, whether any of them
    // makes one, the selector's list variant, the candidate ids, and how many are valid after the last
    // `process` (nil: dense).
    private let aware: [(any CandidateAwareProcessor)?]
    private let listing: Bool
    private let candidateSelector: (any CandidateAwareSelector)?
    private var candidates: [Int32] = []
    private var candidateCount: Int?

    /// Runs the processors over `logits` in place.
    /// - Throws: `LoomError.invalidArgument` for an empty buffer or a prompt length outside the history.
    public func process(logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) throws {
        guard logits.count > 0 else { throw LoomError.invalidArgument("sampling needs at least one logit (the buffer is empty)") }
        guard logits.count <= Int(Int32.max) else {
            throw LoomError.invalidArgument("a vocabulary of \(logits.count) entries does not fit 32-bit token ids")
        }
        if let p = context.promptLength, p < 0 || p > context.history.count {
            throw LoomError.invalidArgument("prompt length \(p) is outside the history of \(context.history.count) tokens")
        }
        candidateCount = nil
        guard listing else {
            for p in processors { p.process(logits, context: context) }
            return
        }
        SamplingMath.ensureCapacity(&candidates, logits.count, 0)
        candidateCount = candidates.withUnsafeMutableBufferPointer { ids -> Int? in
            var listed: Int? = nil
            for (p, a) in zip(processors, aware) {
                guard let a else {
                    // Unknown to the list (a user's processor): dense, and the list is dropped.
                    p.process(logits, context: context)
                    listed = nil
                    continue
                }
                if var count = listed, a.candidateRole == .listed {
                    a.processCandidates(logits, ids: ids, count: &count, context: context)
                    listed = count
                } else {
                    p.process(logits, context: context)
                    if listed == nil && a.truncates { listed = collectCandidates(logits, ids: ids) }
                }
            }
            return listed
        }
    }

    /// The next token. `logits` (one per vocabulary entry) is used as scratch and left processed.
    /// - Throws: `LoomError.invalidArgument` for an empty buffer, or when every token has been masked
    ///   (all logits -inf or NaN), where HF's multinomial would fail too.
    public func sample(logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) throws -> Int32 {
        try process(logits: logits, context: context)
        let chosen: Int32?
        if let count = candidateCount, let s = candidateSelector {
            chosen = candidates.withUnsafeBufferPointer {
                s.selectCandidate(UnsafeBufferPointer(logits), ids: UnsafeBufferPointer(rebasing: $0[0..<count]))
            }
        } else {
            chosen = selector.select(UnsafeBufferPointer(logits))
        }
        guard let token = chosen else {
            throw LoomError.invalidArgument("no token left to sample: every logit is -inf or NaN after the samplers")
        }
        return token
    }

    /// The next token given the previous ids (prompt included, oldest first).
    public func sample(logits: UnsafeMutableBufferPointer<Float>, history: [Int32], promptLength: Int? = nil) throws -> Int32 {
        try history.withUnsafeBufferPointer {
            try sample(logits: logits, context: LogitContext(history: $0, promptLength: promptLength))
        }
    }

    /// Tells the processors which token the generator committed.
    public func accept(_ token: Int32) {
        for p in processors { p.accept(token) }
    }

    /// Back to the initial state: processors' state cleared, the draw's generator re-seeded.
    public func reset() {
        for p in processors { p.reset() }
        selector.reset()
    }

    /// softmax(processors(logits)) — the distribution the draw samples from (for tests and inspection;
    /// for a greedy chain, the distribution after the penalties). `logits` is left processed.
    /// - Throws: as `sample`.
    public func probabilities(logits: UnsafeMutableBufferPointer<Float>, history: [Int32], promptLength: Int? = nil) throws -> [Float] {
        try history.withUnsafeBufferPointer {
            try process(logits: logits, context: LogitContext(history: $0, promptLength: promptLength))
        }
        var out = [Float](repeating: 0, count: logits.count)
        let ok = out.withUnsafeMutableBufferPointer { SamplingMath.softmax(UnsafeBufferPointer(logits), into: $0) }
        guard ok else {
            throw LoomError.invalidArgument("no token left: every logit is -inf or NaN after the samplers")
        }
        return out
    }
}
