import LoomCore

/// Adds a fixed bias to chosen tokens' logits (OpenAI / llama.cpp `logit_bias`, HF `sequence_bias` for
/// single tokens); -inf bans a token. Ids outside the vocabulary are ignored.
public final class LogitBiasProcessor: LogitProcessor {
    public let bias: [(token: Int32, bias: Float)]

    /// - Throws: `LoomError.invalidArgument` for a NaN or +inf bias.
    public init(_ bias: [Int32: Float]) throws {
        for (t, b) in bias where b.isNaN || b == .infinity {
            throw LoomError.invalidArgument("logit bias of token \(t) is \(b); use a finite value or -inf")
        }
        self.bias = bias.sorted { $0.key < $1.key }.map { (token: $0.key, bias: $0.value) }
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        for (t, b) in bias where t >= 0 && Int(t) < logits.count { logits[Int(t)] += b }
    }
}

/// HF `NoBadWordsLogitsProcessor`: a banned single token is always -inf; a banned sequence of n > 1
/// tokens bans its last token whenever the history ends with its first n − 1.
public final class BadWordsProcessor: LogitProcessor {
    public let words: [[Int32]]

    /// - Throws: `LoomError.invalidArgument` for an empty word.
    public init(_ words: [[Int32]]) throws {
        guard !words.contains(where: \.isEmpty) else {
            throw LoomError.invalidArgument("a bad-words entry is empty; each needs at least one token id")
        }
        self.words = words
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let h = context.history
        for w in words {
            guard let last = w.last, last >= 0, Int(last) < logits.count else { continue }
            let prefix = w.count - 1
            guard prefix <= h.count else { continue }
            var match = true
            for k in 0..<prefix where h[h.count - prefix + k] != w[k] { match = false; break }
            if match { logits[Int(last)] = -.infinity }
        }
    }
}

/// HF `MinNewTokensLengthLogitsProcessor`: end-of-generation tokens are -inf until `minNewTokens`
/// tokens have been generated (counted from the prompt length in the context).
public final class MinNewTokensProcessor: LogitProcessor {
    public let minNewTokens: Int
    public let endTokens: [Int32]

    public init(minNewTokens: Int, endTokens: [Int32]) throws {
        guard minNewTokens >= 0 else { throw LoomError.invalidArgument("min_new_tokens must be >= 0 (got \(minNewTokens))") }
        self.minNewTokens = minNewTokens
        self.endTokens = endTokens
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        guard (context.generatedCount ?? 0) < minNewTokens else { return }
        for t in endTokens where t >= 0 && Int(t) < logits.count { logits[Int(t)] = -.infinity }
    }
}
