import LoomCore
import LoomModels
import LoomTokenizers

/// Why a generation ended (raw values are the C ABI's `loom_finish_reason`).
public enum FinishReason: Int32, Sendable {
    /// The model produced an end-of-generation token (not included in the output).
    case endOfGeneration = 0
    /// `maxTokens` new tokens were generated.
    case length = 1
    /// A stop string appeared (the text ends before it).
    case stopString = 2
    /// The streaming callback asked to stop.
    case cancelled = 3
    /// The context has no room for another token.
    case contextFull = 4

    public var name: String {
        switch self {
        case .endOfGeneration: return "eog"
        case .length: return "length"
        case .stopString: return "stop"
        case .cancelled: return "cancelled"
        case .contextFull: return "context_full"
        }
    }
}

/// What to generate.
public struct GenerationParams: Sendable {
    /// Most new tokens; 0 or less = until the context is full.
    public var maxTokens = 256
    public var sampling = SamplingParams.greedy
    /// Strings that end the generation when they appear in the text (not with beam search).
    public var stop: [String] = []
    /// Beam search with this many beams when > 1 (HF num_beams; sampling must be greedy).
    public var numBeams = 1
    /// Best hypotheses returned per prompt (HF num_return_sequences; at most numBeams).
    public var numReturnSequences = 1
    /// Beam scores are divided by length^lengthPenalty (HF length_penalty).
    public var lengthPenalty = 1.0
    public var earlyStopping = BeamEarlyStopping.heuristic
    /// Seeds of the prompts' draws, prompt i taking sequenceSeeds[i] instead of sampling.seed (best-of-n:
    /// one prompt n times, n reproducible draws). Empty (the default): every prompt uses sampling.seed.
    public var sequenceSeeds: [UInt64] = []

    public init(maxTokens: Int = 256, sampling: SamplingParams = .greedy, stop: [String] = [], numBeams: Int = 1,
                numReturnSequences: Int = 1, lengthPenalty: Double = 1, earlyStopping: BeamEarlyStopping = .heuristic) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.numBeams = numBeams
        self.numReturnSequences = numReturnSequences
        self.lengthPenalty = lengthPenalty
        self.earlyStopping = earlyStopping
    }

    /// - Throws: `LoomError.invalidArgument` (or `.unsupported`) naming the first setting that does not fit.
    public func validate() throws {
        try sampling.validate()
        guard numBeams >= 1, numBeams <= 1024 else { throw LoomError.invalidArgument("num_beams must be in 1...1024 (got \(numBeams))") }
        guard numReturnSequences >= 1, numReturnSequences <= numBeams else {
            throw LoomError.invalidArgument("num_return_sequences must be in 1...num_beams (\(numBeams)), got \(numReturnSequences)")
        }
        guard lengthPenalty.isFinite else { throw LoomError.invalidArgument("length_penalty must be finite") }
        if numBeams > 1 {
            guard sampling.isGreedy else {
                throw LoomError.unsupported("beam search decodes greedily: set temperature 0 with num_beams > 1")
            }
            guard stop.isEmpty else { throw LoomError.unsupported("stop strings are not supported with beam search") }
        }
    }
}

/// One generated sequence.
public struct GenerationResult: Sendable {
    /// New token ids (without the end-of-generation token that stopped it).
    public var ids: [Int32]
    /// Their text (cut before a stop string).
    public var text: String
    public var finishReason: FinishReason
    public var promptTokens: Int
    /// The seed the draw used (nil for greedy).
    public var seed: UInt64?
    /// Beam search: the hypothesis score (sum of log-probabilities / length^length_penalty).
    public var score: Float?
    /// Best-of-n: the reward model's score of the prompt text followed by this text (see `BestOfN`).
    public var reward: Float? = nil
}

/// Runs prompts → tokens on a decoder session (a context's sequences, or a T5 decoder): start each
/// prompt (a context reuses the cached prefix it shares with the prompt), then sample, stream and
/// advance all sequences together one token per step — or beam search.
public enum Generator {
    /// `onText(token, text)` receives each newly visible piece of text (whole UTF-8 characters, stop
    /// strings held back); returning false cancels. Runs in the context's sequence 0.
    public static func generate(context: Context, prompt: [Int32], params: GenerationParams,
                                userProcessors: [any LogitProcessor] = [],
                                onText: ((Int32, [UInt8]) -> Bool)? = nil) throws -> GenerationResult {
        let all = try generate(context: context, prompts: [prompt], params: params, userProcessors: userProcessors,
                               onText: onText.map { f in { _, token, text in f(token, text) } })
        guard let first = all.first else { throw LoomError(.internal, "generation returned no sequence") }
        return first
    }

