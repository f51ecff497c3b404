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
                                sampling: sampling, stop: nil, n_stop: 0, on_token: nil, user_data: nil)
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
        guard nSeq == 1 else {
            throw LoomError.unsupported("n_seq = \(nSeq): this version generates one sequence per call")
        }
        let p = try readParams(params, defaults: loom_generate_default_params(), what: "params")
        // The nested sampling struct is only as large as the caller's generate params allow.
        var sampling = p.sampling
        if sampling.size == 0 { sampling = loom_generate_default_params().sampling }
        guard let first = prompts[0], nPrompt[0] > 0, nPrompt[0] <= 1 << 24 else {
            throw LoomError.invalidArgument("prompt 0 is NULL or empty")
        }
        let prompt = Array(UnsafeBufferPointer(start: first, count: nPrompt[0]))
        guard p.n_stop <= 1024, p.stop != nil || p.n_stop == 0 else {
            throw LoomError.invalidArgument("stop is NULL with n_stop \(p.n_stop), or more than 1024 stop strings")
        }
        var stops: [String] = []
        for i in 0..<p.n_stop {
            guard let s = p.stop?[i] else { throw LoomError.invalidArgument("stop[\(i)] is NULL") }
            stops.append(String(cString: s))
        }
        let gp = GenerationParams(maxTokens: Int(p.max_tokens), sampling: samplingParams(sampling), stop: stops)
        var callback: ((Int32, [UInt8]) -> Bool)?
        if let cb = p.on_token {
            let user = p.user_data
            callback = { token, bytes in
                bytes.withUnsafeBufferPointer { b in
                    b.withMemoryRebound(to: CChar.self) { cb(user, 0, token, $0.baseAddress, $0.count) }
                }
            }
        }
        let r = try Generator.generate(context: c, prompt: prompt, params: gp, onText: callback)
        out.pointee = retainHandle(GenerationHandle(results: [r]))
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

@_cdecl("loom_chat_apply_template")
public func loom_chat_apply_template(_ model: OpaquePointer?, _ tmpl: UnsafePointer<CChar>?,
                                     _ messages: UnsafePointer<loom_chat_message>?, _ n: Int, _ addGenerationPrompt: Bool,
                                     _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_chat_apply_template") {
        guard n >= 0, n <= 1 << 20, messages != nil || n == 0 else {
            throw LoomError.invalidArgument("messages is NULL with n_messages \(n)")
        }
        var list: [ChatMessage] = []
        for i in 0..<n {
            guard let m = messages?[i], let role = m.role, let content = m.content else {
                throw LoomError.invalidArgument("message \(i) has a NULL role or content")
            }
            list.append(ChatMessage(role: String(cString: role), content: String(cString: content)))
        }
        let template = tmpl.map { String(cString: $0) }
        let text: String
        if let model {
            let m = try borrowHandle(model, as: ModelHandle.self, "model").model
            text = try ChatTemplate.apply(model: m, template: template, messages: list, addGenerationPrompt: addGenerationPrompt)
        } else {
            guard let template else { throw LoomError.invalidArgument("model and tmpl are both NULL") }
            text = try ChatTemplate.apply(template: template, messages: list, addGenerationPrompt: addGenerationPrompt,
                                          bosToken: "", eosToken: "")
        }
        return try fillBuffer(text, buf, cap, what: "chat prompt")
    }
}
