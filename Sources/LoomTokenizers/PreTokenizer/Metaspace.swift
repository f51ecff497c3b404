import LoomCore

/// HF tokenizers' `Metaspace` pre-tokenizer (SentencePiece's space handling): every space becomes
/// the replacement character ("▁"), the prepend scheme may put one in front of a piece that does
/// not start with it, and with `split` each replacement starts a new piece (MergedWithNext).
///
/// `prepend_scheme: first` prepends only to the piece whose original offset is 0 — the start of
/// the input (HF checks `offsets_original().0 == 0`): a fragment after an added token, or a later
/// piece of an earlier split, gets nothing.
struct Metaspace: Sendable {
    enum PrependScheme: Sendable {
        case always, first, never
    }

    let replacement: UInt32
    let prependScheme: PrependScheme
    let split: Bool

    init(replacement: UInt32 = 0x2581, prependScheme: PrependScheme = .always, split: Bool = true) {
        self.replacement = replacement
        self.prependScheme = prependScheme
        self.split = split
    }

    /// From tokenizer.json: `replacement`, `prepend_scheme` (default "always"), `split` (default
    /// true). Files from before `prepend_scheme` say `add_prefix_space`; false means "never"
    /// (HF 0.23 refuses that spelling unless prepend_scheme says "never" too; an explicit
    /// contradiction is refused here as well).
    init(json: JSONValue) throws {
        let r = UTF8Coding.scalars(json["replacement"]?.string ?? "▁")
        guard r.count == 1 else { throw LoomError.format("tokenizer.json: Metaspace replacement must be one character") }
        var scheme = PrependScheme.always
        if let name = json["prepend_scheme"]?.string {
            switch name {
            case "always": scheme = .always
            case "first": scheme = .first
            case "never": scheme = .never
            default: throw LoomError.format("tokenizer.json: unknown Metaspace prepend_scheme '\(name)'")
            }
        }
        if json["add_prefix_space"]?.bool == false {
            if json["prepend_scheme"] != nil && scheme != .never {
                throw LoomError.format("tokenizer.json: Metaspace add_prefix_space does not match prepend_scheme")
            }
            scheme = .never
        }
        self.init(replacement: r[0], prependScheme: scheme, split: json["split"]?.bool ?? true)
    }

    /// Rewrites every piece of `p` (`position`: where the fragment sits in the input).
    func apply(_ p: inout PreTokenizer.Pieces, position: FragmentPosition) {
        var text: [UInt32] = []
        text.reserveCapacity(p.text.count + p.bounds.count / 2)
        var bounds: [Int] = []
        bounds.reserveCapacity(p.bounds.count)
        var k = 0
        while k + 1 < p.bounds.count {
            let a = p.bounds[k], b = p.bounds[k + 1]
            k += 2
            guard a < b, b <= p.text.count else { continue }
            let marked = p.text[a] == 0x20 || p.text[a] == replacement
            let prepend: Bool
            switch prependScheme {
            case .always: prepend = !marked
            case .first: prepend = !marked && a == 0 && position.atInputStart
            case .never: prepend = false
            }
            var pieceStart = text.count
            if prepend { text.append(replacement) }
            for i in a..<b {
                let c = p.text[i] == 0x20 ? replacement : p.text[i]
                if split && c == replacement && text.count > pieceStart {
                    bounds.append(pieceStart)
                    bounds.append(text.count)
                    pieceStart = text.count
                }
                text.append(c)
            }
            if text.count > pieceStart {
                bounds.append(pieceStart)
                bounds.append(text.count)
            }
        }
        p = PreTokenizer.Pieces(text: text, bounds: bounds)
    }
}
