import CLoomSupport
import LoomCore
import LoomGeneration
import LoomModels

/// What a `loom_generation *` points to.
final class GenerationHandle {
    let results: [GenerationResult]
    init(results: [GenerationResult]) { self.results = results }
}

@_cdecl("loom_generate_default_params")
public func loom_generate_default_params() -> loom_generate_params {
    var sampling = loom_sampling_default_params()
    sampling.temperature = 0
    return loom_generate_params(size: UInt32(MemoryLayout<loom_generate_params>.size), max_tokens: 256,
                                sampling: sampling, stop: nil, n_stop: 0, on_token: nil, user_data: nil,
                                num_beams: 1, num_return_sequences: 1, length_penalty: 1,
                                early_stopping: LOOM_EARLY_STOPPING_HEURISTIC)
}

/// The Swift settings of C generate params: generation params, user processors, streaming callback.
func generationSettings(_ params: UnsafePointer<loom_generate_params>?) throws
    -> (GenerationParams, [any LogitProcessor], ((Int, Int32, [UInt8]) -> Bool)?) {
    let p = try readParams(params, defaults: loom_generate_default_params(), what: "params")
    // The nested sampling struct counts only as far as its own size says.
    var sampling = loom_generate_default_params().sampling
    let nestedSize = Int(p.sampling.size)
    if nestedSize != 0 {
        guard nestedSize >= MemoryLayout<UInt32>.size, nestedSize <= 1 << 16 else {
            throw LoomError.invalidArgument("params.sampling.size is \(nestedSize); set it with loom_sampling_default_params()")
        }
        var given = p.sampling
        withUnsafeMutableBytes(of: &sampling) { dst in
            withUnsafeBytes(of: &given) { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<min(nestedSize, src.count)]))
            }
        }
    }
    guard p.n_stop <= 1024, p.stop != nil || p.n_stop == 0 else {
        throw LoomError.invalidArgument("stop is NULL with n_stop \(p.n_stop), or more than 1024 stop strings")
    }
    var stops: [String] = []
    for i in 0..<p.n_stop {
        guard let s = p.stop?[i] else { throw LoomError.invalidArgument("stop[\(i)] is NULL") }
        stops.append(String(cString: s))
    }
    guard let early = BeamEarlyStopping(rawValue: p.early_stopping) else {
        throw LoomError.invalidArgument("early_stopping must be LOOM_EARLY_STOPPING_HEURISTIC, _ALWAYS or _NEVER, got \(p.early_stopping)")
    }
    let (settings, user) = try samplingSettings(sampling)
    let gp = GenerationParams(maxTokens: Int(p.max_tokens), sampling: settings, stop: stops, numBeams: Int(p.num_beams),
                              numReturnSequences: Int(p.num_return_sequences), lengthPenalty: Double(p.length_penalty),
                              earlyStopping: early)
    try gp.validate()
    var callback: ((Int, Int32, [UInt8]) -> Bool)?
    if let cb = p.on_token {
        let user = p.user_data
        callback = { seq, token, bytes in
            var z = bytes
            z.append(0)                      // NUL-terminated too, for callers that ignore len
            return z.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { cb(user, seq, token, $0.baseAddress, bytes.count) }
            }
        }
    }
    return (gp, user, callback)
}

@_cdecl("loom_generate")
public func loom_generate(_ ctx: OpaquePointer?, _ prompts: UnsafePointer<UnsafePointer<Int32>?>?,
                          _ nPrompt: UnsafePointer<Int>?, _ nSeq: Int,
                          _ params: UnsafePointer<loom_generate_params>?,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_generate") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let c = try contextHandle(ctx)
        guard let prompts, let nPrompt else { throw LoomError.invalidArgument("prompts or n_prompt is NULL") }
        guard nSeq >= 1, nSeq <= c.maxSequences else {
            throw LoomError.invalidArgument("n_seq = \(nSeq): between 1 and the context's n_seq_max (\(c.maxSequences)) prompts per call")
        }
        var list: [[Int32]] = []
        for i in 0..<nSeq {
            guard let p = prompts[i], nPrompt[i] > 0, nPrompt[i] <= 1 << 24 else {
                throw LoomError.invalidArgument("prompt \(i) is NULL or empty")
            }
            list.append(Array(UnsafeBufferPointer(start: p, count: nPrompt[i])))
        }
        let (gp, user, callback) = try generationSettings(params)
        let results = try Generator.generate(context: c, prompts: list, params: gp, userProcessors: user, onText: callback)
        out.pointee = retainHandle(GenerationHandle(results: results))
        return LOOM_OK
    }
}

