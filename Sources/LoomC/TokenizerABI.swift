import CLoomSupport
import LoomCore
import LoomTokenizers

/// What a `loom_tokenizer *` points to. `borrowed` boxes belong to a model and are never released
/// through loom_tokenizer_free.
final class TokenizerHandle {
    let tokenizer: Tokenizer
    let borrowed: Bool

    init(tokenizer: Tokenizer, borrowed: Bool) {
        self.tokenizer = tokenizer
        self.borrowed = borrowed
    }
}

private func tokenizer(_ p: OpaquePointer?) throws -> Tokenizer {
    try borrowHandle(p, as: TokenizerHandle.self, "tokenizer").tokenizer
}

@_cdecl("loom_tokenizer_load")
public func loom_tokenizer_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_tokenizer_load") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let path = try requireString(path, "path")
        out.pointee = retainHandle(TokenizerHandle(tokenizer: try Tokenizer.load(path: path), borrowed: false))
        return LOOM_OK
    }
}

@_cdecl("loom_tokenizer_free")
public func loom_tokenizer_free(_ p: OpaquePointer?) {
    guard let p else { return }
    guard let h = Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue() as? TokenizerHandle,
          !h.borrowed else { return }
    releaseHandle(p)
}

@_cdecl("loom_tokenize")
public func loom_tokenize(_ tok: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ len: Int,
                          _ out: UnsafeMutablePointer<Int32>?, _ cap: Int,
                          _ addSpecial: Bool, _ parseSpecial: Bool) -> Int32 {
    guardedCount("loom_tokenize") {
        let t = try tokenizer(tok)
        guard len >= 0 else { throw LoomError.invalidArgument("len is negative") }
        guard text != nil || len == 0 else { throw LoomError.invalidArgument("text is NULL with len \(len)") }
        let ids = try t.tokenize(UnsafeRawBufferPointer(start: text.map(UnsafeRawPointer.init), count: len),
                                 addSpecial: addSpecial, parseSpecial: parseSpecial)
        guard ids.count <= Int(Int32.max) else { throw LoomError.outOfRange("more than 2^31 tokens") }
        if cap < ids.count {
            fail(.bufferTooSmall, "\(ids.count) tokens need a buffer of \(ids.count), got \(cap)")
            return -Int32(ids.count)
        }
        guard let out else { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
        for (i, id) in ids.enumerated() { out[i] = id }
        return Int32(ids.count)
    }
}

@_cdecl("loom_detokenize")
public func loom_detokenize(_ tok: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ n: Int,
                            _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int, _ renderSpecial: Bool) -> Int32 {
    guardedCount("loom_detokenize") {
        let t = try tokenizer(tok)
        guard n >= 0 else { throw LoomError.invalidArgument("n is negative") }
        guard tokens != nil || n == 0 else { throw LoomError.invalidArgument("tokens is NULL with n \(n)") }
        let ids = Array(UnsafeBufferPointer(start: tokens, count: n))
        return try fillBuffer(try t.detokenize(ids, renderSpecial: renderSpecial), buf, cap,
                              nulTerminated: false, what: "text")
    }
}

@_cdecl("loom_token_to_piece")
public func loom_token_to_piece(_ tok: OpaquePointer?, _ token: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                                _ cap: Int, _ renderSpecial: Bool) -> Int32 {
    guardedCount("loom_token_to_piece") {
        let t = try tokenizer(tok)
        return try fillBuffer(try t.tokenToPiece(token, renderSpecial: renderSpecial), buf, cap,
                              nulTerminated: false, what: "piece")
    }
}

@_cdecl("loom_token_text")
public func loom_token_text(_ tok: OpaquePointer?, _ token: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                            _ cap: Int) -> Int32 {
    guardedCount("loom_token_text") {
        try fillBuffer(try tokenizer(tok).tokenText(token), buf, cap, what: "token text")
    }
}

@_cdecl("loom_tokenizer_n_vocab")
public func loom_tokenizer_n_vocab(_ tok: OpaquePointer?) -> Int32 {
    guardedCount("loom_tokenizer_n_vocab") { Int32(try tokenizer(tok).vocabSize) }
}

/// Queries that cannot fail report a NULL handle through loom_last_error and a neutral answer.
private func query<T>(_ name: String, _ tok: OpaquePointer?, _ fallback: T, _ body: (Tokenizer) -> T) -> T {
    do { return body(try tokenizer(tok)) } catch let e as LoomError {
        fail(LoomError(e.status, "\(name): \(e.message)"))
        return fallback
    } catch { return fallback }
}

@_cdecl("loom_tokenizer_bos")
public func loom_tokenizer_bos(_ tok: OpaquePointer?) -> Int32 { query("loom_tokenizer_bos", tok, -1) { $0.bosID ?? -1 } }

@_cdecl("loom_tokenizer_eos")
public func loom_tokenizer_eos(_ tok: OpaquePointer?) -> Int32 { query("loom_tokenizer_eos", tok, -1) { $0.eosID ?? -1 } }

@_cdecl("loom_tokenizer_eot")
public func loom_tokenizer_eot(_ tok: OpaquePointer?) -> Int32 { query("loom_tokenizer_eot", tok, -1) { $0.eotID ?? -1 } }

@_cdecl("loom_tokenizer_pad")
public func loom_tokenizer_pad(_ tok: OpaquePointer?) -> Int32 { query("loom_tokenizer_pad", tok, -1) { $0.padID ?? -1 } }

@_cdecl("loom_tokenizer_unk")
public func loom_tokenizer_unk(_ tok: OpaquePointer?) -> Int32 { query("loom_tokenizer_unk", tok, -1) { $0.unkID ?? -1 } }

@_cdecl("loom_tokenizer_add_bos")
public func loom_tokenizer_add_bos(_ tok: OpaquePointer?) -> Bool { query("loom_tokenizer_add_bos", tok, false) { $0.addBOS } }

@_cdecl("loom_tokenizer_add_eos")
public func loom_tokenizer_add_eos(_ tok: OpaquePointer?) -> Bool { query("loom_tokenizer_add_eos", tok, false) { $0.addEOS } }

@_cdecl("loom_tokenizer_is_eog")
public func loom_tokenizer_is_eog(_ tok: OpaquePointer?, _ token: Int32) -> Bool {
    query("loom_tokenizer_is_eog", tok, false) { $0.isEndOfGeneration(token) }
}

@_cdecl("loom_tokenizer_is_control")
public func loom_tokenizer_is_control(_ tok: OpaquePointer?, _ token: Int32) -> Bool {
    query("loom_tokenizer_is_control", tok, false) { $0.isControl(token) }
}
