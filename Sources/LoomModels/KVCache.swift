import LoomCore

/// Keys and values of every layer for `capacity` positions, one contiguous [capacity × headDim] block
/// per layer, kind and KV head — k[layer][head][position][d] — so that a head's keys form a ready
/// matrix for attention's Q·Kᵀ. Elements are f32 (exact) or f16 (half the memory; values rounded to
/// half precision). Owned by one context (single-threaded use).
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    /// .f32 or .f16.
    public let type: TensorType
    public var width: Int { heads * headDim }
    private let storage: UnsafeMutableRawPointer
    private let elementSize: Int
    /// Number of positions filled from 0 (positions are written in order).
    public internal(set) var count = 0

    public init(layers: Int, heads: Int, headDim: Int, capacity: Int, type: TensorType = .f32) throws {
        guard type == .f32 || type == .f16 else {
            throw LoomError.invalidArgument("the KV cache holds f32 or f16, not \(type.name)")
        }
        let width = heads * headDim
        let (total, o1) = layers.multipliedReportingOverflow(by: 2 * width)
        let (elements, o2) = total.multipliedReportingOverflow(by: capacity)
        guard !o1, !o2, elements > 0, elements <= 1 << 34 else {
            throw LoomError(.outOfMemory, "a KV cache of \(capacity) positions × \(layers) layers × \(width) is too large")
        }
        self.layers = layers
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        self.type = type
        elementSize = type == .f32 ? 4 : 2
        guard let p = malloc(elements * elementSize) else {
            throw LoomError(.outOfMemory, "cannot allocate a KV cache of \(elements * elementSize) bytes")
        }
        storage = p
    }

    deinit { free(storage) }

    public var byteCount: Int { layers * 2 * width * capacity * elementSize }

    /// Keys of one head: [capacity × headDim] elements of `type`.
    public func keys(layer: Int, head: Int) -> UnsafeMutableRawPointer {
        storage + ((2 * layer) * heads + head) * capacity * headDim * elementSize
    }

    /// Values of one head: [capacity × headDim] elements of `type`.
    public func values(layer: Int, head: Int) -> UnsafeMutableRawPointer {
        storage + ((2 * layer + 1) * heads + head) * capacity * headDim * elementSize
    }

    /// Stores `headDim` floats as position `position` of a head's keys or values block.
    func store(_ src: UnsafePointer<Float>, into block: UnsafeMutableRawPointer, position: Int) {
        if type == .f32 {
            (block.assumingMemoryBound(to: Float.self) + position * headDim).update(from: src, count: headDim)
        } else {
            let dst = block.assumingMemoryBound(to: UInt16.self) + position * headDim
            for d in 0..<headDim { dst[d] = floatToHalf(src[d]) }
        }
    }

    /// Element `index` of a head's block as f32.
    @inline(__always)
    func load(_ block: UnsafeMutableRawPointer, _ index: Int) -> Float {
        type == .f32 ? block.assumingMemoryBound(to: Float.self)[index]
            : halfToFloat(block.assumingMemoryBound(to: UInt16.self)[index])
    }

    /// Makes this cache hold what `other` holds (same shape and type): its filled positions are copied.
    public func copyContents(of other: KVCache) throws {
        guard other.layers == layers, other.heads == heads, other.headDim == headDim, other.type == type,
              other.count <= capacity else {
            throw LoomError.invalidArgument("cannot copy a KV cache of another shape or a longer one (\(other.count) > \(capacity) positions)")
        }
        let bytes = other.count * headDim * elementSize
        for l in 0..<layers {
            for h in 0..<heads {
                keys(layer: l, head: h).copyMemory(from: other.keys(layer: l, head: h), byteCount: bytes)
                values(layer: l, head: h).copyMemory(from: other.values(layer: l, head: h), byteCount: bytes)
            }
        }
        count = other.count
    }

    /// Bytes of the filled part of one head's block (what a state snapshot stores per block).
    var filledBlockBytes: Int { count * headDim * elementSize }

    /// Forgets positions `position...`; later decodes overwrite them.
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    public func clear() { count = 0 }
}

#if canImport(Glibc)
import Glibc
#endif
