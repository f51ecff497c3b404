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

    /// Runs `tokens` at `positions` (each position's predecessors must already be cached), stores
    /// their keys/values in `cache`, and writes logits for the batch rows in `outputRows` to
    /// `logits` (outputRows.count × vocabSize, in that order).
    func forward(tokens: UnsafeBufferPointer<Int32>, positions: UnsafeBufferPointer<Int32>, cache: KVCache,
                 outputRows: [Int], logits: UnsafeMutablePointer<Float>, workspace: Workspace, pool: ThreadPool) throws
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
