import CLoomSupport
import LoomCore
import LoomGeneration
import LoomModels

// Sequence classification, reward models and best-of-n (include/loom.h, "sequence classification").

@_cdecl("loom_classify_default_params")
public func loom_classify_default_params() -> loom_classify_params {
    var p = loom_classify_params()
    p.size = UInt32(MemoryLayout<loom_classify_params>.size)
    p.max_length = 0
    p.add_special = true
    p.parse_special = false
    p.n_threads = 0
    return p
}

private func classifierModel(_ model: OpaquePointer?) throws -> (Model, SequenceClassificationHead) {
    let m = try borrowHandle(model, as: ModelHandle.self, "model").model
    return (m, try m.requireClassifier())
}

private func classifyThreads(_ n: Int32) throws -> Int {
    guard n <= 512 else { throw LoomError.invalidArgument("n_threads is \(n); at most 512") }
    return n <= 0 ? ContextParams.defaultThreads : Int(n)
}

/// The Swift settings of C classify params.
private func classifySettings(_ params: UnsafePointer<loom_classify_params>?, defaults: loom_classify_params)
    throws -> ClassifyParams {
    let p = try readParams(params, defaults: defaults, what: "params")
    guard p.max_length >= 0 else { throw LoomError.invalidArgument("max_length is negative") }
    return ClassifyParams(maxLength: p.max_length > 0 ? Int(p.max_length) : nil, addSpecial: p.add_special,
                          parseSpecial: p.parse_special, threads: try classifyThreads(p.n_threads))
}