@_cdecl("loom_seq2seq_generate_ex")
public func loom_seq2seq_generate_ex(_ model: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ n: Int, _ nThreads: Int32,
                                     _ params: UnsafePointer<loom_generate_params>?,
                                     _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_seq2seq_generate_ex") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        guard let t5 = m.seq2seq else {
            throw LoomError.unsupported("'\(m.path)' is not an encoder-decoder model with weights (architecture '\(m.architecture ?? "?")')")
        }
        guard let ids, n > 0, n <= T5Model.maxSequenceLength else {
            throw LoomError.invalidArgument("ids is NULL or n = \(n) is outside 1...\(T5Model.maxSequenceLength)")
        }
        for i in 0..<n where ids[i] < 0 || Int(ids[i]) >= t5.vocabSize {
            throw LoomError.outOfRange("ids[\(i)] = \(ids[i]) is outside the vocabulary (0..<\(t5.vocabSize))")
        }
        guard nThreads <= 512 else { throw LoomError.invalidArgument("n_threads \(nThreads) is more than 512") }
        let threads = nThreads <= 0 ? ContextParams.defaultThreads : Int(nThreads)
        let (gp, user, callback) = try generationSettings(params)
        let results = try Generator.generate(seq2seq: m, input: Array(UnsafeBufferPointer(start: ids, count: n)), params: gp,
                                             threads: threads, userProcessors: user,
                                             onText: callback.map { f in { token, text in f(0, token, text) } })
        out.pointee = retainHandle(GenerationHandle(results: results))
        return LOOM_OK
    }
}

@_cdecl("loom_generation_score")
public func loom_generation_score(_ g: OpaquePointer?, _ seq: Int, _ out: UnsafeMutablePointer<Float>?) -> loom_status {
    guarded("loom_generation_score") {
        let r = try result(g, seq)
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        guard let score = r.score else { throw LoomError.unsupported("result \(seq) was not beam-searched: it has no score") }
        out.pointee = score
        return LOOM_OK
    }
}

@_cdecl("loom_generation_free")
public func loom_generation_free(_ g: OpaquePointer?) {
    releaseHandle(g)
}

private func result(_ g: OpaquePointer?, _ seq: Int) throws -> GenerationResult {
    let h = try borrowHandle(g, as: GenerationHandle.self, "gen")
    guard seq >= 0, seq < h.results.count else {
        throw LoomError.outOfRange("sequence \(seq) is outside 0..<\(h.results.count)")
    }
    return h.results[seq]
}

@_cdecl("loom_generation_n_seq")
public func loom_generation_n_seq(_ g: OpaquePointer?) -> Int32 {
    guardedCount("loom_generation_n_seq") { Int32(try borrowHandle(g, as: GenerationHandle.self, "gen").results.count) }
}

@_cdecl("loom_generation_tokens")
public func loom_generation_tokens(_ g: OpaquePointer?, _ seq: Int, _ out: UnsafeMutablePointer<Int32>?, _ cap: Int) -> Int32 {
    guardedCount("loom_generation_tokens") {
        let ids = try result(g, seq).ids
        if cap < ids.count {
            fail(.bufferTooSmall, "\(ids.count) tokens need a buffer of \(ids.count), got \(cap)")
            return -Int32(ids.count)
        }
        if ids.isEmpty { return 0 }
        guard let out else { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
        for (i, t) in ids.enumerated() { out[i] = t }
        return Int32(ids.count)
    }
}

@_cdecl("loom_generation_text")
public func loom_generation_text(_ g: OpaquePointer?, _ seq: Int, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_generation_text") { try fillBuffer(try result(g, seq).text, buf, cap, what: "text") }
}

@_cdecl("loom_generation_finish_reason")
public func loom_generation_finish_reason(_ g: OpaquePointer?, _ seq: Int) -> Int32 {
    guardedCount("loom_generation_finish_reason") { try result(g, seq).finishReason.rawValue }
}

// loom_chat_apply_template lives in ChatABI.swift.
