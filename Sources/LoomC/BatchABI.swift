import CLoomSupport
import LoomCore
import LoomTokenizers

@_cdecl("loom_batch_default_params")
public func loom_batch_default_params() -> loom_batch_params {
    var p = loom_batch_params()
    p.size = UInt32(MemoryLayout<loom_batch_params>.size)
    p.add_special = true
    p.parse_special = false
    p.use_tokenizer_settings = false
    p.pad_left = false
    p.truncate_left = false
    p.padding = 0
    p.pad_length = 0
    p.pad_to_multiple_of = 0
    p.pad_id = -1
    p.max_length = 0
    p.n_threads = 1
    return p
}

@_cdecl("loom_tokenize_batch")
public func loom_tokenize_batch(_ tok: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ lens: UnsafePointer<Int>?, _ n: Int, _ params: UnsafePointer<loom_batch_params>?,
                                _ ids: UnsafeMutablePointer<Int32>?, _ mask: UnsafeMutablePointer<Int32>?,
                                _ cap: Int, _ offsets: UnsafeMutablePointer<Int>?) -> Int32 {
    guardedCount("loom_tokenize_batch") {
        let t = try borrowHandle(tok, as: TokenizerHandle.self, "tokenizer").tokenizer
        guard n >= 0, n < 1 << 24 else { throw LoomError.invalidArgument("n is \(n)") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        guard texts != nil || n == 0 else { throw LoomError.invalidArgument("texts is NULL with n \(n)") }
        guard let offsets else { throw LoomError.invalidArgument("offsets is NULL") }
        let p = try readParams(params, defaults: loom_batch_default_params(), what: "params")

        let strings = try readTexts(texts, lens, n)

        var truncation = p.use_tokenizer_settings ? t.defaultTruncation : nil
        if p.max_length < 0 { throw LoomError.invalidArgument("max_length is negative") }
        if p.max_length > 0 { truncation = Truncation(maxLength: Int(p.max_length), fromLeft: p.truncate_left) }

        var padding = p.use_tokenizer_settings ? t.defaultPadding : nil
        let padID: Int32 = p.pad_id >= 0 ? p.pad_id : (padding?.padID ?? t.padID ?? 0)
        switch p.padding {
        case 0: break
        case 1: padding = Padding(length: .longest, padID: padID, left: p.pad_left)
        case 2:
            guard p.pad_length >= 0 else { throw LoomError.invalidArgument("pad_length is negative") }
            padding = Padding(length: .fixed(Int(p.pad_length)), padID: padID, left: p.pad_left)
        default: throw LoomError.invalidArgument("padding is \(p.padding); use LOOM_PAD_NONE, _LONGEST or _FIXED")
        }
        if p.pad_to_multiple_of < 0 { throw LoomError.invalidArgument("pad_to_multiple_of is negative") }
        if p.pad_to_multiple_of > 0 { padding?.multipleOf = Int(p.pad_to_multiple_of) }

        let batch = try t.encodeBatch(strings, addSpecial: p.add_special, parseSpecial: p.parse_special,
                                      truncation: truncation, padding: padding, threads: Int(max(1, p.n_threads)))
        var total = 0
        offsets[0] = 0
        for (i, row) in batch.ids.enumerated() {
            total += row.count
            offsets[i + 1] = total
        }
        guard total <= Int(Int32.max) else { throw LoomError.outOfRange("more than 2^31 tokens") }
        if cap < total {
            fail(.bufferTooSmall, "\(total) tokens need a buffer of \(total), got \(cap)")
            return -Int32(total)
        }
        guard let ids else { throw LoomError.invalidArgument("ids is NULL with capacity \(cap)") }
        var k = 0
        for (row, m) in zip(batch.ids, batch.attentionMask) {
            for (id, bit) in zip(row, m) {
                ids[k] = id
                mask?[k] = Int32(bit)
                k += 1
            }
        }
        return Int32(total)
    }
}
