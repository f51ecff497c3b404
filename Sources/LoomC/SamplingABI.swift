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
                         penalty_last_n: -1, has_seed: false, seed: 0)
}

/// The Swift settings of a C params struct.
func samplingParams(_ p: loom_sampling_params) -> SamplingParams {
    SamplingParams(temperature: Double(p.temperature), topK: Int(p.top_k), topP: Double(p.top_p), minP: Double(p.min_p),
                   repetitionPenalty: Double(p.repetition_penalty), frequencyPenalty: Double(p.frequency_penalty),
                   presencePenalty: Double(p.presence_penalty), penaltyLastN: Int(p.penalty_last_n),
                   seed: p.has_seed ? p.seed : nil)
}

@_cdecl("loom_sampler_new")
public func loom_sampler_new(_ params: UnsafePointer<loom_sampling_params>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_sampler_new") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let p = try readParams(params, defaults: loom_sampling_default_params(), what: "params")
        out.pointee = retainHandle(SamplerHandle(chain: try SamplerChain(samplingParams(p))))
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
