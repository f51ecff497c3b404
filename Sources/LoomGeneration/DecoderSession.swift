import LoomCore
import LoomModels

/// What generation loops drive: numbered slots, each a token sequence with its own cache (a context's
/// sequence, or a T5 decoder state), advanced together one token per slot and step. Greedy/sampled
/// generation and beam search are written once against it.
public protocol DecoderSession: AnyObject {
    var vocabSize: Int { get }
    /// Slots the session can hold.
    var slotCount: Int { get }
    /// Tokens that end a sequence.
    var endTokens: [Int32] { get }
    /// Starts each slot with its prompt; `logits` gets one row per prompt (after its last token).
    func start(_ prompts: [(slot: Int, prompt: [Int32])], logits: inout [Float]) throws
    /// Appends one token to each listed slot; `logits` gets one row per item, in order.
    func step(_ items: [(slot: Int, token: Int32)], logits: inout [Float]) throws
    /// Makes slot `to` a copy of slot `from`.
    func copySlot(from: Int, to: Int) throws
    /// Tokens the slot holds (the next position); generation stops when it reaches `capacity`.
    func length(slot: Int) throws -> Int
    /// Most tokens a slot can hold.
    var capacity: Int { get }
}

/// A decoder-only context: slot i = sequence i. Starting a slot keeps the cached prefix it shares
/// with the prompt (the last prompt token is decoded again so its logits are fresh).
public final class ContextSession: DecoderSession {
    public let context: Context
    public let endTokens: [Int32]

    public init(context: Context) throws {
        self.context = context
        endTokens = try context.model.tokenizer().endOfGenerationTokens
    }

    public var vocabSize: Int { context.vocabSize }
    public var slotCount: Int { context.maxSequences }
    public var capacity: Int { context.contextLength }

    public func start(_ prompts: [(slot: Int, prompt: [Int32])], logits: inout [Float]) throws {
        var inputs: [SequenceInput] = []
        for (slot, prompt) in prompts {
            guard !prompt.isEmpty else { throw LoomError.invalidArgument("the prompt has no tokens") }
            let cached = try context.cachedTokens(sequence: slot)
            let shared = min(cached.commonPrefixLength(with: prompt), prompt.count - 1)
            inputs.append(SequenceInput(sequence: slot, tokens: Array(prompt[shared...]), startPosition: shared))
        }
        try context.decode(inputs)
        try copyLogits(rows: inputs.count, into: &logits)
    }

    public func step(_ items: [(slot: Int, token: Int32)], logits: inout [Float]) throws {
        try context.decode(items.map { SequenceInput(sequence: $0.slot, tokens: [$0.token]) })
        try copyLogits(rows: items.count, into: &logits)
    }

    public func copySlot(from: Int, to: Int) throws { try context.copySequence(from: from, to: to) }

    public func length(slot: Int) throws -> Int { try context.position(sequence: slot) }

    private func copyLogits(rows: Int, into logits: inout [Float]) throws {
        let n = rows * vocabSize
        if logits.count != n { logits = [Float](repeating: 0, count: n) }
        context.withLogits { src in
            logits.withUnsafeMutableBufferPointer { dst in
                if let d = dst.baseAddress, let s = src.baseAddress { d.update(from: s, count: n) }
            }
        }
    }
}

/// A T5 decoder over one encoded input: slot i = decoder state i; every slot's prompt is the decoder
/// start token (HF's decoder_input_ids).
public final class Seq2SeqSession: DecoderSession {
    public let model: T5Model
    public let encoderStates: T5EncoderStates
    let pool: ThreadPool
    private var states: [T5DecoderState?]
    public var endTokens: [Int32] { model.config.eosTokenIDs.map { Int32($0) } }
    public var vocabSize: Int { model.vocabSize }
    public var slotCount: Int { states.count }
    public var capacity: Int { T5Model.maxSequenceLength }
    public var decoderStartToken: Int32 { Int32(model.config.decoderStartTokenID) }

    public init(model: T5Model, input: [Int32], slots: Int, threads: Int) throws {
        guard (1...1024).contains(slots) else { throw LoomError.invalidArgument("slots \(slots) is outside 1...1024") }
        guard (1...512).contains(threads) else { throw LoomError.invalidArgument("threads \(threads) is outside 1...512") }
        self.model = model
        pool = ThreadPool(threadCount: threads)
        encoderStates = try model.encode(input, pool: pool)
        states = Array(repeating: nil, count: slots)
    }

    private func checkSlot(_ s: Int) throws {
        guard s >= 0, s < states.count else { throw LoomError.outOfRange("slot \(s) is outside 0..<\(states.count)") }
    }

    private func state(_ s: Int) throws -> T5DecoderState {
        try checkSlot(s)
        guard let st = states[s] else { throw LoomError.invalidArgument("slot \(s) was not started") }
        return st
    }

    public func start(_ prompts: [(slot: Int, prompt: [Int32])], logits: inout [Float]) throws {
        var rows: [Float] = []
        for (slot, prompt) in prompts {
            try checkSlot(slot)
            guard !prompt.isEmpty else { throw LoomError.invalidArgument("the decoder prompt has no tokens") }
            let st = try model.makeDecoderState(encoderStates: encoderStates, pool: pool)
            states[slot] = st
            let all = try model.decode(prompt, state: st, pool: pool)
            rows += all[((prompt.count - 1) * vocabSize)...]
        }
        logits = rows
    }

    public func step(_ items: [(slot: Int, token: Int32)], logits: inout [Float]) throws {
        var rows: [Float] = []
        rows.reserveCapacity(items.count * vocabSize)
        for (slot, token) in items { rows += try model.decode([token], state: try state(slot), pool: pool) }
        logits = rows
    }

    public func copySlot(from: Int, to: Int) throws {
        let src = try state(from)
        try checkSlot(to)
        states[to] = src.copy()
    }

    public func length(slot: Int) throws -> Int { try state(slot).count }
}
