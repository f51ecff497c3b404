import CLoomSupport
import LoomCore
import LoomModels

// Adapters: loading, per-context use (ContextABI: loom_context_set_adapters), merging into a model's
// weights, and saving the merged model.

/// What a `loom_lora *` points to.
final class LoRAHandle {
    let adapter: Adapter
    init(adapter: Adapter) { self.adapter = adapter }
}

@_cdecl("loom_lora_load")
public func loom_lora_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_lora_load") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        guard let path else { throw LoomError.invalidArgument("path is NULL") }
        out.pointee = retainHandle(LoRAHandle(adapter: try Adapter.load(path: String(cString: path))))
        return LOOM_OK
    }
}

@_cdecl("loom_lora_free")
public func loom_lora_free(_ lora: OpaquePointer?) {
    releaseHandle(lora)
}

@_cdecl("loom_lora_kind")
public func loom_lora_kind(_ lora: OpaquePointer?) -> Int32 {
    guardedCount("loom_lora_kind") {
        try borrowHandle(lora, as: LoRAHandle.self, "lora").adapter.kind.rawValue
    }
}

@_cdecl("loom_lora_merge")
public func loom_lora_merge(_ model: OpaquePointer?, _ lora: OpaquePointer?, _ scale: Float) -> loom_status {
    guarded("loom_lora_merge") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        try m.mergeLoRA(try borrowHandle(lora, as: LoRAHandle.self, "adapter").adapter, scale: scale)
        return LOOM_OK
    }
}

@_cdecl("loom_lora_unmerge")
public func loom_lora_unmerge(_ model: OpaquePointer?, _ lora: OpaquePointer?) -> loom_status {
    guarded("loom_lora_unmerge") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        try m.unmergeLoRA(try borrowHandle(lora, as: LoRAHandle.self, "adapter").adapter)
        return LOOM_OK
    }
}

@_cdecl("loom_model_save")
public func loom_model_save(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> loom_status {
    guarded("loom_model_save") {
        let m = try borrowHandle(model, as: ModelHandle.self, "model").model
        guard let path else { throw LoomError.invalidArgument("path is NULL") }
        try m.save(path: String(cString: path))
        return LOOM_OK
    }
}
