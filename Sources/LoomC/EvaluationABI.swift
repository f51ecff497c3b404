import CLoomSupport
import LoomCore
import LoomEvaluation
import LoomModels
import LoomTokenizers

// Perplexity and log-likelihood scoring (include/loom.h, "evaluation").

@_cdecl("loom_perplexity_default_params")
public func loom_perplexity_default_params() -> loom_perplexity_params {
    loom_perplexity_params(size: UInt32(MemoryLayout<loom_perplexity_params>.size), n_ctx: 0, stride: 0, n_batch: 512,
                           n_threads: Int32(ContextParams.defaultThreads), progress_callback: nil, progress_user_data: nil)
}

@_cdecl("loom_perplexity")
public func loom_perplexity(_ model: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ n: Int,
                            _ params: UnsafePointer<loom_perplexity_params>?, _ outPPL: UnsafeMutablePointer<Double>?,
                            _ outNLL: UnsafeMutablePointer<Double>?, _ outCount: UnsafeMutablePointer<Int64>?) -> loom_status {
    guarded("loom_perplexity") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        guard let ids else { throw LoomError.invalidArgument("ids is NULL") }
        guard n >= 2, n <= 1 << 28 else { throw LoomError.invalidArgument("n = \(n): perplexity needs 2 ... 2^28 tokens") }
        let p = try readParams(params, defaults: loom_perplexity_default_params(), what: "params")
        guard p.n_ctx >= 0, p.stride >= 0 else { throw LoomError.invalidArgument("n_ctx and stride must be >= 0") }
        guard p.n_threads >= 1, p.n_threads <= 512 else { throw LoomError.invalidArgument("n_threads must be in 1...512, got \(p.n_threads)") }
        let pp = PerplexityParams(windowLength: Int(p.n_ctx), stride: Int(p.stride), batchSize: Int(p.n_batch),
                                  threads: Int(p.n_threads))
        var progress: ((Double) -> Bool)?
        if let cb = p.progress_callback {
            let user = p.progress_user_data
            progress = { cb(user, Float($0)) }
        }
        let r = try Perplexity.compute(model: m, ids: Array(UnsafeBufferPointer(start: ids, count: n)), params: pp,
                                       progress: progress)
        outPPL?.pointee = r.perplexity
        outNLL?.pointee = r.nllSum
        outCount?.pointee = Int64(r.tokenCount)
        return LOOM_OK
    }
}

@_cdecl("loom_score")
public func loom_score(_ ctx: OpaquePointer?, _ context: UnsafePointer<Int32>?, _ nContext: Int,
                       _ continuation: UnsafePointer<Int32>?, _ nContinuation: Int, _ outLogprob: UnsafeMutablePointer<Double>?,
                       _ outGreedy: UnsafeMutablePointer<Bool>?, _ outTokens: UnsafeMutablePointer<Double>?) -> loom_status {
    guarded("loom_score") {
        let c = try contextHandle(ctx)
        guard let context, nContext > 0 else { throw LoomError.invalidArgument("context is NULL or n_context is 0") }
        guard let continuation, nContinuation > 0 else {
            throw LoomError.invalidArgument("continuation is NULL or n_continuation is 0")
        }
        guard nContext <= 1 << 24, nContinuation <= 1 << 24 else { throw LoomError.outOfRange("too many tokens") }
        let r = try Loglikelihood.score(context: c, contextIDs: Array(UnsafeBufferPointer(start: context, count: nContext)),
                                        continuationIDs: Array(UnsafeBufferPointer(start: continuation, count: nContinuation)))
        outLogprob?.pointee = r.logProbability
        outGreedy?.pointee = r.isGreedy
        if let outTokens {
            for (i, v) in r.tokenLogProbabilities.enumerated() { outTokens[i] = v }
        }
        return LOOM_OK
    }
}

@_cdecl("loom_eval_encode_pair")
public func loom_eval_encode_pair(_ tok: OpaquePointer?, _ context: UnsafePointer<CChar>?, _ continuation: UnsafePointer<CChar>?,
                                  _ addSpecial: Bool, _ out: UnsafeMutablePointer<Int32>?, _ cap: Int,
                                  _ outNContext: UnsafeMutablePointer<Int>?) -> Int32 {
    guardedCount("loom_eval_encode_pair") {
        let t = try borrowHandle(tok, as: TokenizerHandle.self, "tokenizer").tokenizer
        let (a, b) = try Loglikelihood.encodePair(tokenizer: t, context: try requireString(context, "context"),
                                                  continuation: try requireString(continuation, "continuation"),
                                                  addSpecial: addSpecial)
        let all = a + b
        guard all.count <= Int(Int32.max) else { throw LoomError.outOfRange("too many tokens") }
        outNContext?.pointee = a.count
        if cap < all.count {
            fail(.bufferTooSmall, "\(all.count) tokens need a buffer of \(all.count), got \(cap)")
            return -Int32(all.count)
        }
        if all.isEmpty { return 0 }
        guard let out else { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
        for (i, v) in all.enumerated() { out[i] = v }
        return Int32(all.count)
    }
}
