import LoomCore

/// HF tokenizers' normalizers, over code points.
indirect enum Normalizer: Sendable {
    case sequence([Normalizer])
    /// Unicode normalization forms (tables in Unicode/NormalizationData.swift).
    case unicode(UnicodeNormalization.Form)
    /// HF StripAccents: nonspacing marks (Mn) removed (meant to follow NFD / NFKD).
    case stripAccents
    case lowercase
    case replaceLiteral([UInt32], with: [UInt32])
    case replaceRegex(Regex, with: [UInt32])
    case prepend([UInt32])
    case strip(left: Bool, right: Bool)
    case bert(BertNormalizer)
    /// SentencePiece's precompiled_charsmap, read as HF's `Precompiled` (Normalizer/PrecompiledCharsMap.swift).
    case precompiled(PrecompiledCharsMap)
    case identity

    func apply(_ text: [UInt32]) throws -> [UInt32] {
        switch self {
        case .identity:
            return text
        case .sequence(let list):
            var t = text
            for n in list { t = try n.apply(t) }
            return t
        case .unicode(let form):
            return UnicodeNormalization.normalize(text, form)
        case .stripAccents:
            return text.filter { $0 < 0x300 || CharInfo.category($0) != GeneralCategory.mn.rawValue }
        case .lowercase:
            var out: [UInt32] = []
            out.reserveCapacity(text.count)
            for c in text {
                if c < 0x80 {
                    out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
                } else if let s = Unicode.Scalar(c) {
                    out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars.map(\.value))
                } else {
                    out.append(c)
                }
            }
            return out
        case .replaceLiteral(let pattern, let content):
            guard !pattern.isEmpty, text.count >= pattern.count else { return text }
            var out: [UInt32] = []
            out.reserveCapacity(text.count)
            var i = 0
            while i < text.count {
                if i + pattern.count <= text.count, text[i] == pattern[0], Array(text[i..<i + pattern.count]) == pattern {
                    out.append(contentsOf: content)
                    i += pattern.count
                } else {
                    out.append(text[i])
                    i += 1
                }
            }
            return out
        case .replaceRegex(let re, let content):
            let matches = try re.allMatches(in: text)
            if matches.isEmpty { return text }
            var out: [UInt32] = []
            var prev = 0
            for m in matches {
                out.append(contentsOf: text[prev..<m.lowerBound])
                out.append(contentsOf: content)
                prev = m.upperBound
            }
            out.append(contentsOf: text[prev...])
            return out
        case .prepend(let p):
            return text.isEmpty ? text : p + text
        case .bert(let bert):
            return bert.apply(text)
        case .precompiled(let map):
            return try map.normalize(text)
        case .strip(let left, let right):
            var lo = 0, hi = text.count
            if left { while lo < hi && CharInfo.isWhitespace(text[lo]) { lo += 1 } }
            if right { while hi > lo && CharInfo.isWhitespace(text[hi - 1]) { hi -= 1 } }
            return Array(text[lo..<hi])
        }
    }

    var isIdentity: Bool {
        if case .identity = self { return true }
        if case .sequence(let l) = self { return l.allSatisfy(\.isIdentity) }
        return false
    }

    /// Builds a normalizer from tokenizer.json's `normalizer` object (nil/null: none).
    static func from(json: JSONValue?) throws -> Normalizer {
        guard let json, !json.isNull else { return .identity }
        guard let type = json["type"]?.string else { throw LoomError.format("tokenizer.json: normalizer without a type") }
        switch type {
        case "Sequence":
            return .sequence(try (json["normalizers"]?.array ?? []).map { try from(json: $0) })
        case "Lowercase":
            return .lowercase
        case "NFC":
            return .unicode(.nfc)
        case "NFD":
            return .unicode(.nfd)
        case "NFKC":
            return .unicode(.nfkc)
        case "NFKD":
            return .unicode(.nfkd)
        case "StripAccents":
            return .stripAccents
        case "Replace":
            let content = UTF8Coding.scalars(json["content"]?.string ?? "")
            if let s = json["pattern"]?["String"]?.string {
                return .replaceLiteral(UTF8Coding.scalars(s), with: content)
            }
            if let r = json["pattern"]?["Regex"]?.string {
                return .replaceRegex(try Regex(r, flavor: .oniguruma), with: content)
            }
            throw LoomError.format("tokenizer.json: Replace normalizer without a pattern")
        case "Prepend":
            return .prepend(UTF8Coding.scalars(json["prepend"]?.string ?? ""))
        case "Strip":
            return .strip(left: json["strip_left"]?.bool ?? true, right: json["strip_right"]?.bool ?? true)
        case "BertNormalizer":
            return .bert(BertNormalizer(json: json))
        case "Precompiled":
            guard let charsmap = json["precompiled_charsmap"]?.string else {
                throw LoomError.format("tokenizer.json: Precompiled normalizer without precompiled_charsmap")
            }
            return .precompiled(try PrecompiledCharsMap(base64: charsmap))
        default:
            throw LoomError.unsupported("tokenizer.json: normalizer '\(type)' is not supported")
        }
    }
}
