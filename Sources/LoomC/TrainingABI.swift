import CLoomSupport
import LoomCore
import LoomTokenizers
#if canImport(Glibc)
import Glibc
#endif

/// What a `loom_bpe_training *` points to. Immutable: the JSON is made once, up front.
final class BPETrainingHandle {
    let trained: TrainedBPE
    let json: [UInt8]

    init(trained: TrainedBPE) {
        self.trained = trained
        json = Array(trained.tokenizerJSON().utf8)
    }
}

private func training(_ p: OpaquePointer?) throws -> BPETrainingHandle {
    try borrowHandle(p, as: BPETrainingHandle.self, "training")
}

/// More strings than this in one call is a caller bug (a garbage count), not a corpus.
private let maxInputs = 1 << 28

@_cdecl("loom_bpe_train_default_params")
public func loom_bpe_train_default_params() -> loom_bpe_train_params {
    loom_bpe_train_params(size: UInt32(MemoryLayout<loom_bpe_train_params>.size), vocab_size: 30000, min_frequency: 0,
                          byte_level: true, special_tokens: nil, n_special_tokens: 0, unk_token: nil,
                          limit_alphabet: 0, n_threads: 0)
}

@_cdecl("loom_bpe_train")
public func loom_bpe_train(_ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ textLens: UnsafePointer<Int>?, _ nTexts: Int,
                           _ files: UnsafePointer<UnsafePointer<CChar>?>?, _ nFiles: Int,
                           _ params: UnsafePointer<loom_bpe_train_params>?,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_bpe_train") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let p = try readParams(params, defaults: loom_bpe_train_default_params(), what: "params")
        guard nTexts >= 0, nTexts <= maxInputs, nFiles >= 0, nFiles <= maxInputs else {
            throw LoomError.invalidArgument("n_texts \(nTexts) or n_files \(nFiles) is out of range")
        }
        guard texts != nil || nTexts == 0 else { throw LoomError.invalidArgument("texts is NULL with n_texts \(nTexts)") }
        guard files != nil || nFiles == 0 else { throw LoomError.invalidArgument("files is NULL with n_files \(nFiles)") }
        guard p.n_special_tokens <= 1 << 20, p.special_tokens != nil || p.n_special_tokens == 0 else {
            throw LoomError.invalidArgument("params.special_tokens is NULL with n_special_tokens \(p.n_special_tokens), "
                + "or more than 2^20 special tokens")
        }
        var specials: [String] = []
        for i in 0..<p.n_special_tokens {
            guard let s = p.special_tokens?[i] else { throw LoomError.invalidArgument("params.special_tokens[\(i)] is NULL") }
            specials.append(String(cString: s))
        }
        let options = BPETrainingOptions(vocabSize: Int(p.vocab_size), specialTokens: specials,
                                         minFrequency: Int(p.min_frequency), byteLevel: p.byte_level,
                                         unkToken: p.unk_token.map { String(cString: $0) },
                                         limitAlphabet: p.limit_alphabet == 0 ? nil : Int(p.limit_alphabet),
                                         threadCount: max(0, Int(p.n_threads)))
        var trainer = BPETrainer(options: options)
        for i in 0..<nTexts {
            let t = texts?[i]
            if let textLens {
                let n = textLens[i]
                guard n >= 0, n <= 1 << 30 else { throw LoomError.invalidArgument("text_lens[\(i)] is \(n) (more than 1 GiB)") }
                guard t != nil || n == 0 else { throw LoomError.invalidArgument("texts[\(i)] is NULL with length \(n)") }
                trainer.addText(utf8: UnsafeRawBufferPointer(start: t.map(UnsafeRawPointer.init), count: n))
            } else {
                guard let t else { throw LoomError.invalidArgument("texts[\(i)] is NULL") }
                trainer.addText(utf8: UnsafeRawBufferPointer(start: t, count: strlen(t)))
            }
        }
        for i in 0..<nFiles {
            guard let f = files?[i] else { throw LoomError.invalidArgument("files[\(i)] is NULL") }
            try trainer.addFile(String(cString: f))
        }
        out.pointee = retainHandle(BPETrainingHandle(trained: try trainer.train()))
        return LOOM_OK
    }
}

@_cdecl("loom_bpe_training_free")
public func loom_bpe_training_free(_ p: OpaquePointer?) {
    guard let p else { return }
    // Only release what this module made; anything else passed here is left alone.
    guard Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue() is BPETrainingHandle else { return }
    releaseHandle(p)
}

@_cdecl("loom_bpe_training_json")
public func loom_bpe_training_json(_ p: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_bpe_training_json") {
        try fillBuffer(try training(p).json, buf, cap, nulTerminated: true, what: "tokenizer.json")
    }
}

@_cdecl("loom_bpe_training_save")
public func loom_bpe_training_save(_ p: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> loom_status {
    guarded("loom_bpe_training_save") {
        let t = try training(p)
        try t.trained.write(to: try requireString(path, "path"))
        return LOOM_OK
    }
}

@_cdecl("loom_bpe_training_tokenizer")
public func loom_bpe_training_tokenizer(_ p: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_bpe_training_tokenizer") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let t = try training(p)
        let tok = try Tokenizer.load(tokenizerJSON: try JSONParser.parse(t.json), tokenizerConfig: nil)
        out.pointee = retainHandle(TokenizerHandle(tokenizer: tok, borrowed: false))
        return LOOM_OK
    }
}

@_cdecl("loom_bpe_training_n_vocab")
public func loom_bpe_training_n_vocab(_ p: OpaquePointer?) -> Int32 {
    guardedCount("loom_bpe_training_n_vocab") { Int32(try training(p).trained.tokens.count) }
}

@_cdecl("loom_bpe_training_n_merges")
public func loom_bpe_training_n_merges(_ p: OpaquePointer?) -> Int32 {
    guardedCount("loom_bpe_training_n_merges") { Int32(try training(p).trained.mergeIDs.count) }
}
