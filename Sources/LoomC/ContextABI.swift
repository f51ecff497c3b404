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
                        n_threads: Int32(ContextParams.defaultThreads), type_kv: 0, n_seq_max: 16)
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
                                                               threads: Int(p.n_threads), kvType: p.type_kv == 1 ? .f16 : .f32,
                                                               maxSequences: Int(p.n_seq_max)))
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

// MARK: - Sequences

@_cdecl("loom_context_decode_batch")
public func loom_context_decode_batch(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ seqIDs: UnsafePointer<Int32>?,
                                      _ logits: UnsafePointer<Bool>?, _ n: Int) -> loom_status {
    guarded("loom_context_decode_batch") {
        let c = try contextHandle(ctx)
        guard let tokens, let seqIDs, n > 0 else { throw LoomError.invalidArgument("tokens or seq_ids is NULL, or n is 0") }
        guard n <= 1 << 24 else { throw LoomError.outOfRange("n = \(n) rows is too many for one decode") }
        // Group rows by sequence (first appearance order); remember each kept row's place.
        var order: [Int32] = []
        var rowsOf: [Int32: [Int]] = [:]
        for i in 0..<n {
            let s = seqIDs[i]
            guard s >= 0, Int(s) < c.maxSequences else {
                throw LoomError.outOfRange("seq_ids[\(i)] = \(s) is outside 0..<\(c.maxSequences) (n_seq_max)")
            }
            if rowsOf[s] == nil { order.append(s) }
            rowsOf[s, default: []].append(i)
        }
        var inputs: [SequenceInput] = []
        var kept: [(callerRow: Int, loomRow: Int)] = []   // Loom computes every row of a sequence that keeps any
        var loomRow = 0
        for s in order {
            let rows = rowsOf[s] ?? []
            let keep = rows.map { r in logits.map { $0[r] } ?? (r == rows.last) }
            let any = keep.contains(true)
            inputs.append(SequenceInput(sequence: Int(s), tokens: rows.map { tokens[$0] }, logits: any ? .all : .none))
            guard any else { continue }
            for (r, k) in zip(rows, keep) {
                if k { kept.append((r, loomRow)) }
                loomRow += 1
            }
        }
        try c.decode(inputs)
        c.keepLogitsRows(kept.sorted { $0.callerRow < $1.callerRow }.map(\.loomRow))
        return LOOM_OK
    }
}

@_cdecl("loom_context_seq_position")
public func loom_context_seq_position(_ ctx: OpaquePointer?, _ seq: Int32) -> Int32 {
    guardedCount("loom_context_seq_position") { Int32(try contextHandle(ctx).position(sequence: Int(seq))) }
}

@_cdecl("loom_context_seq_copy")
public func loom_context_seq_copy(_ ctx: OpaquePointer?, _ src: Int32, _ dst: Int32) -> loom_status {
    guarded("loom_context_seq_copy") {
        try contextHandle(ctx).copySequence(from: Int(src), to: Int(dst))
        return LOOM_OK
    }
}

@_cdecl("loom_context_seq_remove")
public func loom_context_seq_remove(_ ctx: OpaquePointer?, _ seq: Int32) -> loom_status {
    guarded("loom_context_seq_remove") {
        try contextHandle(ctx).removeSequence(Int(seq))
        return LOOM_OK
    }
}

// MARK: - Control and state

@_cdecl("loom_context_set_abort_callback")
public func loom_context_set_abort_callback(_ ctx: OpaquePointer?, _ callback: loom_abort_callback?,
                                            _ user: UnsafeMutableRawPointer?) -> loom_status {
    guarded("loom_context_set_abort_callback") {
        let c = try contextHandle(ctx)
        if let callback {
            let u = user
            c.shouldAbort = { callback(u) }
        } else {
            c.shouldAbort = nil
        }
        return LOOM_OK
    }
}

@_cdecl("loom_context_state_save")
public func loom_context_state_save(_ ctx: OpaquePointer?, _ buf: UnsafeMutablePointer<UInt8>?, _ cap: Int) -> Int64 {
    do {
        let bytes = try contextHandle(ctx).saveState()
        if cap < bytes.count {
            _ = fail(.bufferTooSmall, "loom_context_state_save: the state needs \(bytes.count) bytes, got \(cap)")
            return -Int64(bytes.count)
        }
        guard let buf else { throw LoomError.invalidArgument("buf is NULL with capacity \(cap)") }
        bytes.withUnsafeBufferPointer { if let b = $0.baseAddress { buf.update(from: b, count: bytes.count) } }
        return Int64(bytes.count)
    } catch {
        let e = (error as? LoomError) ?? LoomError(.internal, "\(error)")
        return Int64(fail(LoomError(e.status, "loom_context_state_save: \(e.message)")))
    }
}

@_cdecl("loom_context_state_load")
public func loom_context_state_load(_ ctx: OpaquePointer?, _ buf: UnsafePointer<UInt8>?, _ n: Int) -> loom_status {
    guarded("loom_context_state_load") {
        let c = try contextHandle(ctx)
        guard let buf, n > 0 else { throw LoomError.invalidArgument("buf is NULL or n is 0") }
        try c.restoreState(Array(UnsafeBufferPointer(start: buf, count: n)))
        return LOOM_OK
    }
}

@_cdecl("loom_context_state_save_file")
public func loom_context_state_save_file(_ ctx: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> loom_status {
    guarded("loom_context_state_save_file") {
        let c = try contextHandle(ctx)
        guard let path else { throw LoomError.invalidArgument("path is NULL") }
        try c.saveState(toFile: String(cString: path))
        return LOOM_OK
    }
}

@_cdecl("loom_context_state_load_file")
public func loom_context_state_load_file(_ ctx: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> loom_status {
    guarded("loom_context_state_load_file") {
        let c = try contextHandle(ctx)
        guard let path else { throw LoomError.invalidArgument("path is NULL") }
        try c.restoreState(fromFile: String(cString: path))
        return LOOM_OK
    }
}

@_cdecl("loom_context_set_adapters")
public func loom_context_set_adapters(_ ctx: OpaquePointer?, _ adapters: UnsafePointer<OpaquePointer?>?,
                                      _ scales: UnsafePointer<Float>?, _ n: Int) -> loom_status {
    guarded("loom_context_set_adapters") {
        let c = try contextHandle(ctx)
        guard n >= 0, n <= 64 else { throw LoomError.invalidArgument("n = \(n) adapters (at most 64)") }
        guard n == 0 || (adapters != nil && scales != nil) else {
            throw LoomError.invalidArgument("adapters or scales is NULL with n \(n)")
        }
        var list: [(adapter: Adapter, scale: Float)] = []
        for i in 0..<n {
            guard let a = adapters?[i], let s = scales?[i] else { continue }
            list.append((try borrowHandle(a, as: LoRAHandle.self, "adapters[\(i)]").adapter, s))
        }
        try c.setAdapters(list)
        return LOOM_OK
    }
}