/// Checks the caller's float buffer for `total` floats (buffer convention); nil when too small.
private func checkFloatBuffer(_ total: Int, _ out: UnsafeMutablePointer<Float>?, _ cap: Int) throws -> Int32? {
    guard total <= Int(Int32.max) else { throw LoomError.outOfRange("the result has more than 2^31 floats") }
    if cap < total {
        fail(.bufferTooSmall, "the result needs a buffer of \(total) floats, got \(cap)")
        return -Int32(total)
    }
    if total > 0, out == nil { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
    return nil
}

private func write(_ rows: [[Float]], _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    var k = 0
    guard let out else { return 0 }
    for row in rows {
        for v in row { out[k] = v; k += 1 }
    }
    return Int32(k)
}

@_cdecl("loom_model_n_labels")
public func loom_model_n_labels(_ model: OpaquePointer?) -> Int32 {
    guardedCount("loom_model_n_labels") { Int32(try classifierModel(model).1.labelCount) }
}

@_cdecl("loom_model_label")
public func loom_model_label(_ model: OpaquePointer?, _ label: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                             _ cap: Int) -> Int32 {
    guardedCount("loom_model_label") {
        let head = try classifierModel(model).1
        guard label >= 0, Int(label) < head.labelCount else {
            throw LoomError.outOfRange("label \(label) is outside 0..<\(head.labelCount)")
        }
        return try fillBuffer(head.labels[Int(label)], buf, cap, what: "label")
    }
}

@_cdecl("loom_classify")
public func loom_classify(_ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?,
                          _ lens: UnsafePointer<Int>?, _ n: Int, _ params: UnsafePointer<loom_classify_params>?,
                          _ out: UnsafeMutablePointer<Float>?, _ cap: Int) -> Int32 {
    guardedCount("loom_classify") {
        let (m, head) = try classifierModel(model)
        guard n >= 0, n < 1 << 24 else { throw LoomError.invalidArgument("n is \(n)") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        guard texts != nil || n == 0 else { throw LoomError.invalidArgument("texts is NULL with n \(n)") }
        let settings = try classifySettings(params, defaults: loom_classify_default_params())
        if let short = try checkFloatBuffer(n * head.labelCount, out, cap) { return short }
        let strings = try readTexts(texts, lens, n)
        return write(try m.classify(strings, params: settings), out)
    }
}

@_cdecl("loom_classify_tokens")
public func loom_classify_tokens(_ model: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ offsets: UnsafePointer<Int>?,
                                 _ n: Int, _ nThreads: Int32, _ out: UnsafeMutablePointer<Float>?, _ cap: Int) -> Int32 {
    guardedCount("loom_classify_tokens") {
        let (m, head) = try classifierModel(model)
        guard n >= 0, n < 1 << 24 else { throw LoomError.invalidArgument("n is \(n)") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        guard let offsets else { throw LoomError.invalidArgument("offsets is NULL") }
        guard offsets[0] == 0 else { throw LoomError.invalidArgument("offsets[0] is \(offsets[0]), must be 0") }
        let threads = try classifyThreads(nThreads)
        var rows: [[Int32]] = []
        rows.reserveCapacity(n)
        for i in 0..<n {
            let lo = offsets[i], hi = offsets[i + 1]
            guard hi > lo, hi - lo <= 1 << 20 else {
                throw LoomError.invalidArgument("row \(i) spans offsets \(lo)..<\(hi) (rows need 1 ... 2^20 tokens)")
            }
            guard let ids else { throw LoomError.invalidArgument("ids is NULL") }
            rows.append(Array(UnsafeBufferPointer(start: ids + lo, count: hi - lo)))
        }
        if let short = try checkFloatBuffer(n * head.labelCount, out, cap) { return short }
        return write(try m.classify(ids: rows, threads: threads), out)
    }
}

@_cdecl("loom_generate_best_of")
public func loom_generate_best_of(_ ctx: OpaquePointer?, _ prompt: UnsafePointer<Int32>?, _ nPrompt: Int,
                                  _ promptText: UnsafePointer<CChar>?, _ n: Int,
                                  _ params: UnsafePointer<loom_generate_params>?, _ rewardModel: OpaquePointer?,
                                  _ rewardParams: UnsafePointer<loom_classify_params>?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_generate_best_of") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let c = try contextHandle(ctx)
        let rm = try borrowHandle(rewardModel, as: ModelHandle.self, "reward_model").model
        guard let prompt, nPrompt > 0, nPrompt <= 1 << 24 else {
            throw LoomError.invalidArgument("prompt is NULL or n_prompt = \(nPrompt) is outside 1...2^24")
        }
        guard n >= 1, n <= c.maxSequences else {
            throw LoomError.invalidArgument("n = \(n): between 1 and the context's n_seq_max (\(c.maxSequences)) candidates")
        }
        var rewardDefaults = loom_classify_default_params()
        rewardDefaults.parse_special = true
        let settings = try classifySettings(rewardParams, defaults: rewardDefaults)
        let (gp, user, _) = try generationSettings(params)
        let results = try BestOfN.generate(context: c, prompt: Array(UnsafeBufferPointer(start: prompt, count: nPrompt)),
                                           n: n, params: gp, rewardModel: rm,
                                           promptText: promptText.map { String(cString: $0) },
                                           rewardParams: settings, userProcessors: user)
        out.pointee = retainHandle(GenerationHandle(results: results))
        return LOOM_OK
    }
}

@_cdecl("loom_generation_reward")
public func loom_generation_reward(_ g: OpaquePointer?, _ seq: Int, _ out: UnsafeMutablePointer<Float>?) -> loom_status {
    guarded("loom_generation_reward") {
        let h = try borrowHandle(g, as: GenerationHandle.self, "gen")
        guard seq >= 0, seq < h.results.count else {
            throw LoomError.outOfRange("sequence \(seq) is outside 0..<\(h.results.count)")
        }
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        guard let reward = h.results[seq].reward else {
            throw LoomError.unsupported("result \(seq) was not scored by a reward model")
        }
        out.pointee = reward
        return LOOM_OK
    }
}

@_cdecl("loom_reward_preference")
public func loom_reward_preference(_ model: OpaquePointer?, _ textA: UnsafePointer<CChar>?, _ textB: UnsafePointer<CChar>?,
                                   _ params: UnsafePointer<loom_classify_params>?,
                                   _ out: UnsafeMutablePointer<Float>?) -> loom_status {
    guarded("loom_reward_preference") {
        let (m, _) = try classifierModel(model)
        let a = try requireString(textA, "text_a"), b = try requireString(textB, "text_b")
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let settings = try classifySettings(params, defaults: loom_classify_default_params())
        out.pointee = try m.preferenceProbability(a, over: b, params: settings)
        return LOOM_OK
    }
}
