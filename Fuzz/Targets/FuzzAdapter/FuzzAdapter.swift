import FuzzSupport
import LoomCore
import LoomModels

/// An adapter: a llama.cpp GGUF adapter (input starts with "GGUF"), or a PEFT folder:
/// adapter_config.json, then (after Fuzz.separator) adapter_model.safetensors. Loaded, bound to
/// tiny-llama in a context (loaded once) and run for two tokens.
let context: Context = {
    do {
        let model = try Model.load(path: Fuzz.fixture("tiny-llama/model.f32.gguf"))
        return try Context(model: model, params: ContextParams(contextLength: 16, batchSize: 8, threads: 1, maxSequences: 1))
    } catch {
        fatalError("FuzzAdapter: cannot load tiny-llama: \(error)")
    }
}()

/// Loads the fixed inputs before fuzzing starts (a lazy load inside the first input would count
/// against its 1 s timeout).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    _ = context.vocabSize
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdapter(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let path: String
    if size >= 4, bytes[0] == 0x47, bytes[1] == 0x47, bytes[2] == 0x55, bytes[3] == 0x46 {
        path = Fuzz.write("adapter.gguf", bytes)
    } else {
        let parts = Fuzz.split(data, size, maxParts: 2)
        path = Fuzz.folder("peft", [("adapter_config.json", parts[0]),
                                    ("adapter_model.safetensors", parts.count > 1 ? parts[1] : nil)])
    }
    guard let adapter = Fuzz.attempt("adapter", { try Adapter.load(path: path) }) else { return 0 }
    let ctx = context
    if Fuzz.attempt("bind", { try ctx.setAdapters([(adapter: adapter, scale: 1)]) }) != nil {
        _ = try? ctx.decode([1, 2], logits: .last)
        ctx.clear()
    }
    try? ctx.setAdapters([])
    return 0
}
