import LoomCore

/// Frequency and presence penalties with OpenAI's and llama.cpp's formula: a token that occurs `c > 0`
/// times in the history has `c · frequencyPenalty + presencePenalty` subtracted from its logit.
/// Positive values discourage repetition, negative ones encourage it.
///
/// Which tokens count: the whole history (prompt included, as llama.cpp's server feeds the prompt to its
/// sampler) or its last `lastN` entries when `lastN > 0`. With `includePrompt: false` and a known prompt
/// length only generated tokens count, as in OpenAI's API and vLLM.
public final class FrequencyPresencePenaltyProcessor: LogitProcessor {
    public let frequencyPenalty: Double
    public let presencePenalty: Double
    public let lastN: Int
    public let includePrompt: Bool
    private let freq: Float
    private let presence: Float
    private var counts: [Int32] = []

    /// - Throws: `LoomError.invalidArgument` when a penalty is not finite or `lastN < -1`.
    public init(frequencyPenalty: Double, presencePenalty: Double, lastN: Int = -1, includePrompt: Bool = true) throws {
        guard frequencyPenalty.isFinite, Float(frequencyPenalty).isFinite else {
            throw LoomError.invalidArgument("frequency penalty must be a finite number (got \(frequencyPenalty))")
        }
        guard presencePenalty.isFinite, Float(presencePenalty).isFinite else {
            throw LoomError.invalidArgument("presence penalty must be a finite number (got \(presencePenalty))")
        }
        guard lastN >= -1 else {
            throw LoomError.invalidArgument("penalty window must be -1 or 0 (whole history) or a positive count (got \(lastN))")
        }
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.lastN = lastN
        self.includePrompt = includePrompt
        self.freq = Float(frequencyPenalty)
        self.presence = Float(presencePenalty)
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let window = SamplingMath.penaltyWindow(context, lastN: lastN, includePrompt: includePrompt)
        if window.isEmpty { return }
        let n = logits.count
        let freq = self.freq, presence = self.presence
        SamplingMath.ensureCapacity(&counts, n, 0)
        counts.withUnsafeMutableBufferPointer { counts in
            for id32 in window {
                let id = Int(id32)
                if id >= 0, id < n { counts[id] &+= 1 }
            }
            // Second pass: apply once per distinct id and clear its count for the next call.
            for id32 in window {
                let id = Int(id32)
                guard id >= 0, id < n else { continue }
                let c = counts[id]
                if c > 0 {
                    logits[id] -= Float(c) * freq + presence
                    counts[id] = 0
                }
            }
        }
    }
}
