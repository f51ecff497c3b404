/// Writes a trained BPE model as tokenizer.json, in the exact compact form HF tokenizers'
/// `Tokenizer.to_str()` produces (serde_json field order and string escaping), so that HF and
/// Loom load it alike and files from the two trainers can be compared byte for byte.
enum TokenizerJSONWriter {
    static func write(_ m: TrainedBPE) -> String {
        var o: [UInt8] = []
        o.reserveCapacity(m.tokens.reduce(0) { $0 + $1.utf8.count } * 4 + 4096)
        o += #"{"version":"1.0","truncation":null,"padding":null,"added_tokens":["#.utf8
        for (k, s) in m.specialTokens.enumerated() {
            if k > 0 { o.append(0x2C) }
            // Special tokens hold ids 0..<count in order (the trainer adds them first).
            o += #"{"id":\#(k),"content":"#.utf8
            appendString(s, to: &o)
            o += #","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}"#.utf8
        }
        o += #"],"normalizer":null,"#.utf8
        if m.options.byteLevel {
            o += #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},"#.utf8
            o += #""post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},"#.utf8
            o += #""decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},"#.utf8
        } else {
            o += #""pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,"#.utf8
        }
        o += #""model":{"type":"BPE","dropout":null,"unk_token":"#.utf8
        if let u = m.options.unkToken { appendString(u, to: &o) } else { o += "null".utf8 }
        o += #","continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"#.utf8
        o += #""ignore_merges":false,"vocab":{"#.utf8
        for (id, t) in m.tokens.enumerated() {
            if id > 0 { o.append(0x2C) }
            appendString(t, to: &o)
            o.append(0x3A)
            o += String(id).utf8
        }
        o += #"},"merges":["#.utf8
        for (k, (a, b)) in m.mergeIDs.enumerated() {
            if k > 0 { o.append(0x2C) }
            o.append(0x5B)
            appendString(m.tokens[Int(a)], to: &o)
            o.append(0x2C)
            appendString(m.tokens[Int(b)], to: &o)
            o.append(0x5D)
        }
        o += "]}}".utf8
        return String(decoding: o, as: UTF8.self)
    }

    /// A JSON string literal as serde_json writes it: `"` and `\` escaped, control characters as
    /// \b \t \n \f \r or \u00xx (lowercase hex), everything else (any Unicode) as raw UTF-8.
    static func appendString(_ s: String, to o: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        o.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: o += [0x5C, 0x22]
            case 0x5C: o += [0x5C, 0x5C]
            case 0x08: o += [0x5C, 0x62]
            case 0x09: o += [0x5C, 0x74]
            case 0x0A: o += [0x5C, 0x6E]
            case 0x0C: o += [0x5C, 0x66]
            case 0x0D: o += [0x5C, 0x72]
            case 0..<0x20: o += [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: o.append(b)
            }
        }
        o.append(0x22)
    }
}
