import CLoomSupport
import LoomCore
import LoomModels
import LoomTokenizers

// Masked language models: the MLM head's logits (include/loom.h, "masked language models").

@_cdecl("loom_mlm_logits")
public func loom_mlm_logits(_ model: OpaquePointer?, _ ids: UnsafePointer<Int32>?, _ n: Int,
                            _ out: UnsafeMutablePointer<Float>?, _ cap: Int) -> Int32 {
    guardedCount("loom_mlm_logits") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        guard let encoder = m.encoder else {
            throw LoomError.unsupported("'\(m.path)' is not an encoder model with weights (architecture '\(m.architecture ?? "?")')")
        }
        guard encoder.hasTokenLogitsHead else {
            throw LoomError.unsupported("'\(m.path)' has no masked-LM head (e.g. a GGUF conversion or a sentence-embedding model)")
        }
        guard n >= 1, n <= encoder.maxSequenceLength else {
            throw LoomError.outOfRange("n is \(n); a sequence has 1...\(encoder.maxSequenceLength) tokens")
        }
        guard let ids else { throw LoomError.invalidArgument("ids is NULL") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        let (total, overflow) = n.multipliedReportingOverflow(by: encoder.vocabSize)
        guard !overflow, total <= Int(Int32.max) else { throw LoomError.outOfRange("the result has more than 2^31 floats") }
        // Size check first: a caller asking for the size pays no forward pass.
        if cap < total {
            fail(.bufferTooSmall, "the result needs a buffer of \(total) floats, got \(cap)")
            return -Int32(total)
        }
        guard let out else { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
        let logits = try encoder.maskedLMLogits(Array(UnsafeBufferPointer(start: ids, count: n)))
        logits.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: total) } }
        return Int32(total)
    }
}

@_cdecl("loom_tokenizer_mask")
public func loom_tokenizer_mask(_ tok: OpaquePointer?) -> Int32 {
    do {
        return try borrowHandle(tok, as: TokenizerHandle.self, "tokenizer").tokenizer.maskID ?? -1
    } catch let e as LoomError {
        fail(LoomError(e.status, "loom_tokenizer_mask: \(e.message)"))
        return -1
    } catch { return -1 }
}
