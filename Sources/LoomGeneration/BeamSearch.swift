#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoomCore

/// When beam search stops, as HF's `early_stopping`.
public enum BeamEarlyStopping: Int32, Sendable {
    /// HF `False`: stop once `numBeams` hypotheses are finished and the best running beam, scored at its
    /// current length, cannot beat the worst of them.
    case heuristic = 0
    /// HF `True`: stop as soon as `numBeams` hypotheses are finished.
    case always = 1
    /// HF `"never"`: stop only when no running beam can improve, judged at the maximum length.
    case never = 2
}

/// A finished beam: the generated tokens (ending with the end token when `endedAtEnd`) and its score,
/// the sum of the token log-probabilities divided by (generated length)^lengthPenalty.
public struct BeamHypothesis: Sendable, Equatable {
    public var tokens: [Int32]
    public var score: Float
    public var endedAtEnd: Bool
}

/// Beam search with HF `generate(num_beams=k, do_sample=False)` semantics (transformers 4.5x/5.x):
/// per step each running beam's log-softmax goes through the logit processors and is added to the
/// beam's score; the best max(2, 1 + #end tokens)·k continuations are ranked; those among the first k
/// that end (an end token or the length limit) become hypotheses scored score / length^penalty (the
/// best k are kept); the best k that do not end run on. Beams live in session slots 0..<k; a beam that
/// continues from an already claimed slot gets a copy of that slot's cache.
public enum BeamSearch {
    /// `prompt` starts slot 0; `history` is what the processors see before the generated tokens
    /// (HF's input_ids: the prompt for a decoder-only model, the decoder start token for T5).
    public static func run(session: DecoderSession, prompt: [Int32], history promptHistory: [Int32],
                           numBeams k: Int, maxNewTokens: Int,
                           lengthPenalty: Double, earlyStopping: BeamEarlyStopping,
                           processors chain: SamplerChain) throws -> [BeamHypothesis] {
        guard k >= 1, k <= session.slotCount else {
            throw LoomError.invalidArgument("num_beams \(k) needs as many sequences; this context holds \(session.slotCount) (n_seq_max)")
        }
        guard lengthPenalty.isFinite else { throw LoomError.invalidArgument("length_penalty must be finite (got \(lengthPenalty))") }
        let vocab = session.vocabSize
        let endSet = Set(session.endTokens)
        let keep = max(2, 1 + endSet.count) * k
        guard !prompt.isEmpty else { throw LoomError.invalidArgument("the prompt has no tokens") }
        // The length limit: max new tokens and the slot capacity.
        let room = session.capacity - prompt.count
        let limit = maxNewTokens > 0 ? min(maxNewTokens, room) : room
        guard limit > 0 else { return [] }

        var logits: [Float] = []
        try session.start([(slot: 0, prompt: prompt)], logits: &logits)
        // Beam b reads logits row rows[b]; before the first step only beam 0 is real (HF gives the
        // others a score of -1e9 over the same row).
        var tokens: [[Int32]] = Array(repeating: [], count: k)
        var scores: [Float] = [0] + Array(repeating: -1e9, count: k - 1)
        var slots: [Int] = Array(repeating: 0, count: k)
        var rows: [Int] = Array(repeating: 0, count: k)
        var finished: [BeamHypothesis] = []
        var logProbs = [Float](repeating: 0, count: vocab)
        var history: [Int32] = []

        while true {
            let generated = tokens[0].count + 1          // generated length after this step
            // Candidates: (score, beam, token), best first; ties to the lower flat index as torch.topk.
            var best: [(score: Float, beam: Int, token: Int32)] = []
            best.reserveCapacity(keep + 1)
            for b in 0..<k {
                let row = rows[b]
                logits.withUnsafeBufferPointer { src in
                    logProbs.withUnsafeMutableBufferPointer { dst in logSoftmax(src.baseAddress! + row * vocab, dst) }
                }
                history = promptHistory + tokens[b]
                try logProbs.withUnsafeMutableBufferPointer { lp in
                    try history.withUnsafeBufferPointer {
                        try chain.process(logits: lp, context: LogitContext(history: $0, promptLength: promptHistory.count))
                    }
                }
                let base = scores[b]
                for v in 0..<vocab {
                    let s = logProbs[v] + base
                    guard !s.isNaN, s > -.infinity else { continue }
                    if best.count == keep, let last = best.last, !(s > last.score) { continue }
                    var i = best.count
                    while i > 0, s > best[i - 1].score { i -= 1 }
                    best.insert((s, b, Int32(v)), at: i)
                    if best.count > keep { best.removeLast() }
                }
            }
            guard !best.isEmpty else { break }
            let atLimit = generated >= limit
            let full = finished.count == k
            var next: [(score: Float, beam: Int, token: Int32)] = []
            let norm = Float(pow(Double(generated), lengthPenalty))
            for (rank, c) in best.enumerated() {
                let isEnd = endSet.contains(c.token)
                if isEnd || atLimit {
                    if rank < k && !(full && earlyStopping == .always) {
                        finished.append(BeamHypothesis(tokens: tokens[c.beam] + [c.token], score: c.score / norm,
                                                       endedAtEnd: isEnd))
                    }
                } else if next.count < k {
                    next.append(c)
                }
            }
            finished.sort { $0.score > $1.score }
            if finished.count > k { finished.removeLast(finished.count - k) }
            if atLimit || next.isEmpty { break }
            if finished.count == k {
                // HF stops when no running beam can beat the worst kept hypothesis.
                let worst = finished[k - 1].score
                let canImprove: Bool
                switch earlyStopping {
                case .always:
                    canImprove = false
                case .heuristic:
                    canImprove = next[0].score / norm > worst
                case .never:
                    let length = lengthPenalty > 0 ? limit : generated
                    canImprove = next[0].score / Float(pow(Double(length), lengthPenalty)) > worst
                }
                if !canImprove { break }
            }
            // Slots: a beam keeps its source's slot if no earlier beam took it, else gets a copy in a free one.
            let sourceSlots = next.map { slots[$0.beam] }
            var claimed = Set<Int>()
            var newSlots = [Int](repeating: -1, count: next.count)
            for (j, s) in sourceSlots.enumerated() where !claimed.contains(s) {
                newSlots[j] = s
                claimed.insert(s)
            }
            var free = (0..<k).filter { !claimed.contains($0) }.reversed().map { $0 }
            for j in 0..<next.count where newSlots[j] < 0 {
                guard let slot = free.popLast() else { throw LoomError(.internal, "beam search ran out of slots") }
                try session.copySlot(from: sourceSlots[j], to: slot)
                newSlots[j] = slot
            }
            tokens = next.map { tokens[$0.beam] + [$0.token] }
            scores = next.map(\.score)
            slots = newSlots
            rows = Array(0..<next.count)
            try session.step(next.enumerated().map { (slot: newSlots[$0.offset], token: $0.element.token) }, logits: &logits)
            if tokens.count < k {
                // Fewer continuations than beams (a tiny vocabulary): the missing beams are dead.
                let missing = k - tokens.count
                tokens += Array(repeating: [], count: missing)
                scores += Array(repeating: -.infinity, count: missing)
                slots += Array(repeating: 0, count: missing)
                rows += Array(repeating: 0, count: missing)
            }
        }
        return finished
    }

    /// out = log_softmax(x) over out.count entries (f32 as torch; -inf stays -inf).
    static func logSoftmax(_ x: UnsafePointer<Float>, _ out: UnsafeMutableBufferPointer<Float>) {
        let n = out.count
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        guard m.isFinite else {
            for i in 0..<n { out[i] = -.infinity }
            return
        }
        var sum: Float = 0
        for i in 0..<n { sum += expf(x[i] - m) }
        let logZ = m + logf(sum)
        for i in 0..<n { out[i] = x[i] - logZ }
    }
}
