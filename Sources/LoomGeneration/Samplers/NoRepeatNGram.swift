import LoomCore

/// HF `NoRepeatNGramLogitsProcessor`: bans (sets to -inf) every token that would complete an n-gram
/// already present in the history (prompt included). With n = 1 every token seen is banned.
/// O(history · n) per step, no allocation.
public final class NoRepeatNGramProcessor: LogitProcessor {
    public let size: Int

    /// - Throws: `LoomError.invalidArgument` unless `size >= 1`.
    public init(size: Int) throws {
        guard size >= 1 else {
            throw LoomError.invalidArgument("no-repeat n-gram size must be >= 1 (got \(size)); 0 turns the processor off")
        }
        self.size = size
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let h = context.history
        let len = h.count, n = size, vocab = logits.count
        guard len >= n else { return }
        // The last n-1 tokens are the prefix; every earlier n-gram starting with it bans its last token.
        let prefixStart = len - n + 1
        for j in 0...(len - n) {
            var match = true
            var k = 0
            while k < n - 1 {
                if h[j + k] != h[prefixStart + k] { match = false; break }
                k += 1
            }
            if match {
                let id = Int(h[j + n - 1])
                if id >= 0, id < vocab { logits[id] = -.infinity }
            }
        }
    }
}
