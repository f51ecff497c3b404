import FuzzSupport
import LoomCore
import LoomFormats

/// The GGUF reader: header, metadata (every value rendered as the C ABI's metadata queries do),
/// tensor infos and their data pointers. FuzzGGUFModel goes on to the tokenizer and the model.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = Fuzz.write("model.gguf", UnsafeRawBufferPointer(start: data, count: size))
    guard let g = Fuzz.attempt("gguf", { try GGUFFile(path: path) }) else { return 0 }
    for k in g.metadataKeys { _ = g[k]?.displayString }
    for t in g.tensors {
        _ = t.elementCount
        if let p = g.data(of: t), let n = t.byteCount, n > 0 {
            // First and last byte of the data: must lie inside the mapping.
            _ = p.load(as: UInt8.self) &+ p.load(fromByteOffset: n - 1, as: UInt8.self)
        }
    }
    _ = g.architecture
    _ = g.tensor(named: "token_embd.weight")
    return 0
}
