import LoomCore

/// How to create a context.
public struct ContextParams: Sendable {
    /// Positions the KV cache holds; 0 = the model's trained length, capped at 4096.
    public var contextLength = 0
    /// Most tokens one forward pass processes; longer inputs are split.
    public var batchSize = 512
    /// Threads of the context's pool (the calling thread included).
    public var threads = ContextParams.defaultThreads
    /// Element type of the KV cache: .f32 (exact, the default) or .f16 (half the memory).
    public var kvType = TensorType.f32
    /// Most sequences (ids 0..<maxSequences) the context holds; each has its own KV cache of
    /// `contextLength` positions, allocated when the sequence is first used (sequence 0 at creation).
    public var maxSequences = 16

    public init(contextLength: Int = 0, batchSize: Int = 512, threads: Int = ContextParams.defaultThreads,
                kvType: TensorType = .f32, maxSequences: Int = 16) {
        self.contextLength = contextLength
        self.batchSize = batchSize
        self.threads = threads
        self.kvType = kvType
        self.maxSequences = maxSequences
    }

    /// The machine's cores, at most 8.
    public static var defaultThreads: Int { max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }
}

/// Which logits a decode keeps.
public enum LogitsMode: Sendable {
    case none, last, all
}

/// The tokens of one sequence for `Context.decode(_:)`.
public struct SequenceInput: Sendable {
    public var sequence: Int
    public var tokens: [Int32]
    /// Where the tokens go; nil = after the sequence's cached positions. Lower overwrites a suffix.
    public var startPosition: Int?
    public var logits: LogitsMode

    public init(sequence: Int, tokens: [Int32], startPosition: Int? = nil, logits: LogitsMode = .last) {
        self.sequence = sequence
        self.tokens = tokens
        self.startPosition = startPosition
        self.logits = logits
    }
}

/// The mutable state of running one model: the KV caches of its sequences, thread pool, scratch and
/// the last logits. Sequences are independent token streams (a chat each, a beam each, a prompt of a
/// batch each) that one forward pass can advance together.
/// Single-threaded: use a context from one thread at a time (many contexts may share one model).
public final class Context: @unchecked Sendable {
    public let model: Model
    public let network: CausalLM
    public let params: ContextParams
    let pool: ThreadPool
    let workspace: Workspace
    /// Sequence 0's cache (allocated with the context).
    public let cache: KVCache
    /// Per sequence id: its cache (nil until first used) and the token at each cached position.
    var caches: [KVCache?]
    var sequenceTokens: [[Int32]]
    var logitsStorage: [Float] = []
    /// Rows of `logitsStorage`, one per token that asked for logits in the last decode.
    public internal(set) var logitsRows = 0
    /// Polled between layers of every forward pass; returning true stops the decode with
    /// `LoomError.aborted` (the sequences keep the positions completed before it).
    public var shouldAbort: (() -> Bool)?
    /// The adapters this context runs with (the model's weights are untouched).
    public private(set) var adapters: [(adapter: Adapter, scale: Float)] = []
    private var appliedLoRA: AppliedLoRA?
    /// Prompt- or prefix-tuning tokens every sequence starts with (bound to this network).
    private var virtualTokens: VirtualTokens?
    /// Positions each sequence's virtual tokens take (0 without a prompt- or prefix-tuning adapter).
    public var virtualTokenCount: Int { virtualTokens?.count ?? 0 }

