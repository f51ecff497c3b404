import LoomCore

/// HF `RepetitionPenaltyLogitsProcessor` (Keskar et al., 2019, CTRL): every token id that occurs in the
/// history — prompt included, as HF does for decoder-only models — is penalised once, however often it
/// occurs: a negative logit is multiplied by the penalty, any other divided by it (f32 arithmetic, as torch).
/// A penalty above 1 discourages repetition; between 0 and 1 encourages it.
///
/// Options beyond HF's defaults: `lastN > 0` looks only at the last `lastN` history entries (llama.cpp's
/// `penalty_last_n`; 0 or -1 mean the whole history), and `includePrompt: false` leaves out the prompt
/// (HF's `prompt_ignore_length`) when the context carries its length.
public final class RepetitionPenaltyProcessor: LogitProcessor {
    public let penalty: Double
    public let lastN: Int
    public let includePrompt: Bool
    private let p: Float
    private var seen: [Bool] = []

    /// - Throws: `LoomError.invalidArgument` unless `penalty` is finite and > 0 and `lastN >= -1`.
    public init(penalty: Double, lastN: Int = -1, includePrompt: Bool = true) throws {
        guard penalty.isFinite, penalty > 0, Float(penalty) > 0, Float(penalty).isFinite else {
            throw LoomError.invalidArgument("repetition penalty must be a finite number > 0 (got \(penalty)); 1 means no penalty")
        }
        guard lastN >= -1 else {
            throw LoomError.invalidArgument("penalty window must be -1 or 0 (whole history) or a positive count (got \(lastN))")
        }
        self.penalty = penalty
        self.lastN = lastN
        self.includePrompt = includePrompt
        self.p = Float(penalty)
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let window = SamplingMath.penaltyWindow(context, lastN: lastN, includePrompt: includePrompt)
        if window.isEmpty { return }
        let n = logits.count
        let p = self.p
        SamplingMath.ensureCapacity(&seen, n, false)
        seen.withUnsafeMutableBufferPointer { seen in
            for id32 in window {
                let id = Int(id32)
                guard id >= 0, id < n, !seen[id] else { continue }
                seen[id] = true
                let x = logits[id]
                logits[id] = x < 0 ? x * p : x / p
            }
            for id32 in window {
                let id = Int(id32)
                if id >= 0, id < n { seen[id] = false }
            }
        }
    }
}