    /// Several prompts at once, prompt i in sequence i (greedy or sampled: they advance together in
    /// shared forward passes; beam search: one prompt after the other). Returns numReturnSequences
    /// results per prompt, prompt-major. `onText(seq, token, text)` streams (not with beam search).
    public static func generate(context: Context, prompts: [[Int32]], params: GenerationParams,
                                userProcessors: [any LogitProcessor] = [],
                                onText: ((Int, Int32, [UInt8]) -> Bool)? = nil) throws -> [GenerationResult] {
        let session = try ContextSession(context: context)
        let tokenizer = try context.model.tokenizer()
        return try generate(session: session, prompts: prompts.map { ($0, $0) }, tokenizer: tokenizer, params: params,
                            userProcessors: userProcessors, onText: onText)
    }

    /// The loop over any session. Each prompt is (what its slot starts with, the history logit
    /// processors see — HF's input_ids).
    public static func generate(session: DecoderSession, prompts: [(start: [Int32], history: [Int32])],
                                tokenizer: Tokenizer, params: GenerationParams,
                                userProcessors: [any LogitProcessor] = [],
                                onText: ((Int, Int32, [UInt8]) -> Bool)? = nil) throws -> [GenerationResult] {
        try params.validate()
        guard !prompts.isEmpty else { throw LoomError.invalidArgument("no prompts") }
        for p in prompts where p.start.isEmpty { throw LoomError.invalidArgument("the prompt has no tokens") }
        if params.numBeams > 1 {
            var out: [GenerationResult] = []
            for p in prompts {
                out += try beamSearch(session: session, prompt: p, tokenizer: tokenizer, params: params,
                                      userProcessors: userProcessors)
            }
            return out
        }
        guard prompts.count <= session.slotCount else {
            throw LoomError.invalidArgument("\(prompts.count) prompts need as many sequences; this context holds \(session.slotCount) (n_seq_max)")
        }
        let n = prompts.count
        let vocab = session.vocabSize
        let chains = try (0..<n).map { i in
            var sampling = params.sampling
            if i < params.sequenceSeeds.count { sampling.seed = params.sequenceSeeds[i] }
            return try SamplerChain(sampling, endTokens: session.endTokens, userProcessors: userProcessors)
        }
        let ends = Set(session.endTokens)
        var logits: [Float] = []
        try session.start(prompts.enumerated().map { (slot: $0.offset, prompt: $0.element.start) }, logits: &logits)

        var histories = prompts.map(\.history)
        var ids = [[Int32]](repeating: [], count: n)
        var streams = (0..<n).map { _ in TextStream(stops: params.stop) }
        var reasons = [FinishReason?](repeating: nil, count: n)
        var rowOf = Array(0..<n)                       // seq -> logits row (-1: finished)
        var scratch = [Float](repeating: 0, count: vocab)
        while true {
            var next: [(slot: Int, token: Int32)] = []
            for i in 0..<n where reasons[i] == nil {
                if params.maxTokens > 0, ids[i].count >= params.maxTokens { reasons[i] = .length; continue }
                let row = rowOf[i]
                logits.withUnsafeBufferPointer { src in
                    scratch.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src.baseAddress! + row * vocab, count: vocab) }
                }
                let token = try scratch.withUnsafeMutableBufferPointer {
                    try chains[i].sample(logits: $0, history: histories[i], promptLength: prompts[i].history.count)
                }
                chains[i].accept(token)
                if ends.contains(token) { reasons[i] = .endOfGeneration; continue }
                ids[i].append(token)
                histories[i].append(token)
                let visible = streams[i].append(try tokenizer.tokenToPiece(token, renderSpecial: false))
                if let onText, !visible.isEmpty {
                    // Whole characters are never split here; bytes that are not UTF-8 at all become U+FFFD.
                    if !onText(i, token, Array(String(decoding: visible, as: UTF8.self).utf8)) { reasons[i] = .cancelled; continue }
                }
                if streams[i].stopAt != nil { reasons[i] = .stopString; continue }
                if params.maxTokens > 0, ids[i].count >= params.maxTokens { reasons[i] = .length; continue }
                if try session.length(slot: i) >= session.capacity { reasons[i] = .contextFull; continue }
                next.append((slot: i, token: token))
            }
            if next.isEmpty { break }
            try session.step(next, logits: &logits)
            for (row, item) in next.enumerated() { rowOf[item.slot] = row }
        }
        var results: [GenerationResult] = []
        for i in 0..<n {
            let reason = reasons[i] ?? .length
            let rest = streams[i].flush()
            if let onText, !rest.isEmpty, reason != .cancelled {
                _ = onText(i, ids[i].last ?? -1, Array(String(decoding: rest, as: UTF8.self).utf8))
            }
            results.append(GenerationResult(ids: ids[i], text: String(decoding: streams[i].text, as: UTF8.self),
                                            finishReason: reason, promptTokens: prompts[i].start.count,
                                            seed: chains[i].seed, score: nil))
        }
        return results
    }

    static func beamSearch(session: DecoderSession, prompt: (start: [Int32], history: [Int32]), tokenizer: Tokenizer,
                           params: GenerationParams, userProcessors: [any LogitProcessor]) throws -> [GenerationResult] {
        let chain = try SamplerChain(params.sampling, endTokens: session.endTokens, userProcessors: userProcessors)
        let hyps = try BeamSearch.run(session: session, prompt: prompt.start, history: prompt.history,
                                      numBeams: params.numBeams, maxNewTokens: params.maxTokens,
                                      lengthPenalty: params.lengthPenalty, earlyStopping: params.earlyStopping,
                                      processors: chain)
        return try hyps.prefix(params.numReturnSequences).map { h in
            let ids = h.endedAtEnd ? Array(h.tokens.dropLast()) : h.tokens
            var stream = TextStream(stops: [])
            for t in ids { _ = stream.append(try tokenizer.tokenToPiece(t, renderSpecial: false)) }
            let full = !(params.maxTokens > 0 && h.tokens.count >= params.maxTokens)
            return GenerationResult(ids: ids, text: String(decoding: stream.text, as: UTF8.self),
                                    finishReason: h.endedAtEnd ? .endOfGeneration : (full ? .contextFull : .length),
                                    promptTokens: prompt.start.count, seed: nil, score: h.score)
        }
    }
}

