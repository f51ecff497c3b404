import FuzzSupport
import LoomCore
import LoomFormats
import LoomModels
import LoomTokenizers

/// A GGUF model: the tokenizer built from its metadata, then the model (weights checked against the
/// architecture) and, when it loads, a tiny forward pass.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = Fuzz.write("model.gguf", UnsafeRawBufferPointer(start: data, count: size))
    guard let g = try? GGUFFile(path: path) else { return 0 }
    if let tok = Fuzz.attempt("tokenizer", { try Tokenizer.load(gguf: g) }) { Exercise.tokenizer(tok) }
    if let m = Fuzz.attempt("model", { try Model.load(path: path) }) { Exercise.model(m) }
    return 0
}
