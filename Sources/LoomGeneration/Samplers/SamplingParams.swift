import LoomCore

/// The sampling settings of one generation, with HF `generate()` meanings; each "off" value leaves its
/// sampler out of the chain. Unlike HF's GenerationConfig (top_k = 50), top-k is off by default.
public struct SamplingParams: Sendable, Equatable {
    /// Softmax temperature; 0 selects greedy decoding (argmax: HF's do_sample=False). 1 = off.
    public var temperature: Double
    /// Keep the k most probable tokens (ties with the k-th kept). 0 = off.
    public var topK: Int
    /// Nucleus sampling, in (0, 1]. 1 = off.
    public var topP: Double
    /// Drop tokens below minP × the top probability, in [0, 1]. 0 = off.
    public var minP: Double
    /// HF/CTRL repetition penalty, > 0. 1 = off.
    public var repetitionPenalty: Double
    /// OpenAI/llama.cpp frequency penalty (subtracted per occurrence). 0 = off.
    public var frequencyPenalty: Double
    /// OpenAI/llama.cpp presence penalty (subtracted once per distinct token). 0 = off.
    public var presencePenalty: Double
    /// History the penalties look at: -1 or 0 = all of it (HF), n > 0 = the last n tokens (llama.cpp).
    public var penaltyLastN: Int
    /// HF no_repeat_ngram_size: ban tokens that would repeat an n-gram of the history. 0 = off.
    public var noRepeatNGramSize: Int
    /// HF typical_p (locally typical sampling), in (0, 1]. 1 = off. Sampling only.
    public var typicalP: Double = 1
    /// HF min_new_tokens: end-of-generation tokens are banned until this many tokens are new. 0 = off.
    public var minNewTokens: Int = 0
    /// Added to the logits of these tokens (-inf bans one). Empty = off.
    public var logitBias: [Int32: Float] = [:]
    /// HF bad_words_ids: token sequences that must not be generated. Empty = off.
    public var badWords: [[Int32]] = []
    /// Seed of the draw; nil = a random seed chosen when the chain is made (see `SamplerChain.seed`).
    public var seed: UInt64?

    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, minP: Double = 0,
                repetitionPenalty: Double = 1, frequencyPenalty: Double = 0, presencePenalty: Double = 0,
                penaltyLastN: Int = -1, noRepeatNGramSize: Int = 0, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.penaltyLastN = penaltyLastN
        self.noRepeatNGramSize = noRepeatNGramSize
        self.seed = seed
    }

    /// Greedy decoding with no penalties.
    public static let greedy = SamplingParams(temperature: 0)

    public var isGreedy: Bool { temperature == 0 }

    /// - Throws: `LoomError.invalidArgument` naming the first parameter out of range (NaN is out of every range).
    public func validate() throws {
        func bad(_ m: String) -> LoomError { LoomError.invalidArgument(m) }
        guard temperature >= 0, temperature.isFinite else {
            throw bad("temperature must be a finite number >= 0 (got \(temperature)); 0 means greedy")
        }
        guard topK >= 0 else { throw bad("top-k must be >= 0 (got \(topK)); 0 turns it off") }
        guard topP > 0, topP <= 1 else { throw bad("top-p must be in (0, 1] (got \(topP)); 1 turns it off") }
        guard minP >= 0, minP <= 1 else { throw bad("min-p must be in [0, 1] (got \(minP)); 0 turns it off") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw bad("repetition penalty must be a finite number > 0 (got \(repetitionPenalty)); 1 turns it off")
        }
        guard frequencyPenalty.isFinite else { throw bad("frequency penalty must be a finite number (got \(frequencyPenalty))") }
        guard presencePenalty.isFinite else { throw bad("presence penalty must be a finite number (got \(presencePenalty))") }
        guard penaltyLastN >= -1 else {
            throw bad("penalty window must be -1 or 0 (whole history) or a positive count (got \(penaltyLastN))")
        }
        guard typicalP > 0, typicalP <= 1 else { throw bad("typical-p must be in (0, 1] (got \(typicalP)); 1 turns it off") }
        guard minNewTokens >= 0 else { throw bad("min_new_tokens must be >= 0 (got \(minNewTokens))") }
        for (t, b) in logitBias where b.isNaN || b == .infinity {
            throw bad("logit bias of token \(t) is \(b); use a finite value or -inf")
        }
        guard !badWords.contains(where: \.isEmpty) else { throw bad("a bad-words entry is empty") }
        guard noRepeatNGramSize >= 0 else {
            throw bad("no-repeat n-gram size must be >= 0 (got \(noRepeatNGramSize)); 0 turns it off")
        }
    }
}
