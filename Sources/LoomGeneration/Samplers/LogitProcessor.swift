import LoomCore

/// What a processor may read besides the logits. The buffer is borrowed: it is valid only during
/// the `process` call that receives it.
public struct LogitContext {
    /// Previous token ids, oldest first: the prompt, then every generated token (HF's `input_ids`).
    public let history: UnsafeBufferPointer<Int32>
    /// How many leading entries of `history` are the prompt, when the caller knows it (nil: unknown).
    public let promptLength: Int?

    public init(history: UnsafeBufferPointer<Int32>, promptLength: Int? = nil) {
        self.history = history
        self.promptLength = promptLength
    }

    /// Tokens generated so far, when the prompt length is known.
    public var generatedCount: Int? { promptLength.map { history.count - $0 } }
}

/// One step of a sampler chain that rewrites the next-token logits in place — HF's `LogitsProcessor` /
/// `LogitsWarper`. The buffer holds one logit per vocabulary entry; a processor masks a token by
/// writing `-Float.infinity` and never changes the buffer's length.
///
/// Processors are classes so they can keep scratch memory (reused from call to call: no allocation
/// in the steady state) and, for later kinds such as grammars, state. An instance belongs to one
/// `SamplerChain` and is used from one thread at a time; do not share it between chains.
///
/// Token ids in `history` outside `0..<logits.count` are ignored by every processor here.
public protocol LogitProcessor: AnyObject {
    func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext)
    /// Called with each token the generator commits (after `sample`). Default: nothing.
    func accept(_ token: Int32)
    /// Forget per-sequence state before a new generation. Default: nothing.
    func reset()
}

extension LogitProcessor {
    public func accept(_ token: Int32) {}
    public func reset() {}
}

/// The last step of a chain: picks one token from the processed logits.
public protocol TokenSelector: AnyObject {
    /// The chosen id, or nil when no token is selectable (every logit is -inf or NaN, or the buffer is empty).
    func select(_ logits: UnsafeBufferPointer<Float>) -> Int32?
    /// Return to the initial state (for a random selector: its seed). Default: nothing.
    func reset()
}

extension TokenSelector {
    public func reset() {}
}
