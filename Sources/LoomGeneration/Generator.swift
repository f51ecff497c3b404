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
    /// Strings that end the generation when they appear in the text.
    public var stop: [String] = []

    public init(maxTokens: Int = 256, sampling: SamplingParams = .greedy, stop: [String] = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
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
}

/// Runs prompt → tokens on a context: decode the prompt (reusing the cached prefix it shares with the
/// previous call), then sample, stream, and decode one token at a time.
public enum Generator {
    /// `onText(token, text)` receives each newly visible piece of text (whole UTF-8 characters, stop
    /// strings held back); returning false cancels.
    public static func generate(context: Context, prompt: [Int32], params: GenerationParams,
                                onText: ((Int32, [UInt8]) -> Bool)? = nil) throws -> GenerationResult {
        guard !prompt.isEmpty else { throw LoomError.invalidArgument("the prompt has no tokens") }
        let tokenizer = try context.model.tokenizer()
        let chain = try SamplerChain(params.sampling)
        let vocab = context.vocabSize

        // Keep the cached prefix shared with this prompt; the last prompt token is always decoded
        // again so that its logits are fresh.
        let shared = min(context.cachedTokens.commonPrefixLength(with: prompt), prompt.count - 1)
        try context.truncate(to: shared)
        try context.decode(Array(prompt[shared...]), logits: .last)

        var history = prompt
        var ids: [Int32] = []
        var stream = TextStream(stops: params.stop)
        var reason = FinishReason.length
        var logits = [Float](repeating: 0, count: vocab)
        while true {
            if params.maxTokens > 0, ids.count >= params.maxTokens { reason = .length; break }
            let row = try context.logits()
            logits.withUnsafeMutableBufferPointer { dst in
                row.withUnsafeBufferPointer { src in dst.baseAddress!.update(from: src.baseAddress!, count: vocab) }
            }
            let token = try logits.withUnsafeMutableBufferPointer {
                try chain.sample(logits: $0, history: history, promptLength: prompt.count)
            }
            chain.accept(token)
            if tokenizer.isEndOfGeneration(token) { reason = .endOfGeneration; break }
            ids.append(token)
            history.append(token)
            let visible = stream.append(try tokenizer.tokenToPiece(token, renderSpecial: false))
            if let onText, !visible.isEmpty {
                // Whole characters are never split here; bytes that are not UTF-8 at all become U+FFFD.
                if !onText(token, Array(String(decoding: visible, as: UTF8.self).utf8)) { reason = .cancelled; break }
            }
            if stream.stopAt != nil { reason = .stopString; break }
            if params.maxTokens > 0, ids.count >= params.maxTokens { reason = .length; break }
            if context.position >= context.contextLength { reason = .contextFull; break }
            try context.decode([token], logits: .last)
        }
        let rest = stream.flush()
        if let onText, !rest.isEmpty, reason != .cancelled {
            _ = onText(ids.last ?? -1, Array(String(decoding: rest, as: UTF8.self).utf8))
        }
        return GenerationResult(ids: ids, text: String(decoding: stream.text, as: UTF8.self), finishReason: reason,
                                promptTokens: prompt.count, seed: chain.seed)
    }
}

extension Array where Element == Int32 {
    func commonPrefixLength(with other: [Int32]) -> Int {
        var i = 0
        while i < count, i < other.count, self[i] == other[i] { i += 1 }
        return i
    }
}
