import CLoomSupport
import LoomCore
import LoomGeneration
import LoomModels

/// What a `loom_sampler *` points to: the chain and a scratch copy of the logits it works on.
final class SamplerHandle {
    let chain: SamplerChain
    var scratch: [Float] = []
    init(chain: SamplerChain) { self.chain = chain }
}

@_cdecl("loom_sampling_default_params")
public func loom_sampling_default_params() -> loom_sampling_params {
    loom_sampling_params(size: UInt32(MemoryLayout<loom_sampling_params>.size), temperature: 1, top_k: 0, top_p: 1,
                         min_p: 0, repetition_penalty: 1, frequency_penalty: 0, presence_penalty: 0,
                         penalty_last_n: -1, has_seed: false, seed: 0, no_repeat_ngram_size: 0, typical_p: 1,
                         min_new_tokens: 0, logit_bias: nil, n_logit_bias: 0, bad_words: nil, bad_words_lengths: nil,
                         n_bad_words: 0, logits_callback: nil, logits_user_data: nil,
                         reserved: (0, 0, 0, 0, 0, 0, 0, 0))
}

/// The Swift settings of a C params struct, and the user's logits callback as a processor.
func samplingSettings(_ p: loom_sampling_params) throws -> (SamplingParams, [any LogitProcessor]) {
    let r = p.reserved
    guard [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7].allSatisfy({ $0 == 0 }) else {
        throw LoomError.invalidArgument("loom_sampling_params.reserved must be zero (settings of a newer loom.h than this library, \(versionString)?)")
    }
    var s = SamplingParams(temperature: Double(p.temperature), topK: Int(p.top_k), topP: Double(p.top_p), minP: Double(p.min_p),
                           repetitionPenalty: Double(p.repetition_penalty), frequencyPenalty: Double(p.frequency_penalty),
                           presencePenalty: Double(p.presence_penalty), penaltyLastN: Int(p.penalty_last_n),
                           noRepeatNGramSize: Int(p.no_repeat_ngram_size), seed: p.has_seed ? p.seed : nil)
    s.typicalP = Double(p.typical_p)
    s.minNewTokens = Int(p.min_new_tokens)
    guard p.n_logit_bias <= 1 << 24, p.logit_bias != nil || p.n_logit_bias == 0 else {
        throw LoomError.invalidArgument("logit_bias is NULL with n_logit_bias \(p.n_logit_bias), or more than 2^24 entries")
    }
    for i in 0..<p.n_logit_bias {
        guard let e = p.logit_bias?[i] else { break }
        s.logitBias[e.token, default: 0] += e.bias
    }
    guard p.n_bad_words <= 1 << 20, (p.bad_words != nil && p.bad_words_lengths != nil) || p.n_bad_words == 0 else {
        throw LoomError.invalidArgument("bad_words or bad_words_lengths is NULL with n_bad_words \(p.n_bad_words), or more than 2^20 words")
    }
    var offset = 0
    for i in 0..<p.n_bad_words {
        guard let lengths = p.bad_words_lengths, let words = p.bad_words else { break }
        let n = lengths[i]
        guard n >= 1, n <= 1 << 16, offset <= (1 << 30) - n else {
            throw LoomError.invalidArgument("bad_words_lengths[\(i)] = \(n) is outside 1...65536")
        }
        s.badWords.append(Array(UnsafeBufferPointer(start: words + offset, count: n)))
        offset += n
    }
    var user: [any LogitProcessor] = []
    if let cb = p.logits_callback {
        let data = p.logits_user_data
        user.append(LogitCallbackProcessor { logits, context in
            cb(data, context.history.baseAddress, context.history.count, logits.baseAddress, logits.count)
        })
    }
    return (s, user)
}

@_cdecl("loom_sampler_new")
public func loom_sampler_new(_ params: UnsafePointer<loom_sampling_params>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_sampler_new") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let p = try readParams(params, defaults: loom_sampling_default_params(), what: "params")
        let (settings, user) = try samplingSettings(p)
        out.pointee = retainHandle(SamplerHandle(chain: try SamplerChain(settings, userProcessors: user)))
        return LOOM_OK
    }
}

@_cdecl("loom_sampler_free")
public func loom_sampler_free(_ s: OpaquePointer?) {
    releaseHandle(s)
}

@_cdecl("loom_sampler_sample")
public func loom_sampler_sample(_ s: OpaquePointer?, _ ctx: OpaquePointer?, _ row: Int32,
                                _ history: UnsafePointer<Int32>?, _ nHistory: Int,
                                _ out: UnsafeMutablePointer<Int32>?) -> loom_status {
    guarded("loom_sampler_sample") {
        let h = try borrowHandle(s, as: SamplerHandle.self, "sampler")
        let c = try contextHandle(ctx)
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        guard nHistory >= 0, history != nil || nHistory == 0 else {
            throw LoomError.invalidArgument("history is NULL with n_history \(nHistory)")
        }
        let r = row == -1 ? c.logitsRows - 1 : Int(row)
        let logits = try c.logits(row: r)
        h.scratch = Array(logits)
        let hist = Array(UnsafeBufferPointer(start: history, count: nHistory))
        let token = try h.scratch.withUnsafeMutableBufferPointer { try h.chain.sample(logits: $0, history: hist) }
        h.chain.accept(token)
        out.pointee = token
        return LOOM_OK
    }
}

@_cdecl("loom_sampler_reset")
public func loom_sampler_reset(_ s: OpaquePointer?) -> loom_status {
    guarded("loom_sampler_reset") {
        try borrowHandle(s, as: SamplerHandle.self, "sampler").chain.reset()
        return LOOM_OK
    }
}

@_cdecl("loom_sampler_seed")
public func loom_sampler_seed(_ s: OpaquePointer?) -> UInt64 {
    ((try? borrowHandle(s, as: SamplerHandle.self, "sampler"))?.chain.seed ?? nil) ?? 0
}
