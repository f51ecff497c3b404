#if canImport(Glibc)
import Glibc
#endif
import LoomCore
import LoomModels

/// How to compute a perplexity.
public struct PerplexityParams: Sendable {
    /// Tokens per window (`--ctx`); 0 = the whole input when it fits the model's trained context
    /// (capped at 4096), else windows of that length.
    public var windowLength = 0
    /// Tokens the window moves by (`--stride`); 0 = the window length (windows side by side).
    public var stride = 0
    /// Most tokens per forward pass.
    public var batchSize = 512
    public var threads = ContextParams.defaultThreads

    public init(windowLength: Int = 0, stride: Int = 0, batchSize: Int = 512, threads: Int = ContextParams.defaultThreads) {
        self.windowLength = windowLength
        self.stride = stride
        self.batchSize = batchSize
        self.threads = threads
    }
}

/// A perplexity and what it was computed from.
public struct PerplexityResult: Sendable {
    /// exp(nllSum / tokenCount).
    public var perplexity: Double
    /// Σ −log p(x_i | the window's tokens before x_i) over the scored tokens (nats).
    public var nllSum: Double
    /// Tokens scored (every token but the first when windows overlap enough; see `Perplexity`).
    public var tokenCount: Int
    public var windowCount: Int
    public var windowLength: Int
    public var stride: Int

    public var meanNLL: Double { tokenCount > 0 ? nllSum / Double(tokenCount) : .nan }
}

/// One window of the sliding-window recipe: the model sees `tokens` (absolute positions in the
/// input) and scores the targets at `scored`, each given the window's tokens before it.
public struct PerplexityWindow: Sendable, Equatable {
    public var tokens: Range<Int>
    public var scored: Range<Int>
}

/// Perplexity of a causal LM over token ids: exp(mean NLL over every predicted token), with the
/// log-softmax of each row accumulated in f64.
///
/// Inputs longer than one window follow Hugging Face's sliding-window recipe ("Perplexity of
/// fixed-length models"): windows of `windowLength` tokens start every `stride` tokens
/// (begin = 0, stride, 2·stride, … until a window reaches the end); each window scores only the
/// tokens no earlier window scored, so every scored token sees at least windowLength − stride tokens
/// of context (except in the first window) and none is counted twice. With stride = windowLength the
/// windows are disjoint and the first token of each has no context inside its window: it is not
/// scored (as in HF, where the label shift drops it). Token 0 is never scored.
///
/// llama.cpp's `llama-perplexity` differs: it cuts the input into disjoint chunks of n_ctx tokens and
/// scores only the second half of each chunk (every scored token has at least n_ctx/2 tokens of
/// context, the first halves are context only); it prints the same exp(mean NLL) over those tokens.
/// For a single window the two agree up to that choice of scored tokens.
public enum Perplexity {
    /// The windows for `tokenCount` tokens.
    public static func windows(tokenCount n: Int, windowLength: Int, stride: Int) throws -> [PerplexityWindow] {
        guard n >= 2 else { throw LoomError.invalidArgument("perplexity needs at least 2 tokens, got \(n)") }
        guard windowLength >= 2 else { throw LoomError.invalidArgument("the window (ctx) must hold at least 2 tokens, got \(windowLength)") }
        guard stride >= 1, stride <= windowLength else {
            throw LoomError.invalidArgument("stride must be in 1...ctx (\(windowLength)), got \(stride)")
        }
        var out: [PerplexityWindow] = []
        var prevEnd = 0
        var begin = 0
        while begin < n {
            let end = min(begin + windowLength, n)
            let first = max(prevEnd, begin + 1)
            if first < end { out.append(PerplexityWindow(tokens: begin..<end, scored: first..<end)) }
            prevEnd = end
            if end == n { break }
            begin += stride
        }
        return out
    }

    /// The window length `params` asks for, for `tokenCount` tokens on `model`.
    public static func windowLength(_ params: PerplexityParams, tokenCount: Int, model: Model) throws -> Int {
        guard params.windowLength >= 0 else { throw LoomError.invalidArgument("ctx must be >= 0, got \(params.windowLength)") }
        // A window never needs more positions than there are tokens (the results are the same).
        if params.windowLength > 0 { return max(2, min(params.windowLength, tokenCount)) }
        guard let network = model.network else { throw LoomError.invalidArgument("'\(model.path)' has no causal LM to score with") }
        return max(2, min(tokenCount, min(network.trainedContextLength, 4096)))
    }

