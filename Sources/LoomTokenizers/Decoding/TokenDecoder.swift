import LoomCore

/// HF tokenizers' decoders: a chain of transforms over the list of token strings (as UTF-8
/// bytes), with HF's semantics step by step. Used by tokenizer.json vocabularies whose decoder is
/// more than ByteLevel; GGUF vocabularies decode with per-token pieces.
indirect enum TokenDecoder: Sendable {
    case sequence([TokenDecoder])
    /// GPT-2 byte-level code points back to bytes (tokens with unmapped characters stay as is).
    case byteLevel
    /// SentencePiece's "▁" back to " "; with a prepend scheme, "▁" in the first token vanishes.
    case metaspace(replacement: UInt32, stripsFirst: Bool)
    /// Continuation tokens lose `prefix`; others get a leading space (not the first token).
    case wordPiece(prefix: [UInt8], cleanup: Bool)
    /// Runs of `<0xXX>` tokens → their bytes (U+FFFD per byte when the run is not UTF-8).
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// Up to `start` leading and `stop` trailing `content` characters removed from each token.
    case strip(content: UInt32, start: Int, stop: Int)
    /// Literal replacement inside each token.
    case replace(pattern: [UInt8], content: [UInt8])
    /// BPE end-of-word suffix → " " (the last token's suffix → "").
    case bpeSuffix([UInt8])
    /// CTC: repeated tokens collapsed, pad token dropped, word delimiter → " ".
    case ctc(pad: [UInt8], wordDelimiter: [UInt8], cleanup: Bool)
    /// No decoder in tokenizer.json: HF joins the tokens with spaces.
    case spaceJoined

    /// Runs the chain; the result is the concatenation of the final tokens.
    func decode(_ tokens: [[UInt8]]) -> [UInt8] {
        var t = tokens
        apply(&t)
        var out: [UInt8] = []
        out.reserveCapacity(t.reduce(0) { $0 + $1.count })
        for x in t { out.append(contentsOf: x) }
        return out
    }

    func apply(_ tokens: inout [[UInt8]]) {
        switch self {
        case .sequence(let list):
            for d in list { d.apply(&tokens) }
        case .byteLevel:
            var joined: [UInt8] = []
            for t in tokens { joined.append(contentsOf: TokenPieces.byteLevelPiece(bytes: t)) }
            tokens = [joined]
        case .metaspace(let replacement, let stripsFirst):
            for i in tokens.indices {
                let scalars = UTF8Coding.decode(tokens[i])
                guard scalars.contains(replacement) else { continue }
                var out: [UInt8] = []
                for c in scalars {
                    if c == replacement {
                        if i == 0 && stripsFirst { continue }
                        out.append(0x20)
                    } else {
                        UTF8Coding.append(c, to: &out)
                    }
                }
                tokens[i] = out
            }
        case .wordPiece(let prefix, let cleanup):
            for i in tokens.indices {
                if i != 0 {
                    // (An empty prefix starts every token, so nothing gets a space, as in HF.)
                    if tokens[i].starts(with: prefix) {
                        tokens[i].removeFirst(prefix.count)
                    } else {
                        tokens[i].insert(0x20, at: 0)
                    }
                }
                if cleanup { tokens[i] = CleanUp.wordPieceClean(tokens[i]) }
            }
        case .byteFallback:
            var out: [[UInt8]] = []
            out.reserveCapacity(tokens.count)
            var run: [UInt8] = []
            func flush() {
                guard !run.isEmpty else { return }
                if UTF8Coding.isValid(run) {
                    out.append(run)
                } else {
                    for _ in run { out.append([0xEF, 0xBF, 0xBD]) }
                }
                run.removeAll()
            }
            for t in tokens {
                if let b = Self.byteToken(t) {
                    run.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            tokens = out
        case .fuse:
            var joined: [UInt8] = []
            for t in tokens { joined.append(contentsOf: t) }
            tokens = [joined]
        case .spaceJoined:
            var joined: [UInt8] = []
            for (i, t) in tokens.enumerated() {
                if i > 0 { joined.append(0x20) }
                joined.append(contentsOf: t)
            }
            tokens = [joined]
        case .strip(let content, let start, let stop):
            for i in tokens.indices {
                let chars = UTF8Coding.decode(tokens[i])
                var lo = 0
                while lo < min(start, chars.count) && chars[lo] == content { lo += 1 }
                var hi = chars.count
                var k = 0
                while k < min(stop, chars.count - lo) && chars[hi - 1] == content { hi -= 1; k += 1 }
                if lo == 0 && hi == chars.count { continue }
                var out: [UInt8] = []
                for c in chars[lo..<hi] { UTF8Coding.append(c, to: &out) }
                tokens[i] = out
            }
        case .replace(let pattern, let content):
            for i in tokens.indices { tokens[i] = CleanUp.replaceAll(tokens[i], pattern, content) }
        case .bpeSuffix(let suffix):
            for i in tokens.indices where !suffix.isEmpty {
                let last = i == tokens.count - 1
                tokens[i] = CleanUp.replaceAll(tokens[i], suffix, last ? [] : [0x20])
            }
        case .ctc(let pad, let delimiter, let cleanup):
            // Consecutive repeats collapse first, then pads go, then the delimiter.
            var deduped: [[UInt8]] = []
            var previous: [UInt8]? = nil
            for t in tokens {
                if let p = previous, p == t { continue }
                previous = t
                deduped.append(t)
            }
            tokens = deduped.compactMap { t -> [UInt8]? in
                var s = CleanUp.replaceAll(t, pad, [])
                if cleanup {
                    s = CleanUp.wordPieceClean(s)
                    s = CleanUp.replaceAll(s, delimiter, [0x20])
                }
                return s.isEmpty ? nil : s
            }
        }
    }

    /// `<0xXX>` (exactly six bytes, two hex digits) → the byte. HF parses XX with Rust's
    /// `u8::from_str_radix`, which also takes a plus sign: `<0x+F>` is byte 0x0F.
    static func byteToken(_ t: [UInt8]) -> UInt8? {
        guard t.count == 6, t[0] == 0x3C, t[1] == 0x30, t[2] == 0x78, t[5] == 0x3E,
              let l = TokenPieces.hexDigit(t[4]) else { return nil }
        if t[3] == 0x2B { return UInt8(l) }
        guard let h = TokenPieces.hexDigit(t[3]) else { return nil }
        return UInt8(h * 16 + l)
    }

    /// Builds the chain from tokenizer.json's `decoder` (nil/null: tokens joined with spaces).
    static func from(json: JSONValue?) throws -> TokenDecoder? {
        guard let json, !json.isNull else { return .spaceJoined }
        guard let type = json["type"]?.string else { throw LoomError.format("tokenizer.json: decoder without a type") }
        func scalar(_ key: String, _ fallback: UInt32) throws -> UInt32 {
            guard let s = json[key]?.string else { return fallback }
            let c = UTF8Coding.scalars(s)
            guard c.count == 1 else { throw LoomError.format("tokenizer.json: decoder \(type).\(key) must be one character") }
            return c[0]
        }
        switch type {
        case "Sequence":
            return .sequence(try (json["decoders"]?.array ?? []).compactMap { try from(json: $0) })
        case "ByteLevel":
            return .byteLevel
        case "Metaspace":
            let scheme = json["prepend_scheme"]?.string ?? ((json["add_prefix_space"]?.bool ?? true) ? "always" : "never")
            return .metaspace(replacement: try scalar("replacement", 0x2581), stripsFirst: scheme != "never")
        case "WordPiece":
            return .wordPiece(prefix: Array((json["prefix"]?.string ?? "##").utf8), cleanup: json["cleanup"]?.bool ?? true)
        case "ByteFallback":
            return .byteFallback
        case "Fuse":
            return .fuse
        case "Strip":
            let start = json["start"]?.int ?? 0, stop = json["stop"]?.int ?? 0
            guard start >= 0, stop >= 0 else { throw LoomError.format("tokenizer.json: Strip decoder with a negative count") }
            return .strip(content: try scalar("content", 0x20), start: start, stop: stop)
        case "Replace":
            guard let p = json["pattern"]?["String"]?.string else {
                throw LoomError.unsupported("tokenizer.json: Replace decoder needs a String pattern")
            }
            return .replace(pattern: Array(p.utf8), content: Array((json["content"]?.string ?? "").utf8))
        case "BPEDecoder":
            return .bpeSuffix(Array((json["suffix"]?.string ?? "</w>").utf8))
        case "CTC":
            return .ctc(pad: Array((json["pad_token"]?.string ?? "<pad>").utf8),
                        wordDelimiter: Array((json["word_delimiter_token"]?.string ?? "|").utf8),
                        cleanup: json["cleanup"]?.bool ?? true)
        default:
            throw LoomError.unsupported("tokenizer.json: decoder '\(type)' is not supported")
        }
    }

    var hasByteFallback: Bool {
        switch self {
        case .byteFallback: return true
        case .sequence(let l): return l.contains { $0.hasByteFallback }
        default: return false
        }
    }

    /// True when this chain is ByteLevel alone (per-token pieces decode it exactly).
    var isByteLevelOnly: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let l): return l.count == 1 && l[0].isByteLevelOnly
        default: return false
        }
    }
}
