import LoomCore
import LoomModels
import LoomTokenizers

/// The log-likelihood of a continuation given a context (lm-eval-harness `loglikelihood`).
public struct LoglikelihoodResult: Sendable, Equatable {
    /// Σ log p(continuation token | everything before it), in nats.
    public var logProbability: Double
    /// log p of each continuation token.
    public var tokenLogProbabilities: [Double]
    /// Whether every continuation token is the argmax of its row (greedy decoding would produce it).
    public var isGreedy: Bool

    public var tokenCount: Int { tokenLogProbabilities.count }
}

/// Scoring continuations, as lm-eval-harness's `loglikelihood` requests do.
public enum Loglikelihood {
    /// Tokenizes a (context, continuation) pair as lm-eval-harness's `_encode_pair`: trailing
    /// whitespace of the context moves to the start of the continuation; the whole text is
    /// tokenized and the continuation's tokens are those after the context's own token count (so a
    /// token spanning the boundary counts as continuation). An empty context becomes the BOS token
    /// (the EOS token when there is none), as lm-eval's `prefix_token_id`. `addSpecial` adds the
    /// tokenizer's BOS/EOS rule to both encodings (lm-eval's default for causal LMs: off).
    public static func encodePair(tokenizer: Tokenizer, context: String, continuation: String,
                                  addSpecial: Bool = false) throws -> (context: [Int32], continuation: [Int32]) {
        if context.isEmpty {
            guard let prefix = tokenizer.bosID ?? tokenizer.eosID else {
                throw LoomError.invalidArgument("the context is empty and the tokenizer has neither a BOS nor an EOS token to stand for it")
            }
            return ([prefix], try tokenizer.tokenize(continuation, addSpecial: addSpecial, parseSpecial: false))
        }
        var ctxScalars = Array(context.unicodeScalars)
        var moved: [Unicode.Scalar] = []
        while let last = ctxScalars.last, PythonText.isSpace(last) {
            moved.insert(last, at: 0)
            ctxScalars.removeLast()
        }
        var ctxText = ""
        ctxText.unicodeScalars.append(contentsOf: ctxScalars)
        var contText = ""
        contText.unicodeScalars.append(contentsOf: moved)
        contText += continuation
        let whole = try tokenizer.tokenize(ctxText + contText, addSpecial: addSpecial, parseSpecial: false)
        let ctxIDs = try tokenizer.tokenize(ctxText, addSpecial: addSpecial, parseSpecial: false)
        let n = min(ctxIDs.count, whole.count)
        return (ctxIDs, Array(whole[n...]))
    }

    /// Scores `continuation` after `contextIDs` on sequence `sequence` of `ctx`. The positions the
    /// sequence already caches and shares with the input are reused (several continuations of one
    /// context run the context once). Inputs longer than n_ctx + 1 tokens keep their last n_ctx + 1
    /// (lm-eval's left truncation); the continuation itself must fit in n_ctx.
    public static func score(context ctx: Context, contextIDs: [Int32], continuationIDs: [Int32],
                             sequence: Int = 0) throws -> LoglikelihoodResult {
        guard !contextIDs.isEmpty else { throw LoomError.invalidArgument("the context has no tokens (lm-eval uses BOS/EOS for an empty one)") }
        guard !continuationIDs.isEmpty else { throw LoomError.invalidArgument("the continuation has no tokens") }
        let nCtx = ctx.contextLength
        guard continuationIDs.count <= nCtx else {
            throw LoomError.outOfRange("the continuation (\(continuationIDs.count) tokens) is longer than n_ctx \(nCtx)")
        }
        let vocab = ctx.vocabSize
        for t in contextIDs + continuationIDs where t < 0 || Int(t) >= vocab {
            throw LoomError.outOfRange("token id \(t) is outside the vocabulary (0..<\(vocab))")
        }
        var full = contextIDs + continuationIDs
        if full.count > nCtx + 1 { full.removeFirst(full.count - (nCtx + 1)) }
        let input = Array(full.dropLast())
        let firstRow = input.count - continuationIDs.count   // its logits predict the first continuation token
        let cached = try ctx.cachedTokens(sequence: sequence)
        var common = 0
        while common < min(cached.count, firstRow), cached[common] == input[common] { common += 1 }
        try ctx.decode(Array(input[common...]), sequence: sequence, startPosition: common, logits: .all)
        var logps: [Double] = []
        logps.reserveCapacity(continuationIDs.count)
        var greedy = true
        ctx.withLogits { rows in
            for (k, target) in continuationIDs.enumerated() {
                let r = firstRow - common + k
                let row = UnsafeBufferPointer(rebasing: rows[(r * vocab)..<((r + 1) * vocab)])
                logps.append(LogSoftmax.logProbability(row, token: Int(target)))
                if LogSoftmax.argmax(row) != Int(target) { greedy = false }
            }
        }
        return LoglikelihoodResult(logProbability: logps.reduce(0, +), tokenLogProbabilities: logps, isGreedy: greedy)
    }

    /// Scores a text continuation of a text context (tokenized with `encodePair`).
    public static func score(context ctx: Context, tokenizer: Tokenizer, context text: String, continuation: String,
                             addSpecial: Bool = false) throws -> LoglikelihoodResult {
        let (c, x) = try encodePair(tokenizer: tokenizer, context: text, continuation: continuation, addSpecial: addSpecial)
        guard !x.isEmpty else { throw LoomError.invalidArgument("the continuation \"\(continuation)\" has no tokens") }
        return try score(context: ctx, contextIDs: c, continuationIDs: x)
    }
}

/// Python's notion of whitespace (`str.isspace`, `str.split()`, `str.rstrip()`), which the reference
/// tools (lm-eval-harness, sacreBLEU) use.
enum PythonText {
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `s.split()`: runs of non-whitespace.
    static func split(_ s: String) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            if isSpace(c) {
                if !cur.isEmpty { out.append(String(cur)); cur = String.UnicodeScalarView() }
            } else {
                cur.append(c)
            }
        }
        if !cur.isEmpty { out.append(String(cur)) }
        return out
    }

    /// `s.rstrip()`.
    static func rstrip(_ s: String) -> String {
        var v = Array(s.unicodeScalars)
        while let last = v.last, isSpace(last) { v.removeLast() }
        var out = ""
        out.unicodeScalars.append(contentsOf: v)
        return out
    }
}
