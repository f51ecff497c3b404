import CLoomSupport
import LoomCore
import LoomModels

// Encoder-decoder models (T5): whole greedy generations from encoder input ids (include/loom.h, "seq2seq").

@_cdecl("loom_model_is_seq2seq")
public func loom_model_is_seq2seq(_ model: OpaquePointer?) -> Int32 {
    guardedCount("loom_model_is_seq2seq") {
        try borrowHandle(model, as: ModelHandle.self, "model").model.seq2seq != nil ? 1 : 0
    }
}

@_cdecl("loom_seq2seq_generate")
public func loom_seq2seq_generate(_ model: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ n: Int,
                                  _ maxNewTokens: Int32, _ out: UnsafeMutablePointer<Int32>?, _ cap: Int) -> Int32 {
    guardedCount("loom_seq2seq_generate") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        guard let t5 = m.seq2seq else {
            throw LoomError.unsupported("'\(m.path)' is not an encoder-decoder model with weights (architecture '\(m.architecture ?? "?")')")
        }
        guard n > 0, n <= T5Model.maxSequenceLength else {
            throw LoomError.invalidArgument("n is \(n); the input needs 1...\(T5Model.maxSequenceLength) tokens")
        }
        guard let ids else { throw LoomError.invalidArgument("ids is NULL") }
        guard maxNewTokens >= 0 else { throw LoomError.invalidArgument("max_new_tokens is \(maxNewTokens)") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        // Invalid ids are out-of-range before any compute (the encoder checks them too, as invalid arguments).
        for i in 0..<n where ids[i] < 0 || Int(ids[i]) >= t5.vocabSize {
            throw LoomError.outOfRange("ids[\(i)] = \(ids[i]) is outside the vocabulary (0..<\(t5.vocabSize))")
        }
        let result = try m.seq2seqGenerate(ids: Array(UnsafeBufferPointer(start: ids, count: n)),
                                          maxNewTokens: Int(maxNewTokens), threadCount: ContextParams.defaultThreads)
        let count = result.tokens.count
        if cap < count {
            fail(.bufferTooSmall, "the result needs a buffer of \(count) tokens, got \(cap)")
            return -Int32(count)
        }
        guard let out else {
            if count == 0 { return 0 }
            throw LoomError.invalidArgument("out is NULL with capacity \(cap)")
        }
        result.tokens.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: count) } }
        return Int32(count)
    }
}
