import CLoomSupport
import LoomCore
import LoomModels

/// What a `loom_context *` points to.
final class ContextHandle {
    let context: Context
    init(context: Context) { self.context = context }
}

func contextHandle(_ p: OpaquePointer?) throws -> Context {
    try borrowHandle(p, as: ContextHandle.self, "ctx").context
}

@_cdecl("loom_context_default_params")
public func loom_context_default_params() -> loom_context_params {
    loom_context_params(size: UInt32(MemoryLayout<loom_context_params>.size), n_ctx: 0, n_batch: 512,
                        n_threads: Int32(ContextParams.defaultThreads), type_kv: 0)
}

@_cdecl("loom_context_new")
public func loom_context_new(_ model: OpaquePointer?, _ params: UnsafePointer<loom_context_params>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_context_new") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        let p = try readParams(params, defaults: loom_context_default_params(), what: "params")
        guard p.type_kv == 0 || p.type_kv == 1 else {
            throw LoomError.invalidArgument("type_kv must be LOOM_KV_F32 (0) or LOOM_KV_F16 (1), got \(p.type_kv)")
        }
        let ctx = try Context(model: m, params: ContextParams(contextLength: Int(p.n_ctx), batchSize: Int(p.n_batch),
                                                               threads: Int(p.n_threads), kvType: p.type_kv == 1 ? .f16 : .f32))
        out.pointee = retainHandle(ContextHandle(context: ctx))
        return LOOM_OK
    }
}

@_cdecl("loom_context_free")
public func loom_context_free(_ ctx: OpaquePointer?) {
    releaseHandle(ctx)
}

@_cdecl("loom_context_decode")
public func loom_context_decode(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ n: Int, _ startPos: Int32,
                                _ logitsAll: Bool) -> loom_status {
    guarded("loom_context_decode") {
        let c = try contextHandle(ctx)
        guard let tokens, n > 0 else { throw LoomError.invalidArgument("tokens is NULL or n is 0") }
        guard n <= 1 << 24 else { throw LoomError.outOfRange("n = \(n) tokens is too many for one decode") }
        guard startPos >= -1 else { throw LoomError.outOfRange("start_pos \(startPos) is negative") }
        try c.decode(Array(UnsafeBufferPointer(start: tokens, count: n)),
                     startPosition: startPos == -1 ? nil : Int(startPos), logits: logitsAll ? .all : .last)
        return LOOM_OK
    }
}

@_cdecl("loom_context_logits")
public func loom_context_logits(_ ctx: OpaquePointer?, _ row: Int32,
                                _ out: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> loom_status {
    guarded("loom_context_logits") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let c = try contextHandle(ctx)
        guard row >= 0, Int(row) < c.logitsRows else {
            throw LoomError.outOfRange("logits row \(row) is outside 0..<\(c.logitsRows)")
        }
        out.pointee = c.withLogits { $0.baseAddress.map { $0 + Int(row) * c.vocabSize } }
        return LOOM_OK
    }
}

@_cdecl("loom_context_n_logits")
public func loom_context_n_logits(_ ctx: OpaquePointer?) -> Int32 {
    guardedCount("loom_context_n_logits") { Int32(try contextHandle(ctx).logitsRows) }
}

@_cdecl("loom_context_position")
public func loom_context_position(_ ctx: OpaquePointer?) -> Int32 {
    guardedCount("loom_context_position") { Int32(try contextHandle(ctx).position) }
}

@_cdecl("loom_context_n_ctx")
public func loom_context_n_ctx(_ ctx: OpaquePointer?) -> Int32 {
    guardedCount("loom_context_n_ctx") { Int32(try contextHandle(ctx).contextLength) }
}

@_cdecl("loom_context_n_vocab")
public func loom_context_n_vocab(_ ctx: OpaquePointer?) -> Int32 {
    guardedCount("loom_context_n_vocab") { Int32(try contextHandle(ctx).vocabSize) }
}

@_cdecl("loom_context_clear")
public func loom_context_clear(_ ctx: OpaquePointer?) -> loom_status {
    guarded("loom_context_clear") {
        try contextHandle(ctx).clear()
        return LOOM_OK
    }
}

@_cdecl("loom_context_truncate")
public func loom_context_truncate(_ ctx: OpaquePointer?, _ pos: Int32) -> loom_status {
    guarded("loom_context_truncate") {
        try contextHandle(ctx).truncate(to: Int(pos))
        return LOOM_OK
    }
}
