import CLoomSupport
import LoomCore
import LoomModels
import LoomTokenizers

/// What a `loom_model *` points to. The tokenizer box is made once at load time (so sharing the
/// model across threads needs no lock) and is borrowed by callers of loom_model_tokenizer.
final class ModelHandle {
    let model: Model
    let tokenizer: Result<TokenizerHandle, LoomError>

    init(model: Model) {
        self.model = model
        do {
            tokenizer = .success(TokenizerHandle(tokenizer: try model.tokenizer(), borrowed: true))
        } catch let e as LoomError {
            tokenizer = .failure(e)
        } catch {
            tokenizer = .failure(LoomError(.internal, "\(error)"))
        }
    }
}

@_cdecl("loom_model_default_params")
public func loom_model_default_params() -> loom_model_params {
    loom_model_params(size: UInt32(MemoryLayout<loom_model_params>.size), vocab_only: false,
                      progress_callback: nil, progress_user_data: nil)
}

/// A caller's progress callback and its user data, called only during the load that was given it.
private struct ProgressCallback: @unchecked Sendable {
    let callback: loom_progress_callback
    let userData: UnsafeMutableRawPointer?
    func callAsFunction(_ progress: Float) -> Bool { callback(userData, progress) }
}

@_cdecl("loom_model_load")
public func loom_model_load(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<loom_model_params>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_model_load") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out_model is NULL") }
        let path = try requireString(path, "path")
        let p = try readParams(params, defaults: loom_model_default_params(), what: "params")
        var modelParams = ModelParams(vocabOnly: p.vocab_only)
        if let cb = p.progress_callback {
            let progress = ProgressCallback(callback: cb, userData: p.progress_user_data)
            modelParams.progress = { progress($0) }
        }
        let model = try Model.load(path: path, params: modelParams)
        out.pointee = retainHandle(ModelHandle(model: model))
        return LOOM_OK
    }
}

@_cdecl("loom_model_free")
public func loom_model_free(_ model: OpaquePointer?) {
    releaseHandle(model)
}

@_cdecl("loom_model_meta_count")
public func loom_model_meta_count(_ model: OpaquePointer?) -> Int32 {
    guardedCount("loom_model_meta_count") {
        Int32(try borrowHandle(model, as: ModelHandle.self, "model").model.metadata.count)
    }
}

private func metadataEntry(_ model: OpaquePointer?, _ index: Int32) throws -> (key: String, value: String) {
    let m = try borrowHandle(model, as: ModelHandle.self, "model").model
    guard index >= 0, Int(index) < m.metadata.count else {
        throw LoomError.outOfRange("metadata index \(index) is outside 0..<\(m.metadata.count)")
    }
    return m.metadata[Int(index)]
}

@_cdecl("loom_model_meta_key_by_index")
public func loom_model_meta_key_by_index(_ model: OpaquePointer?, _ index: Int32,
                                         _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_model_meta_key_by_index") {
        try fillBuffer(try metadataEntry(model, index).key, buf, cap, what: "metadata key")
    }
}

@_cdecl("loom_model_meta_val_str_by_index")
public func loom_model_meta_val_str_by_index(_ model: OpaquePointer?, _ index: Int32,
                                             _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_model_meta_val_str_by_index") {
        try fillBuffer(try metadataEntry(model, index).value, buf, cap, what: "metadata value")
    }
}

@_cdecl("loom_model_meta_val_str")
public func loom_model_meta_val_str(_ model: OpaquePointer?, _ key: UnsafePointer<CChar>?,
                                    _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_model_meta_val_str") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        let key = try requireString(key, "key")
        guard let v = m.metadataValue(key) else { throw LoomError.outOfRange("no metadata key '\(key)'") }
        return try fillBuffer(v, buf, cap, what: "metadata value")
    }
}

@_cdecl("loom_model_tokenizer")
public func loom_model_tokenizer(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_model_tokenizer") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let h = try borrowHandle(model, as: ModelHandle.self, "model")
        // Borrowed: the model keeps the box alive, so no retain is handed out.
        out.pointee = OpaquePointer(Unmanaged.passUnretained(try h.tokenizer.get()).toOpaque())
        return LOOM_OK
    }
}
