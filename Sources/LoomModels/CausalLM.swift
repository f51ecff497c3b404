import LoomCore
import LoomKernels

/// What a decoder-only architecture gives a Context: shapes, and a forward pass over a batch of
/// tokens that appends their keys/values to the cache and writes the logits asked for.
/// Implementations are immutable (weights are read-only), so one instance serves many contexts.
public protocol CausalLM: AnyObject, Sendable {
    var vocabSize: Int { get }
    var hiddenSize: Int { get }
    /// Context length the model was trained with.
    var trainedContextLength: Int { get }
    var layerCount: Int { get }
    /// Key/value heads and their width.
    var kvHeads: Int { get }
    var headDim: Int { get }

    /// Scratch memory for batches of up to `batch` tokens and a cache of `capacity` positions.
    func makeWorkspace(batch: Int, capacity: Int, threads: Int) -> Workspace

    /// Runs the batch's tokens at their positions (each position's predecessors in its sequence must
    /// already be cached), stores their keys/values in their sequences' caches, and writes logits for
    /// the rows in `batch.outputRows` to `logits` (outputRows.count × vocabSize, in that order).
    /// Checks `batch.shouldAbort` between layers and throws `LoomError.aborted` when it returns true;
    /// the caches then still hold exactly what they held before (their counts are not advanced).
    func forward(_ batch: ForwardBatch, logits: UnsafeMutablePointer<Float>, workspace: Workspace, pool: ThreadPool) throws
}

/// What a forward pass writes for its output rows.
public enum ForwardOutput: Sendable {
    /// Vocabulary logits (vocabSize per row).
    case logits
    /// The last layer's hidden state after the output norm (hiddenSize per row).
    case hiddenStates
}

extension CausalLM {
    /// Whether `forward` honours `ForwardBatch.output == .hiddenStates`.
    public var supportsHiddenStateOutput: Bool { self is LlamaModel }
}

/// A run of consecutive batch rows that belong to one sequence, whose keys/values live in `cache`.
public struct SequenceRun {
    public let rows: Range<Int>
    public let cache: KVCache

    public init(rows: Range<Int>, cache: KVCache) {
        self.rows = rows
        self.cache = cache
    }
}

/// The rows of one forward pass: several sequences may share it (llama.cpp's multi-sequence batch),
/// each a run of rows at increasing positions of its own KV cache. Borrowed buffers: valid for the call.
public struct ForwardBatch {
    public let tokens: UnsafeBufferPointer<Int32>
    public let positions: UnsafeBufferPointer<Int32>
    public let runs: [SequenceRun]
    /// Rows whose logits the caller wants, in output order.
    public let outputRows: [Int]
    /// Polled between layers; true stops the pass with `LoomError.aborted`.
    public let shouldAbort: (() -> Bool)?
    /// LoRA adapters to add to the weights' products (llama family).
    public let lora: AppliedLoRA?
    /// Input embeddings of virtual tokens (prompt tuning, [k × hidden]): a row whose token id is
    /// -1 - j takes row j of these instead of a token embedding.
    public let virtualEmbeddings: UnsafeBufferPointer<Float>?
    /// What `forward` writes for `outputRows`: logits (the default), or the final hidden states after
    /// the output norm (outputRows.count × hiddenSize; for heads such as sequence classification —
    /// llama family only, see `CausalLM.supportsHiddenStateOutput`).
    public var output: ForwardOutput = .logits

    public init(tokens: UnsafeBufferPointer<Int32>, positions: UnsafeBufferPointer<Int32>, runs: [SequenceRun],
                outputRows: [Int], shouldAbort: (() -> Bool)? = nil, lora: AppliedLoRA? = nil,
                virtualEmbeddings: UnsafeBufferPointer<Float>? = nil) {
        self.tokens = tokens
        self.positions = positions
        self.runs = runs
        self.outputRows = outputRows
        self.shouldAbort = shouldAbort
        self.lora = lora
        self.virtualEmbeddings = virtualEmbeddings
    }

    /// One sequence: every row goes to `cache`.
    public init(tokens: UnsafeBufferPointer<Int32>, positions: UnsafeBufferPointer<Int32>, cache: KVCache,
                outputRows: [Int], shouldAbort: (() -> Bool)? = nil) {
        self.init(tokens: tokens, positions: positions, runs: [SequenceRun(rows: 0..<tokens.count, cache: cache)],
                  outputRows: outputRows, shouldAbort: shouldAbort)
    }

    var count: Int { tokens.count }

    /// Throws `aborted` when the caller asked to stop (checked between layers).
    func checkAbort() throws {
        if let shouldAbort, shouldAbort() { throw LoomError(.aborted, "aborted by the abort callback") }
    }

    /// Stores the keys and values of every row ([n × heads·headDim] each) for `layer` in its sequence's cache.
    func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, heads: Int, headDim hd: Int, layer l: Int) {
        let width = heads * hd
        for run in runs {
            let cache = run.cache
            for i in run.rows {
                let pos = Int(positions[i])
                for h in 0..<heads {
                    cache.store(k + i * width + h * hd, into: cache.keys(layer: l, head: h), position: pos)
                    cache.store(v + i * width + h * hd, into: cache.values(layer: l, head: h), position: pos)
                }
            }
        }
    }

    /// Causal attention of each run's queries over its own cache (q, out: [n × heads·headDim]).
    func attend(q: UnsafeMutablePointer<Float>, heads: Int, kvHeads: Int, headDim hd: Int, layer: Int,
                out: UnsafeMutablePointer<Float>, workspace: Workspace, pool: ThreadPool) throws {
        let width = heads * hd
        for run in runs where !run.rows.isEmpty {
            let lo = run.rows.lowerBound
            try causalAttention(q: q + lo * width, n: run.rows.count,
                                positions: UnsafeBufferPointer(rebasing: positions[run.rows]), heads: heads,
                                kvHeads: kvHeads, headDim: hd, cache: run.cache, layer: layer,
                                out: out + lo * width, workspace: workspace, pool: pool)
        }
    }

    /// Marks the rows' positions as filled in their caches (after the last layer).
    func commit() {
        for run in runs {
            if let last = run.rows.last { run.cache.count = max(run.cache.count, Int(positions[last]) + 1) }
        }
    }
}

/// Named f32 scratch buffers of a forward pass, allocated once per context.
public final class Workspace: @unchecked Sendable {
    private var buffers: [String: UnsafeMutableBufferPointer<Float>] = [:]

    public init() {}

    deinit { for b in buffers.values { b.deallocate() } }

    /// A buffer of at least `count` floats (zeroed on first allocation).
    public func buffer(_ name: String, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let b = buffers[name], b.count >= count, let p = b.baseAddress { return p }
        buffers[name]?.deallocate()
        let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        b.initialize(repeating: 0)
        buffers[name] = b
        return b.baseAddress!
    }

    /// Total bytes held.
    public var byteCount: Int { buffers.values.reduce(0) { $0 + $1.count * 4 } }
}