    /// Runs this context's next decodes with these adapters (empty: none): LoRA and (IA)³ adapters
    /// each at its strength, and at most one prompt- or prefix-tuning adapter (strength 1), whose
    /// virtual tokens then open every sequence. Other contexts on the same model are not affected.
    /// Cached positions keep what they were computed with: clear the context when switching.
    public func setAdapters(_ list: [(adapter: Adapter, scale: Float)]) throws {
        let weightAdapters = list.filter { $0.adapter.virtualTokens == nil }
        let virtual = list.filter { $0.adapter.virtualTokens != nil }
        guard virtual.count <= 1 else {
            throw LoomError.invalidArgument("a context runs at most one prompt- or prefix-tuning adapter, got \(virtual.count)")
        }
        var applied: AppliedLoRA?
        if !weightAdapters.isEmpty {
            guard let llama = network as? LlamaModel else {
                throw LoomError.unsupported("LoRA adapters run on llama-family models; this one is '\(model.architecture ?? "?")'")
            }
            applied = try AppliedLoRA(adapters: weightAdapters.map { ($0.adapter, $0.scale) }, network: llama)
        }
        var bound: VirtualTokens?
        if let v = virtual.first, let tokens = v.adapter.virtualTokens {
            guard v.scale == 1 else {
                throw LoomError.invalidArgument("prompt and prefix tuning have no strength; use scale 1 for '\(v.adapter.path)', got \(v.scale)")
            }
            bound = try tokens.bound(to: network, path: v.adapter.path)
        }
        appliedLoRA = applied
        virtualTokens = bound
        adapters = list
    }

