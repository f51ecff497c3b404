import FuzzSupport
import LoomCore
import LoomTokenizers

/// tokenizer.json, optionally followed (after Fuzz.separator) by tokenizer_config.json: built as
/// Tokenizer.load does, then used on a sample text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let parts = Fuzz.split(data, size, maxParts: 2)
    guard let json = try? JSONParser.parse(parts[0]) else { return 0 }
    let config = parts.count > 1 ? try? JSONParser.parse(parts[1]) : nil
    guard let tok = Fuzz.attempt("tokenizer", { try Tokenizer.load(tokenizerJSON: json, tokenizerConfig: config) }) else { return 0 }
    Exercise.tokenizer(tok)
    return 0
}
