import LoomCore

extension EncoderModel {
    /// The masked-LM head's logits of one sequence: `ids.count` × `vocabSize` values, row-major (token i
    /// at i · vocabSize). Throws `unsupported` when the encoder has no head (GGUF conversions, MiniLM),
    /// `outOfRange` for invalid ids or a sequence longer than the model's positions.
    public func maskedLMLogits(_ ids: [Int32], pool: ThreadPool) throws -> [Float] {
        guard hasTokenLogitsHead else {
            throw LoomError.unsupported("this encoder has no masked-LM head (e.g. a GGUF conversion or a sentence-embedding model)")
        }
        guard !ids.isEmpty else { throw LoomError.invalidArgument("no token ids") }
        let (total, overflow) = ids.count.multipliedReportingOverflow(by: vocabSize)
        guard !overflow, total <= Int(Int32.max) else { throw LoomError.outOfRange("the logits would exceed 2^31 floats") }
        let hidden = try encode([ids], pool: pool).hiddenStates
        var logits = [Float](repeating: 0, count: total)
        try hidden.withUnsafeBufferPointer { h in
            try logits.withUnsafeMutableBufferPointer { l in
                guard let hb = h.baseAddress, let lb = l.baseAddress else { return }
                try tokenLogits(hidden: hb, count: ids.count, logits: lb, pool: pool)
            }
        }
        return logits
    }

    /// `maskedLMLogits` on a pool of `threads` threads made for this call.
    public func maskedLMLogits(_ ids: [Int32], threads: Int = ContextParams.defaultThreads) throws -> [Float] {
        guard threads >= 1, threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(threads)")
        }
        return try maskedLMLogits(ids, pool: ThreadPool(threadCount: threads))
    }
}
