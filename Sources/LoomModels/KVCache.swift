import LoomCore

/// Keys and values of every layer for `capacity` positions, f32, one contiguous [capacity × headDim]
/// block per layer, kind and KV head — k[layer][head][position][d] — so that a head's keys form a
/// ready matrix for attention's Q·Kᵀ. Owned by one context (single-threaded use).
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    public var width: Int { heads * headDim }
    private let storage: UnsafeMutablePointer<Float>
    /// Number of positions filled from 0 (positions are written in order).
    public internal(set) var count = 0

    public init(layers: Int, heads: Int, headDim: Int, capacity: Int) throws {
        let width = heads * headDim
        let (total, o1) = layers.multipliedReportingOverflow(by: 2 * width)
        let (floats, o2) = total.multipliedReportingOverflow(by: capacity)
        guard !o1, !o2, floats > 0, floats <= 1 << 34 else {
            throw LoomError(.outOfMemory, "a KV cache of \(capacity) positions × \(layers) layers × \(width) is too large")
        }
        self.layers = layers
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        guard let p = malloc(floats * 4) else {
            throw LoomError(.outOfMemory, "cannot allocate a KV cache of \(floats * 4) bytes")
        }
        storage = p.bindMemory(to: Float.self, capacity: floats)
    }

    deinit { free(storage) }

    public var byteCount: Int { layers * 2 * width * capacity * 4 }

    /// Keys of one head: [capacity × headDim].
    public func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        storage + ((2 * layer) * heads + head) * capacity * headDim
    }

    /// Values of one head: [capacity × headDim].
    public func values(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        storage + ((2 * layer + 1) * heads + head) * capacity * headDim
    }

    /// Forgets positions `position...`; later decodes overwrite them.
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    public func clear() { count = 0 }
}

#if canImport(Glibc)
import Glibc
#endif
