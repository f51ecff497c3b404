import FuzzSupport
import LoomCore
import LoomFormats
import LoomModels

/// An HF folder: config.json, then (after Fuzz.separator) model.safetensors, then optionally
/// tokenizer.json. Loaded with its weights as Model.load does, then run briefly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHFFolder(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let parts = Fuzz.split(data, size, maxParts: 3)
    let dir = Fuzz.folder("hf", [("config.json", parts[0]), ("model.safetensors", parts.count > 1 ? parts[1] : nil),
                                 ("tokenizer.json", parts.count > 2 ? parts[2] : nil)])
    if parts.count > 1, let st = try? SafetensorsFile(path: dir + "/model.safetensors") {
        for t in st.tensors.prefix(64) { _ = try? st.floats(t.name) }
    }
    if let m = Fuzz.attempt("model", { try Model.load(path: dir) }) { Exercise.model(m) }
    return 0
}
