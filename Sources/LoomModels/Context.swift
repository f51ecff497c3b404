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

    public init(contextLength: Int = 0, batchSize: Int = 512, threads: Int = ContextParams.defaultThreads,
                kvType: TensorType = .f32) {
        self.contextLength = contextLength
        self.batchSize = batchSize
        self.threads = threads
        self.kvType = kvType
    }

    /// The machine's cores, at most 8.
    public static var defaultThreads: Int { max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }
}

/// Which logits a decode keeps.
public enum LogitsMode: Sendable {
    case none, last, all
}

/// The mutable state of running one model: KV cache, thread pool, scratch and the last logits.
/// Single-threaded: use a context from one thread at a time (many contexts may share one model).
public final class Context: @unchecked Sendable {
    public let model: Model
    public let network: CausalLM
    public let params: ContextParams
    public let cache: KVCache
    let pool: ThreadPool
    let workspace: Workspace
    private var logitsStorage: [Float] = []
    /// Rows of `logitsStorage`, one per token that asked for logits in the last decode.
    public private(set) var logitsRows = 0
    /// The token at each cached position (what the KV cache holds).
    public private(set) var cachedTokens: [Int32] = []

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
        var p = params
        if p.contextLength == 0 { p.contextLength = min(network.trainedContextLength, 4096) }
        p.batchSize = min(p.batchSize, p.contextLength)
        self.model = model
        self.network = network
        self.params = p
        cache = try KVCache(layers: network.layerCount, heads: network.kvHeads, headDim: network.headDim,
                            capacity: p.contextLength, type: p.kvType)
        pool = ThreadPool(threadCount: p.threads)
        workspace = network.makeWorkspace(batch: p.batchSize, capacity: p.contextLength, threads: pool.activeThreads)
    }

    /// Positions filled so far (the next decode starts here by default).
    public var position: Int { cache.count }
    public var contextLength: Int { params.contextLength }
    public var vocabSize: Int { network.vocabSize }

    /// Runs `tokens` at positions start, start+1, … (start defaults to the current position; it may
    /// be lower, to overwrite a suffix). Keeps the logits `mode` asks for.
    public func decode(_ tokens: [Int32], startPosition: Int? = nil, logits mode: LogitsMode = .last) throws {
        guard !tokens.isEmpty else { throw LoomError.invalidArgument("decode needs at least one token") }
        let start = startPosition ?? cache.count
        guard start >= 0, start <= cache.count else {
            throw LoomError.outOfRange("start position \(start) is outside 0...\(cache.count) (positions must follow the cached ones)")
        }
        guard tokens.count <= params.contextLength - start else {
            throw LoomError.outOfRange("context overflow: \(start) cached + \(tokens.count) new tokens > n_ctx \(params.contextLength)")
        }
        let vocab = network.vocabSize
        for t in tokens where t < 0 || Int(t) >= vocab {
            throw LoomError.outOfRange("token id \(t) is outside 0..<\(vocab)")
        }
        let rowsWanted = mode == .all ? tokens.count : (mode == .last ? 1 : 0)
        if logitsStorage.count < rowsWanted * vocab { logitsStorage = [Float](repeating: 0, count: rowsWanted * vocab) }
        cache.truncate(to: start)
        cachedTokens.removeSubrange(min(start, cachedTokens.count)...)
        logitsRows = 0
        var done = 0
        while done < tokens.count {
            let n = min(params.batchSize, tokens.count - done)
            let isLast = done + n == tokens.count
            let rows: [Int] = mode == .all ? Array(0..<n) : (mode == .last && isLast ? [n - 1] : [])
            let positions = (0..<n).map { Int32(start + done + $0) }
            let outOffset = logitsRows * vocab
            try tokens[done..<(done + n)].withUnsafeBufferPointer { tb in
                try positions.withUnsafeBufferPointer { pb in
                    try logitsStorage.withUnsafeMutableBufferPointer { lb in
                        try network.forward(tokens: tb, positions: pb, cache: cache, outputRows: rows,
                                            logits: lb.baseAddress! + outOffset, workspace: workspace, pool: pool)
                    }
                }
            }
            logitsRows += rows.count
            cachedTokens += tokens[done..<(done + n)]
            done += n
        }
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

    /// Forgets every cached position.
    public func clear() {
        cache.clear()
        cachedTokens.removeAll(keepingCapacity: true)
        logitsRows = 0
    }

    /// Forgets positions `position...`.
    public func truncate(to position: Int) throws {
        guard position >= 0 else { throw LoomError.outOfRange("position \(position) is negative") }
        cache.truncate(to: position)
        if position < cachedTokens.count { cachedTokens.removeSubrange(position...) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
