#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoomCore

/// Snapshots of a context (llama.cpp's state save/load): every sequence's tokens and the filled part
/// of its KV cache, and the last decode's logits, so a restored context continues exactly as the saved
/// one would have. A snapshot fits only a context of the same model shape and KV type.
///
/// Layout (little-endian): "LOOMCTX1", u32 version 1, u32 layers, kv heads, head dim, vocab, kv type
/// (0 f32, 1 f16), u32 architecture length + bytes, u32 sequences with tokens; per sequence: u32 id,
/// u32 count, count × i32 tokens, then per layer, keys then values, per head count × headDim elements;
/// last: u32 logits rows, rows × vocab f32.
extension Context {
    static let stateMagic = Array("LOOMCTX1".utf8)

    /// The context's state as bytes.
    public func saveState() -> [UInt8] {
        var out = Self.stateMagic
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        u32(1)
        u32(network.layerCount); u32(network.kvHeads); u32(network.headDim); u32(network.vocabSize)
        u32(params.kvType == .f16 ? 1 : 0)
        let arch = Array((model.architecture ?? "").utf8)
        u32(arch.count); out += arch
        let filled = (0..<caches.count).filter { !sequenceTokens[$0].isEmpty }
        u32(filled.count)
        for s in filled {
            let tokens = sequenceTokens[s]
            u32(s); u32(tokens.count)
            tokens.withUnsafeBytes { out += $0 }
            guard let cache = caches[s] else { continue }
            let bytes = cache.filledBlockBytes
            for l in 0..<cache.layers {
                for block in [cache.keys, cache.values] {
                    for h in 0..<cache.heads {
                        out += UnsafeRawBufferPointer(start: block(l, h), count: bytes)
                    }
                }
            }
        }
        u32(logitsRows)
        logitsStorage.withUnsafeBytes { out += $0[0..<(logitsRows * network.vocabSize * 4)] }
        return out
    }

    /// Replaces the context's state with a snapshot from `saveState`. The snapshot is checked whole
    /// before anything changes: on error the context is as it was.
    public func restoreState(_ bytes: [UInt8]) throws {
        var r = StateReader(bytes: bytes)
        guard try r.take(Self.stateMagic.count) == Self.stateMagic[...] else {
            throw LoomError(.format, "not a Loom context state (bad magic)")
        }
        guard try r.u32() == 1 else { throw LoomError(.format, "unsupported context state version") }
        let shape = [try r.u32(), try r.u32(), try r.u32(), try r.u32()]
        let want = [network.layerCount, network.kvHeads, network.headDim, network.vocabSize]
        guard shape == want else {
            throw LoomError.invalidArgument("the state is of a model with layers/kv heads/head dim/vocab \(shape), this context's is \(want)")
        }
        let kvType: TensorType = try r.u32() == 1 ? .f16 : .f32
        guard kvType == params.kvType else {
            throw LoomError.invalidArgument("the state holds a \(kvType.name) KV cache, this context's is \(params.kvType.name)")
        }
        let archLength = try r.u32()
        let arch = String(decoding: try r.take(archLength), as: UTF8.self)
        guard arch == (model.architecture ?? "") else {
            throw LoomError.invalidArgument("the state is of a '\(arch)' model, this context runs '\(model.architecture ?? "")'")
        }
        let elementSize = kvType == .f16 ? 2 : 4
        let blockCount = network.layerCount * 2 * network.kvHeads
        var sequences: [(id: Int, tokens: [Int32], blocks: ArraySlice<UInt8>)] = []
        let n = try r.u32()
        guard n <= params.maxSequences else { throw LoomError.invalidArgument("the state has \(n) sequences; this context holds \(params.maxSequences)") }
        for _ in 0..<n {
            let id = try r.u32(), count = try r.u32()
            guard id < params.maxSequences, !sequences.contains(where: { $0.id == id }) else {
                throw LoomError.invalidArgument("state sequence \(id) is outside 0..<\(params.maxSequences) or repeated")
            }
            guard count <= params.contextLength else {
                throw LoomError.invalidArgument("state sequence \(id) holds \(count) positions; this context has \(params.contextLength)")
            }
            let tokenBytes = try r.take(count * 4)
            let tokens = tokenBytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }.map { Int32(littleEndian: $0) }
            // Negative ids are virtual tokens (-1 - k at position k), when this context runs them.
            for (k, t) in tokens.enumerated() where Int(t) >= network.vocabSize || (t < 0 && (t != VirtualTokens.id(k) || k >= virtualTokenCount)) {
                throw LoomError(.format, "state sequence \(id) holds token \(t) at position \(k), outside the vocabulary")
            }
            sequences.append((id, tokens, try r.take(blockCount * count * network.headDim * elementSize)))
        }
        let rows = try r.u32()
        let logits = try r.take(rows * network.vocabSize * 4)
        guard r.atEnd else { throw LoomError(.format, "the context state has \(bytes.count - r.offset) trailing bytes") }

        // Apply.
        let caches = try sequences.map { try cache(forSequence: $0.id) }
        clear()
        for (seq, cache) in zip(sequences, caches) {
            let bytes = seq.tokens.count * network.headDim * elementSize
            seq.blocks.withUnsafeBytes { src in
                var offset = 0
                for l in 0..<cache.layers {
                    for block in [cache.keys, cache.values] {
                        for h in 0..<cache.heads {
                            if bytes > 0, let base = src.baseAddress { block(l, h).copyMemory(from: base + offset, byteCount: bytes) }
                            offset += bytes
                        }
                    }
                }
            }
            cache.count = seq.tokens.count
            sequenceTokens[seq.id] = seq.tokens
        }
        if logitsStorage.count < rows * network.vocabSize { logitsStorage = [Float](repeating: 0, count: rows * network.vocabSize) }
        logits.withUnsafeBytes { src in
            logitsStorage.withUnsafeMutableBytes { dst in
                if let d = dst.baseAddress, let s = src.baseAddress { d.copyMemory(from: s, byteCount: src.count) }
            }
        }
        logitsRows = rows
    }

    /// Writes `saveState()` to a file (replacing it).
    public func saveState(toFile path: String) throws {
        let bytes = saveState()
        guard let f = fopen(path, "wb") else { throw LoomError(.io, "cannot open '\(path)' for writing") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard written == bytes.count, closed == 0 else { throw LoomError(.io, "cannot write the state to '\(path)'") }
    }

    /// Restores a state written by `saveState(toFile:)`.
    public func restoreState(fromFile path: String) throws {
        try restoreState(try readWholeFile(path, limit: 1 << 36))
    }
}

/// Bounds-checked reading of a state snapshot (it may be truncated or hostile).
private struct StateReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else { throw LoomError(.format, "the context state is truncated") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u32() throws -> Int {
        let b = try take(4)
        return b.reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