    public init(model: Model, params: ContextParams = ContextParams()) throws {
        guard let network = model.network else {
            if model.encoder != nil {
                throw LoomError.invalidArgument("'\(model.path)' is an encoder model (architecture '\(model.architecture ?? "?")'): run it with Embedder / EncoderModel.encode (C: loom_embed, loom_encode), not a context")
            }
            if model.seq2seq != nil {
                throw LoomError.invalidArgument("'\(model.path)' is an encoder-decoder model (architecture '\(model.architecture ?? "?")'): generate with Model.seq2seqGenerate (C: loom_seq2seq_generate), not a context")
            }
            throw LoomError.invalidArgument("'\(model.path)' was loaded with vocab_only; load its weights to run it")
        }
        guard params.threads >= 1, params.threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(params.threads)")
        }
        guard params.batchSize >= 1, params.batchSize <= 1 << 16 else {
            throw LoomError.invalidArgument("n_batch must be between 1 and 65536, got \(params.batchSize)")
        }
        guard params.contextLength >= 0, params.contextLength <= 1 << 20 else {
            throw LoomError.invalidArgument("n_ctx must be between 0 (model default) and 1048576, got \(params.contextLength)")
        }
        guard params.maxSequences >= 1, params.maxSequences <= 1024 else {
            throw LoomError.invalidArgument("n_seq_max must be between 1 and 1024, got \(params.maxSequences)")
        }
        var p = params
        if p.contextLength == 0 { p.contextLength = min(network.trainedContextLength, 4096) }
        p.batchSize = min(p.batchSize, p.contextLength)
        self.model = model
        self.network = network
        self.params = p
        cache = try KVCache(layers: network.layerCount, heads: network.kvHeads, headDim: network.headDim,
                            capacity: p.contextLength, type: p.kvType)
        caches = Array(repeating: nil, count: p.maxSequences)
        caches[0] = cache
        sequenceTokens = Array(repeating: [], count: p.maxSequences)
        pool = ThreadPool(threadCount: p.threads)
        workspace = network.makeWorkspace(batch: p.batchSize, capacity: p.contextLength, threads: pool.activeThreads)
        Log.info("context: n_ctx \(p.contextLength), n_batch \(p.batchSize), KV cache \(formatBytes(cache.byteCount)) (\(p.kvType.name)) per sequence, up to \(p.maxSequences) sequences, \(pool.activeThreads) threads")
        // Last, after everything that can throw: deinit balances it.
        model.edits.contextOpened()
    }

    deinit { model.edits.contextClosed() }

    private func makeCache() throws -> KVCache {
        try KVCache(layers: cache.layers, heads: cache.heads, headDim: cache.headDim, capacity: cache.capacity,
                    type: cache.type)
    }


    /// Sequence `s`'s cache, allocated on first use.
    func cache(forSequence s: Int) throws -> KVCache {
        try checkSequence(s)
        if let c = caches[s] { return c }
        let c = try makeCache()
        caches[s] = c
        return c
    }

    func checkSequence(_ s: Int) throws {
        guard s >= 0, s < params.maxSequences else {
            throw LoomError.outOfRange("sequence \(s) is outside 0..<\(params.maxSequences) (n_seq_max)")
        }
    }

    /// Positions filled so far in sequence 0 (the next decode starts here by default).
    public var position: Int { sequenceTokens[0].count }
    /// The token at each cached position of sequence 0.
    public var cachedTokens: [Int32] { sequenceTokens[0] }
    public var contextLength: Int { params.contextLength }
    public var vocabSize: Int { network.vocabSize }
    public var maxSequences: Int { params.maxSequences }

    /// Positions filled so far in sequence `s`.
    public func position(sequence s: Int) throws -> Int {
        try checkSequence(s)
        return sequenceTokens[s].count
    }

    /// The token at each cached position of sequence `s`.
    public func cachedTokens(sequence s: Int) throws -> [Int32] {
        try checkSequence(s)
        return sequenceTokens[s]
    }

    /// Runs `tokens` at positions start, start+1, … of sequence `sequence` (start defaults to its
    /// current position; it may be lower, to overwrite a suffix). Keeps the logits `mode` asks for.
    public func decode(_ tokens: [Int32], sequence: Int = 0, startPosition: Int? = nil, logits mode: LogitsMode = .last) throws {
        try decode([SequenceInput(sequence: sequence, tokens: tokens, startPosition: startPosition, logits: mode)])
    }

    /// Advances several sequences in shared forward passes (their rows are batched together; each
    /// attends only to its own cache). The logits rows are those of each input in order: one row for
    /// `.last`, one per token for `.all`. Every input is validated before any work starts.
    public func decode(_ inputs: [SequenceInput]) throws {
        guard !inputs.isEmpty else { throw LoomError.invalidArgument("decode needs at least one sequence") }
        let vocab = network.vocabSize
        var seen = Set<Int>()
        var starts: [Int] = []
        var rowsWanted = 0
        for input in inputs {
            let s = input.sequence
            try checkSequence(s)
            guard seen.insert(s).inserted else {
                throw LoomError.invalidArgument("sequence \(s) appears twice in one decode")
            }
            guard !input.tokens.isEmpty else {
                throw LoomError.invalidArgument("decode needs at least one token (sequence \(s) has none)")
            }
            let cached = sequenceTokens[s].count
            var start = input.startPosition ?? cached
            guard start >= 0, start <= cached || start == virtualTokenCount else {
                throw LoomError.outOfRange("start position \(start) of sequence \(s) is outside 0...\(cached) (positions must follow the cached ones)")
            }
            // A sequence starting before its virtual tokens' end gets them (again) first.
            if start < virtualTokenCount { start = virtualTokenCount }
            guard input.tokens.count <= params.contextLength - start else {
                throw LoomError.outOfRange("context overflow: \(start) cached + \(input.tokens.count) new tokens > n_ctx \(params.contextLength)")
            }
            for t in input.tokens where t < 0 || Int(t) >= vocab {
                throw LoomError.outOfRange("token id \(t) is outside 0..<\(vocab)")
            }
            starts.append(start)
            rowsWanted += input.logits == .all ? input.tokens.count : (input.logits == .last ? 1 : 0)
        }
        // Allocate before touching any sequence, so a failure leaves everything as it was.
        let inputCaches = try inputs.map { try cache(forSequence: $0.sequence) }
        // Never empty: the forward pass gets a valid base address even when no row keeps logits.
        if logitsStorage.count < max(1, rowsWanted * vocab) {
            logitsStorage = [Float](repeating: 0, count: max(1, rowsWanted * vocab))
        }
        for (i, input) in inputs.enumerated() {
            if starts[i] == virtualTokenCount, virtualTokenCount > 0,
               !hasVirtualTokens(input.sequence) {
                try fillVirtualTokens(sequence: input.sequence, cache: inputCaches[i], keepLogits: false)
            }
            inputCaches[i].truncate(to: starts[i])
            sequenceTokens[input.sequence].removeSubrange(starts[i]...)
        }
        logitsRows = 0

        // Flatten to rows (input, token, position, wants logits) and run them batchSize at a time.
        var rowInput: [Int] = [], rowTokens: [Int32] = [], rowPositions: [Int32] = [], rowLogits: [Bool] = []
        for (i, input) in inputs.enumerated() {
            for (j, t) in input.tokens.enumerated() {
                rowInput.append(i)
                rowTokens.append(t)
                rowPositions.append(Int32(starts[i] + j))
                rowLogits.append(input.logits == .all || (input.logits == .last && j == input.tokens.count - 1))
            }
        }
        var done = 0
        while done < rowTokens.count {
            let end = min(rowTokens.count, done + params.batchSize)
            var runs: [SequenceRun] = []
            var runStart = done
            for r in done..<end where r + 1 == end || rowInput[r + 1] != rowInput[r] {
                runs.append(SequenceRun(rows: (runStart - done)..<(r + 1 - done), cache: inputCaches[rowInput[r]]))
                runStart = r + 1
            }
            let outputRows = (done..<end).filter { rowLogits[$0] }.map { $0 - done }
            let outOffset = logitsRows * vocab
            try rowTokens[done..<end].withUnsafeBufferPointer { tb in
                try rowPositions[done..<end].withUnsafeBufferPointer { pb in
                    try logitsStorage.withUnsafeMutableBufferPointer { lb in
                        let batch = ForwardBatch(tokens: tb, positions: pb, runs: runs, outputRows: outputRows,
                                                 shouldAbort: shouldAbort, lora: appliedLoRA)
                        try network.forward(batch, logits: lb.baseAddress! + outOffset, workspace: workspace, pool: pool)
                    }
                }
            }
            logitsRows += outputRows.count
            for r in done..<end { sequenceTokens[inputs[rowInput[r]].sequence].append(rowTokens[r]) }
            done = end
        }
    }

    /// Whether sequence `s` starts with this context's virtual tokens.
    private func hasVirtualTokens(_ s: Int) -> Bool {
        let n = virtualTokenCount
        let cached = sequenceTokens[s]
        return cached.count >= n && (0..<n).allSatisfy { cached[$0] == VirtualTokens.id($0) }
    }

    /// Puts the virtual tokens of the context's prompt- or prefix-tuning adapter at positions
    /// 0..<virtualTokenCount of `sequence`, forgetting what it held. Decodes do this by themselves
    /// when a sequence starts; call it to see the logits at the virtual positions (`.all`, prompt
    /// tuning only: a prefix has keys and values but no logits).
    public func decodeVirtualTokens(sequence: Int = 0, logits mode: LogitsMode = .none) throws {
        guard virtualTokenCount > 0 else {
            throw LoomError.invalidArgument("the context runs no prompt- or prefix-tuning adapter")
        }
        guard mode == .none || virtualTokens?.kind == .inputEmbeddings else {
            throw LoomError.invalidArgument("prefix-tuning tokens have no logits (they are keys and values only)")
        }
        guard virtualTokenCount <= params.contextLength else {
            throw LoomError.outOfRange("\(virtualTokenCount) virtual tokens do not fit n_ctx \(params.contextLength)")
        }
        try fillVirtualTokens(sequence: sequence, cache: try cache(forSequence: sequence), keepLogits: mode != .none)
    }

    private func fillVirtualTokens(sequence s: Int, cache: KVCache, keepLogits: Bool) throws {
        guard let vt = virtualTokens else { return }
        let n = vt.count
        cache.truncate(to: 0)
        sequenceTokens[s].removeAll(keepingCapacity: true)
        let ids = (0..<n).map { VirtualTokens.id($0) }
        switch vt.kind {
        case .keyValuePrefix:
            let hd = network.headDim
            for l in 0..<network.layerCount {
                vt.keys[l].withUnsafeBufferPointer { k in
                    vt.values[l].withUnsafeBufferPointer { v in
                        guard let kb = k.baseAddress, let vb = v.baseAddress else { return }
                        for p in 0..<n {
                            for h in 0..<network.kvHeads {
                                cache.store(kb + p * vt.width + h * hd, into: cache.keys(layer: l, head: h), position: p)
                                cache.store(vb + p * vt.width + h * hd, into: cache.values(layer: l, head: h), position: p)
                            }
                        }
                    }
                }
            }
            cache.count = n
            if keepLogits { logitsRows = 0 }
        case .inputEmbeddings:
            let vocab = network.vocabSize
            let rows = keepLogits ? n : 0
            if logitsStorage.count < max(1, rows * vocab) { logitsStorage = [Float](repeating: 0, count: max(1, rows * vocab)) }
            let positions = (0..<n).map { Int32($0) }
            try ids.withUnsafeBufferPointer { tb in
                try positions.withUnsafeBufferPointer { pb in
                    try vt.embeddings.withUnsafeBufferPointer { eb in
                        try logitsStorage.withUnsafeMutableBufferPointer { lb in
                            let batch = ForwardBatch(tokens: tb, positions: pb, runs: [SequenceRun(rows: 0..<n, cache: cache)],
                                                     outputRows: Array(0..<rows), shouldAbort: shouldAbort,
                                                     lora: appliedLoRA, virtualEmbeddings: eb)
                            try network.forward(batch, logits: lb.baseAddress!, workspace: workspace, pool: pool)
                        }
                    }
                }
            }
            if keepLogits { logitsRows = rows }
        }
        sequenceTokens[s] = ids
    }

    /// Logits of row `row` of the last decode (row 0 for `.last`).
    public func logits(row: Int = 0) throws -> ArraySlice<Float> {
        guard row >= 0, row < logitsRows else {
            throw LoomError.outOfRange("logits row \(row) is outside 0..<\(logitsRows) (decode with logits for those tokens)")
        }
        let v = network.vocabSize
        return logitsStorage[(row * v)..<((row + 1) * v)]
    }

    /// Runs a body over the last decode's logits (rows × vocab) without copying.
    public func withLogits<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try logitsStorage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<(logitsRows * network.vocabSize)])) }
    }

    /// Keeps only these rows of the last decode's logits, in this order (each index < logitsRows).
    public func keepLogitsRows(_ rows: [Int]) {
        let v = network.vocabSize
        let valid = rows.filter { $0 >= 0 && $0 < logitsRows }
        var kept = [Float](repeating: 0, count: max(valid.count * v, logitsStorage.count))
        for (j, r) in valid.enumerated() {
            kept.withUnsafeMutableBufferPointer { dst in
                logitsStorage.withUnsafeBufferPointer { src in
                    (dst.baseAddress! + j * v).update(from: src.baseAddress! + r * v, count: v)
                }
            }
        }
        logitsStorage = kept
        logitsRows = valid.count
    }

    /// Forgets every cached position of every sequence.
    public func clear() {
        for c in caches { c?.clear() }
        for s in sequenceTokens.indices { sequenceTokens[s].removeAll(keepingCapacity: true) }
        logitsRows = 0
    }

    /// Forgets positions `position...` of sequence `sequence`.
    public func truncate(to position: Int, sequence: Int = 0) throws {
        try checkSequence(sequence)
        guard position >= 0 else { throw LoomError.outOfRange("position \(position) is negative") }
        caches[sequence]?.truncate(to: position)
        if position < sequenceTokens[sequence].count { sequenceTokens[sequence].removeSubrange(position...) }
    }

    /// Forgets every position of sequence `sequence` (its cache memory is kept for reuse).
    public func removeSequence(_ sequence: Int) throws {
        try truncate(to: 0, sequence: sequence)
    }

    /// Makes sequence `destination` hold a copy of sequence `source` (its cached positions and tokens),
    /// e.g. to fork a shared prompt into several continuations.
    public func copySequence(from source: Int, to destination: Int) throws {
        try checkSequence(source)
        try checkSequence(destination)
        guard source != destination else { return }
        let dst = try cache(forSequence: destination)
        if let src = caches[source] { try dst.copyContents(of: src) } else { dst.clear() }
        sequenceTokens[destination] = sequenceTokens[source]
    }
}

#if canImport(Glibc)
import Glibc
#endif
