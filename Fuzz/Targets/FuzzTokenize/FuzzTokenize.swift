import FuzzSupport
import LoomCore
import LoomTokenizers

/// Real tokenizers (loaded once) on arbitrary bytes. Input: byte 0 picks the tokenizer, byte 1 the
/// mode (bit 0 add_special, bit 1 parse_special, bit 2: decode the rest as little-endian int32 ids
/// instead of encoding it as text); the rest is the payload.
let tokenizers: [Tokenizer] = {
    var paths = [Fuzz.fixture("tiny-llama/tokenizer.json"), Fuzz.fixture("tiny-bert/tokenizer.json"),
                 Fuzz.fixture("tiny-t5/tokenizer.json"), Fuzz.fixture("tokenizers/tiny-ugm.gguf"),
                 Fuzz.fixture("tokenizers/spm-llama2.tokenizer.json")]
    // Larger real vocabularies when the test data is cached (scripts/fetch-model.sh, fetch-test-data.sh).
    for p in [Fuzz.cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf", Fuzz.cache + "/vocab-suite/ggml-vocab-llama-spm.gguf",
              Fuzz.cache + "/vocab-suite/ggml-vocab-bert-bge.gguf"] where fileExists(p) { paths.append(p) }
    return paths.compactMap { p in
        do { return try Tokenizer.load(path: p) } catch { print("FuzzTokenize: cannot load \(p): \(error)"); return nil }
    }
}()

/// Loads the fixed inputs before fuzzing starts (a lazy load inside the first input would count
/// against its 1 s timeout).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    _ = tokenizers.count
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenize(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2, !tokenizers.isEmpty else { return 0 }
    let tok = tokenizers[Int(data[0]) % tokenizers.count]
    let mode = data[1]
    let add = mode & 1 != 0, parse = mode & 2 != 0
    let payload = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    if mode & 4 == 0 {
        guard let ids = try? tok.tokenize(payload, addSpecial: add, parseSpecial: parse) else { return 0 }
        _ = try? tok.detokenize(ids, renderSpecial: parse)
        var stream = StreamingDecoder(renderSpecial: parse)
        for id in ids { _ = try? stream.push(id, tok) }
        _ = stream.flush()
    } else {
        // Mostly valid ids, some out of range (must throw, never trap).
        let n = Int64(tok.vocabSize)
        var ids: [Int32] = []
        for i in stride(from: 0, to: payload.count - 3, by: 4) {
            let raw = Int64(payload.loadUnaligned(fromByteOffset: i, as: Int32.self))
            ids.append(raw & 0x40000000 != 0 ? Int32(truncatingIfNeeded: raw) : Int32(truncatingIfNeeded: (raw & 0xFFFFFF) % (n + 2)))
        }
        _ = try? tok.detokenize(ids, renderSpecial: add, cleanUpSpaces: parse)
        var stream = StreamingDecoder(renderSpecial: add)
        for id in ids { _ = try? stream.push(id, tok) }
        _ = stream.flush()
        for id in ids.prefix(8) { _ = try? tok.tokenToPiece(id, renderSpecial: parse) }
    }
    return 0
}