extension Array where Element == Int32 {
    func commonPrefixLength(with other: [Int32]) -> Int {
        var i = 0
        while i < count, i < other.count, self[i] == other[i] { i += 1 }
        return i
    }
}

extension Generator {
    /// Encoder-decoder generation (T5): encodes `input` once, then decodes from the decoder start token
    /// greedily, by sampling or by beam search, as HF `generate` on T5ForConditionalGeneration.
    /// The returned ids exclude the decoder start token (and, as always, the end token). maxTokens 0
    /// generates nothing; below 0 is an invalid argument (there is no context to fill).
    public static func generate(seq2seq model: Model, input: [Int32], params: GenerationParams, threads: Int = 1,
                                userProcessors: [any LogitProcessor] = [],
                                onText: ((Int32, [UInt8]) -> Bool)? = nil) throws -> [GenerationResult] {
        guard let t5 = model.seq2seq else {
            throw LoomError.unsupported("'\(model.path)' is not an encoder-decoder model with weights (architecture '\(model.architecture ?? "?")')")
        }
        try params.validate()
        guard !input.isEmpty else { throw LoomError.invalidArgument("the input has no tokens") }
        guard params.maxTokens >= 0 else {
            throw LoomError.invalidArgument("max_tokens is \(params.maxTokens): an encoder-decoder model has no context to fill; give 0 or more new tokens")
        }
        if params.maxTokens == 0 {
            // Zero new tokens (the encoder-decoder API's meaning of 0; there is no context to fill).
            let empty = GenerationResult(ids: [], text: "", finishReason: .length, promptTokens: 1, seed: nil, score: nil)
            return Array(repeating: empty, count: params.numBeams > 1 ? params.numReturnSequences : 1)
        }
        let session = try Seq2SeqSession(model: t5, input: input, slots: params.numBeams, threads: threads)
        let start = [session.decoderStartToken]
        return try generate(session: session, prompts: [(start, start)], tokenizer: try model.tokenizer(), params: params,
                            userProcessors: userProcessors, onText: onText.map { f in { _, token, text in f(token, text) } })
    }
}
