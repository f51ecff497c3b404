import CLoomSupport
import LoomCore
import LoomKernels
import LoomModels

// Encoder models: embeddings of texts and hidden states of token ids (include/loom.h, "embeddings").

@_cdecl("loom_embed_default_params")
public func loom_embed_default_params() -> loom_embed_params {
    var p = loom_embed_params()
    p.size = UInt32(MemoryLayout<loom_embed_params>.size)
    p.pooling = -1
    p.normalize = -1
    p.max_length = 0
    p.n_batch = 0
    p.n_threads = 0
    p.precision = 0
    return p
}

private func encoderModel(_ model: OpaquePointer?) throws -> Model {
    let m = try borrowHandle(model, as: ModelHandle.self, "model").model
    guard m.encoder != nil else {
        throw LoomError.unsupported("'\(m.path)' is not an encoder model with weights (architecture '\(m.architecture ?? "?")')")
    }
    return m
}

private func threadCount(_ n: Int32) throws -> Int {
    guard n <= 512 else { throw LoomError.invalidArgument("n_threads is \(n); at most 512") }
    return n <= 0 ? ContextParams.defaultThreads : Int(n)
}

/// Copies `rows` one after another into the caller's float buffer (buffer convention, in floats).
private func fillFloats(_ rows: [[Float]], _ out: UnsafeMutablePointer<Float>?, _ cap: Int) throws -> Int32 {
    guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
    let total = rows.reduce(0) { $0 + $1.count }
    guard total <= Int(Int32.max) else { throw LoomError.outOfRange("the result has more than 2^31 floats") }
    if cap < total {
        fail(.bufferTooSmall, "the result needs a buffer of \(total) floats, got \(cap)")
        return -Int32(total)
    }
    guard let out else {
        if total == 0 { return 0 }
        throw LoomError.invalidArgument("out is NULL with capacity \(cap)")
    }
    var k = 0
    for row in rows {
        row.withUnsafeBufferPointer { if let b = $0.baseAddress { (out + k).update(from: b, count: row.count) } }
        k += row.count
    }
    return Int32(total)
}

@_cdecl("loom_model_n_embd")
public func loom_model_n_embd(_ model: OpaquePointer?) -> Int32 {
    guardedCount("loom_model_n_embd") {
        Int32(try encoderModel(model).encoder?.hiddenSize ?? 0)
    }
}

@_cdecl("loom_embed")
public func loom_embed(_ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?,
                       _ lens: UnsafePointer<Int>?, _ n: Int, _ params: UnsafePointer<loom_embed_params>?,
                       _ out: UnsafeMutablePointer<Float>?, _ cap: Int) -> Int32 {
    guardedCount("loom_embed") {
        let m = try encoderModel(model)
        guard n >= 0, n < 1 << 24 else { throw LoomError.invalidArgument("n is \(n)") }
        guard texts != nil || n == 0 else { throw LoomError.invalidArgument("texts is NULL with n \(n)") }
        let p = try readParams(params, defaults: loom_embed_default_params(), what: "params")
        let strings = try readTexts(texts, lens, n)
        guard p.max_length >= 0 else { throw LoomError.invalidArgument("max_length is negative") }
        guard p.n_batch >= 0 else { throw LoomError.invalidArgument("n_batch is negative") }
        guard (-1...1).contains(p.normalize) else { throw LoomError.invalidArgument("normalize is \(p.normalize); use -1, 0 or 1") }
        let configured = try Embedder(model: m, maxSequenceLength: p.max_length > 0 ? Int(p.max_length) : nil)
        var pooling = configured.pooling
        switch p.pooling {
        case -1: break
        case 0: pooling.mode = .none
        case 1: pooling.mode = .mean
        case 2: pooling.mode = .cls
        case 3: pooling.mode = .max
        default: throw LoomError.invalidArgument("pooling is \(p.pooling); use a LOOM_POOLING_* value")
        }
        let precision: MatmulPrecision
        switch p.precision {   // callers older than the field read the default, 0
        case 0: precision = .f32
        case 1: precision = .bf16
        case 2: precision = .f16
        default: throw LoomError.invalidArgument("precision is \(p.precision); use a LOOM_PRECISION_* value")
        }
        let embedder = try Embedder(model: m, pooling: pooling, maxSequenceLength: configured.maxSequenceLength)
        let threads = try threadCount(p.n_threads)
        let rows = try embedder.embed(strings, normalize: p.normalize < 0 ? nil : p.normalize == 1,
                                      batchSize: p.n_batch > 0 ? Int(p.n_batch) : 32, threads: threads,
                                      precision: precision)
        return try fillFloats(rows, out, cap)
    }
}

@_cdecl("loom_encode")
public func loom_encode(_ model: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ offsets: UnsafePointer<Int>?,
                        _ n: Int, _ nThreads: Int32, _ out: UnsafeMutablePointer<Float>?, _ cap: Int) -> Int32 {
    guardedCount("loom_encode") {
        let m = try encoderModel(model)
        guard let encoder = m.encoder else { throw LoomError.unsupported("not an encoder model") }
        guard n >= 0, n < 1 << 24 else { throw LoomError.invalidArgument("n is \(n)") }
        guard let offsets else { throw LoomError.invalidArgument("offsets is NULL") }
        guard offsets[0] == 0 else { throw LoomError.invalidArgument("offsets[0] is \(offsets[0]), must be 0") }
        var rows: [[Int32]] = []
        rows.reserveCapacity(n)
        for i in 0..<n {
            let lo = offsets[i], hi = offsets[i + 1]
            guard hi >= lo, hi - lo <= encoder.maxSequenceLength else {
                throw LoomError.outOfRange("row \(i) spans offsets \(lo)..<\(hi) (at most \(encoder.maxSequenceLength) tokens)")
            }
            guard let ids else { throw LoomError.invalidArgument("ids is NULL") }
            rows.append(Array(UnsafeBufferPointer(start: ids + lo, count: hi - lo)))
        }
        let total = offsets[n] * encoder.hiddenSize
        guard total <= Int(Int32.max) else { throw LoomError.outOfRange("the result has more than 2^31 floats") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        if cap < total {
            fail(.bufferTooSmall, "the result needs a buffer of \(total) floats, got \(cap)")
            return -Int32(total)
        }
        let result = try encoder.encode(rows, threads: try threadCount(nThreads))
        return try fillFloats([result.hiddenStates], out, cap)
    }
}