    /// Perplexity of `ids` on `model` (a context of one window is made for the call).
    /// `progress` gets the share of the work done (0...1) after each forward pass; returning false
    /// stops with `LoomError.aborted`.
    public static func compute(model: Model, ids: [Int32], params: PerplexityParams = PerplexityParams(),
                               progress: ((Double) -> Bool)? = nil) throws -> PerplexityResult {
        let window = try windowLength(params, tokenCount: ids.count, model: model)
        guard window <= 1 << 20 else { throw LoomError.invalidArgument("ctx \(window) is more than 1048576") }
        // Validate the stride against the requested window before it is capped at the input's length.
        if params.stride > max(params.windowLength, window) {
            throw LoomError.invalidArgument("stride must be in 1...ctx (\(max(params.windowLength, window))), got \(params.stride)")
        }
        _ = try windows(tokenCount: ids.count, windowLength: window, stride: params.stride == 0 ? window : min(params.stride, window))
        let ctx = try Context(model: model, params: ContextParams(contextLength: window, batchSize: params.batchSize,
                                                                  threads: params.threads, maxSequences: 1))
        return try compute(context: ctx, ids: ids, windowLength: window, stride: params.stride == 0 ? 0 : min(params.stride, window),
                           progress: progress)
    }

    /// Perplexity of `ids` on an existing context (sequence 0; it is cleared first and holds the last
    /// window afterwards). windowLength 0 = the context's n_ctx (or fewer tokens when the input is shorter).
    public static func compute(context ctx: Context, ids: [Int32], windowLength: Int = 0, stride: Int = 0,
                               progress: ((Double) -> Bool)? = nil) throws -> PerplexityResult {
        let window = windowLength > 0 ? windowLength : max(2, min(ids.count, ctx.contextLength))
        guard window <= ctx.contextLength else {
            throw LoomError.outOfRange("the window (\(window) tokens) is larger than the context's n_ctx \(ctx.contextLength)")
        }
        let step = stride == 0 ? window : stride
        let plan = try windows(tokenCount: ids.count, windowLength: window, stride: step)
        let vocab = ctx.vocabSize
        for (i, t) in ids.enumerated() where t < 0 || Int(t) >= vocab {
            throw LoomError.outOfRange("ids[\(i)] = \(t) is outside the vocabulary (0..<\(vocab))")
        }
        // Work measured in tokens run through the model.
        let totalWork = plan.reduce(0) { $0 + ($1.scored.upperBound - 1 - $1.tokens.lowerBound) }
        var done = 0
        let chunk = max(1, ctx.params.batchSize)
        var nll = 0.0
        var count = 0
        for w in plan {
            try ctx.truncate(to: 0)
            // Rows whose logits predict the scored tokens: positions scored.lower-1 ..< scored.upper-1.
            let firstRow = w.scored.lowerBound - 1
            let lastInput = w.scored.upperBound - 1   // the window's last token is only a target
            if firstRow > w.tokens.lowerBound {
                try ctx.decode(Array(ids[w.tokens.lowerBound..<firstRow]), logits: .none)
                done += firstRow - w.tokens.lowerBound
            }
            var p = firstRow
            while p < lastInput {
                let q = min(lastInput, p + chunk)
                try ctx.decode(Array(ids[p..<q]), logits: .all)
                ctx.withLogits { rows in
                    for r in 0..<(q - p) {
                        let row = UnsafeBufferPointer(rebasing: rows[(r * vocab)..<((r + 1) * vocab)])
                        nll -= LogSoftmax.logProbability(row, token: Int(ids[p + r + 1]))
                    }
                }
                count += q - p
                done += q - p
                p = q
                if let progress, !progress(totalWork > 0 ? Double(done) / Double(totalWork) : 1) {
                    throw LoomError(.aborted, "perplexity stopped by the progress callback")
                }
            }
        }
        return PerplexityResult(perplexity: exp(nll / Double(count)), nllSum: nll, tokenCount: count,
                                windowCount: plan.count, windowLength: window, stride: step)
    }
}
