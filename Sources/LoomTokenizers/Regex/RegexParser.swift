import LoomCore

/// Which regex dialect a pattern is written for. The two differ in a few places that change
/// tokenization:
/// - `.oniguruma` (HF tokenizers): `\d` is Unicode Nd, `\w` Unicode word characters, `$` matches
///   at a line end too, `[` nests inside a class.
/// - `.llamaCpp` (llama.cpp's std::regex over "collapsed" text): `\d` and `\w` are ASCII only,
///   `\p{Lu}`/`\p{Ll}`/… match any letter (llama.cpp collapses all letters to one byte), `$`
///   matches only at the end of the text, `[` is literal inside a class. (Non-ASCII white space
///   is rewritten to U+000B before matching: see `RegexSplitter`.)
enum RegexFlavor: Sendable {
    case oniguruma
    case llamaCpp
}

enum QuantifierMode {
    case greedy, lazy, possessive
}

enum RegexAssertion {
    case lineStart, lineEnd, textStart, textEnd, textEndOrFinalNewline, wordBoundary, notWordBoundary
}

indirect enum RegexNode {
    case empty
    case char(UInt32)
    /// Case-insensitive literal, stored folded.
    case charFold(UInt32)
    case set(Int)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, mode: QuantifierMode)
    case lookaround(RegexNode, behind: Bool, negative: Bool)
    case atomic(RegexNode)
    case assertion(RegexAssertion)
}

/// Recursive-descent parser from a pattern's code points to a `RegexNode` tree plus its classes.
struct RegexParser {
    private let p: [UInt32]
    private var i = 0
    private let flavor: RegexFlavor
    private(set) var sets: [CharClass] = []
    private var depth = 0
    private static let maxDepth = 200

    init(pattern: String, flavor: RegexFlavor) {
        self.p = UTF8Coding.scalars(pattern)
        self.flavor = flavor
    }

    static func parse(_ pattern: String, flavor: RegexFlavor) throws -> (RegexNode, [CharClass]) {
        var parser = RegexParser(pattern: pattern, flavor: flavor)
        let node = try parser.parseAlternation(caseInsensitive: false)
        guard parser.i == parser.p.count else { throw parser.error("unbalanced ')'") }
        return (node, parser.sets)
    }

    private func error(_ what: String) -> LoomError {
        LoomError.format("regex \(String(String.UnicodeScalarView(p.compactMap(Unicode.Scalar.init)))): \(what) at \(i)")
    }

    private func unsupported(_ what: String) -> LoomError {
        LoomError.unsupported("regex \(String(String.UnicodeScalarView(p.compactMap(Unicode.Scalar.init)))): \(what) is not supported")
    }

    private var atEnd: Bool { i >= p.count }
    private var peek: UInt32 { i < p.count ? p[i] : 0 }

    private mutating func addSet(_ c: CharClass) -> RegexNode {
        sets.append(c)
        return .set(sets.count - 1)
    }

    // MARK: structure

    private mutating func parseAlternation(caseInsensitive ci0: Bool) throws -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        guard depth < Self.maxDepth else { throw error("nesting too deep") }
        var ci = ci0
        var branches: [RegexNode] = [try parseConcat(caseInsensitive: &ci)]
        while !atEnd && peek == 0x7C {  // |
            i += 1
            branches.append(try parseConcat(caseInsensitive: &ci))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    /// `ci` may be switched by an inline `(?i)` and stays switched to the end of the group.
    private mutating func parseConcat(caseInsensitive ci: inout Bool) throws -> RegexNode {
        var items: [RegexNode] = []
        while !atEnd {
            let c = peek
            if c == 0x7C || c == 0x29 { break }  // | )
            // Inline flag groups without a body: (?i) (?-i)
            if c == 0x28, i + 2 < p.count, p[i + 1] == 0x3F, let (on, len) = inlineFlags(at: i + 2), i + 2 + len < p.count, p[i + 2 + len] == 0x29 {
                ci = on
                i += 3 + len
                continue
            }
            var atom = try parseAtom(caseInsensitive: ci)
            atom = try parseQuantifiers(atom)
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    /// Parses `i`, `-i`, `mi`… flag letters starting at `j`; returns the case-insensitivity they
    /// set and their length, or nil if they are not a flag list.
    private func inlineFlags(at j: Int) -> (Bool, Int)? {
        var k = j
        var on = true
        var ci: Bool? = nil
        while k < p.count {
            let c = p[k]
            if c == 0x2D { on = false; k += 1; continue }  // -
            if c == 0x69 { ci = on; k += 1; continue }      // i
            break
        }
        guard let ci, k > j else { return nil }
        return (ci, k - j)
    }

    private mutating func parseQuantifiers(_ atom0: RegexNode) throws -> RegexNode {
        var atom = atom0
        while !atEnd {
            let c = peek
            var minC = 0
            var maxC: Int? = nil
            if c == 0x2A { i += 1 }                                  // *
            else if c == 0x2B { minC = 1; i += 1 }                   // +
            else if c == 0x3F { maxC = 1; i += 1 }                   // ?
            else if c == 0x7B, let (lo, hi, len) = braceQuantifier(at: i) {  // {m,n}
                minC = lo
                maxC = hi
                i += len
            } else { break }
            var mode = QuantifierMode.greedy
            if !atEnd && peek == 0x3F { mode = .lazy; i += 1 }
            else if !atEnd && peek == 0x2B && flavor == .oniguruma { mode = .possessive; i += 1 }
            if let m = maxC, m < minC { throw error("quantifier {\(minC),\(m)} has max < min") }
            if case .assertion = atom { continue }  // quantified assertions: treat as the assertion
            if case .empty = atom { continue }
            atom = .repetition(atom, min: minC, max: maxC, mode: mode)
        }
        return atom
    }

    /// `{n}`, `{n,}`, `{n,m}` and (Oniguruma) `{,m}`; nil if the brace is a literal.
    private func braceQuantifier(at j: Int) -> (Int, Int?, Int)? {
        var k = j + 1
        func number() -> Int? {
            var v = 0
            var digits = 0
            while k < p.count, p[k] >= 0x30, p[k] <= 0x39 {
                v = min(v * 10 + Int(p[k] - 0x30), 1_000_000)
                k += 1
                digits += 1
            }
            return digits > 0 ? v : nil
        }
        let lo = number()
        var hi: Int?
        if k < p.count, p[k] == 0x2C {
            k += 1
            hi = number()
            guard lo != nil || (hi != nil && flavor == .oniguruma) else { return nil }
        } else {
            guard let lo else { return nil }
            hi = lo
        }
        guard k < p.count, p[k] == 0x7D else { return nil }
        return (lo ?? 0, hi, k + 1 - j)
    }

    private mutating func parseAtom(caseInsensitive ci: Bool) throws -> RegexNode {
        let c = p[i]
        switch c {
        case 0x28:  // (
            i += 1
            return try parseGroup(caseInsensitive: ci)
        case 0x5B:  // [
            i += 1
            let (items, negated) = try parseClass()
            return addSet(CharClass(items: items, negated: negated, caseInsensitive: ci))
        case 0x2E:  // .
            i += 1
            let except: [UInt32] = flavor == .oniguruma ? [0x0A] : [0x0A, 0x0D, 0x2028, 0x2029]
            return addSet(CharClass(items: [.anyExcept(except)]))
        case 0x5E:  // ^
            i += 1
            return .assertion(flavor == .oniguruma ? .lineStart : .textStart)
        case 0x24:  // $
            i += 1
            return .assertion(flavor == .oniguruma ? .lineEnd : .textEnd)
        case 0x5C:  // backslash
            i += 1
            return try parseEscape(caseInsensitive: ci)
        case 0x29:
            throw error("unbalanced ')'")
        case 0x2A, 0x2B, 0x3F:
            throw error("quantifier without an operand")
        default:
            i += 1
            return literal(c, ci)
        }
    }

    private mutating func literal(_ c: UInt32, _ ci: Bool) -> RegexNode {
        if ci {
            let f = CaseMapping.fold(c)
            if f != c || CaseMapping.upper(c) != c || CaseMapping.lower(c) != c { return .charFold(f) }
        }
        return .char(c)
    }

    private mutating func parseGroup(caseInsensitive ci: Bool) throws -> RegexNode {
        var node: RegexNode
        if !atEnd && peek == 0x3F {  // (?
            i += 1
            guard !atEnd else { throw error("unterminated group") }
            let k = peek
            switch k {
            case 0x3A:  // (?:
                i += 1
                node = try parseAlternation(caseInsensitive: ci)
            case 0x3D, 0x21:  // (?= (?!
                i += 1
                node = .lookaround(try parseAlternation(caseInsensitive: ci), behind: false, negative: k == 0x21)
            case 0x3E:  // (?> atomic
                i += 1
                node = .atomic(try parseAlternation(caseInsensitive: ci))
            case 0x3C:  // (?<= (?<! or named group (?<name>
                i += 1
                if !atEnd && (peek == 0x3D || peek == 0x21) {
                    let neg = peek == 0x21
                    i += 1
                    node = .lookaround(try parseAlternation(caseInsensitive: ci), behind: true, negative: neg)
                } else {
                    while !atEnd && peek != 0x3E { i += 1 }
                    guard !atEnd else { throw error("unterminated group name") }
                    i += 1
                    node = try parseAlternation(caseInsensitive: ci)
                }
            case 0x50:  // (?P<name>
                i += 1
                guard !atEnd, peek == 0x3C else { throw unsupported("(?P") }
                while !atEnd && peek != 0x3E { i += 1 }
                guard !atEnd else { throw error("unterminated group name") }
                i += 1
                node = try parseAlternation(caseInsensitive: ci)
            default:
                // (?i:...) (?-i:...)
                guard let (on, len) = inlineFlags(at: i), i + len < p.count, p[i + len] == 0x3A else {
                    throw unsupported("group modifier (?\(Unicode.Scalar(k).map { String($0) } ?? "?")")
                }
                i += len + 1
                node = try parseAlternation(caseInsensitive: on)
            }
        } else {
            node = try parseAlternation(caseInsensitive: ci)
        }
        guard !atEnd, peek == 0x29 else { throw error("missing ')'") }
        i += 1
        return node
    }

    // MARK: escapes

    private mutating func parseEscape(caseInsensitive ci: Bool) throws -> RegexNode {
        guard !atEnd else { throw error("trailing backslash") }
        let c = p[i]
        switch c {
        case 0x62: i += 1; return .assertion(.wordBoundary)        // \b
        case 0x42: i += 1; return .assertion(.notWordBoundary)     // \B
        case 0x41: i += 1; return .assertion(.textStart)           // \A
        case 0x7A: i += 1; return .assertion(.textEnd)             // \z
        case 0x5A: i += 1; return .assertion(.textEndOrFinalNewline)  // \Z
        case 0x31...0x39: throw unsupported("backreference")
        default:
            if let item = try classEscape(inClass: false) {
                return addSet(CharClass(items: [item], caseInsensitive: ci))
            }
            return literal(try charEscape(), ci)
        }
    }

    /// A class-like escape at `i` (\d \s \w \p{..} and negations); nil if it is not one.
    private mutating func classEscape(inClass: Bool) throws -> CharClass.Item? {
        let c = p[i]
        let unicode = flavor == .oniguruma
        // Oniguruma's \w outside brackets counts every Latin-1 letter, mark and number (² ¼);
        // inside brackets it is the Unicode property.
        let latin1 = !inClass
        switch c {
        case 0x64: i += 1; return .digit(negated: false, unicode: unicode)
        case 0x44: i += 1; return .digit(negated: true, unicode: unicode)
        case 0x77: i += 1; return .word(negated: false, unicode: unicode, latin1: latin1)
        case 0x57: i += 1; return .word(negated: true, unicode: unicode, latin1: latin1)
        case 0x73: i += 1; return .whitespace(negated: false)
        case 0x53: i += 1; return .whitespace(negated: true)
        case 0x68 where flavor == .oniguruma:  // \h hex digit
            i += 1
            return .nested(CharClassBox(CharClass(items: [.range(0x30, 0x39), .range(0x41, 0x46), .range(0x61, 0x66)])))
        case 0x70, 0x50:  // \p \P
            i += 1
            var negated = c == 0x50
            var name: [UInt32] = []
            if !atEnd && peek == 0x7B {
                i += 1
                if !atEnd && peek == 0x5E { negated.toggle(); i += 1 }
                while !atEnd && peek != 0x7D { name.append(peek); i += 1 }
                guard !atEnd else { throw error("unterminated \\p{") }
                i += 1
            } else {
                guard !atEnd else { throw error("incomplete \\p") }
                name = [peek]
                i += 1
            }
            return try propertyItem(String(String.UnicodeScalarView(name.compactMap(Unicode.Scalar.init))), negated: negated)
        default:
            return nil
        }
    }

    private func propertyItem(_ rawName: String, negated: Bool) throws -> CharClass.Item {
        let name = String(rawName.unicodeScalars.filter { $0 != "_" && $0 != " " && $0 != "-" }.map(Character.init)).lowercased()
        var mask: UInt32
        switch name {
        case "l", "letter": mask = CategoryMask.letter
        case "lu", "uppercaseletter": mask = CategoryMask.of(.lu)
        case "ll", "lowercaseletter": mask = CategoryMask.of(.ll)
        case "lt", "titlecaseletter": mask = CategoryMask.of(.lt)
        case "lm", "modifierletter": mask = CategoryMask.of(.lm)
        case "lo", "otherletter": mask = CategoryMask.of(.lo)
        case "lc", "l&", "casedletter": mask = CategoryMask.of(.lu, .ll, .lt)
        case "m", "mark", "combiningmark": mask = CategoryMask.mark
        case "mn", "nonspacingmark": mask = CategoryMask.of(.mn)
        case "mc", "spacingmark": mask = CategoryMask.of(.mc)
        case "me", "enclosingmark": mask = CategoryMask.of(.me)
        case "n", "number": mask = CategoryMask.number
        case "nd", "decimalnumber", "digit": mask = CategoryMask.of(.nd)
        case "nl", "letternumber": mask = CategoryMask.of(.nl)
        case "no", "othernumber": mask = CategoryMask.of(.no)
        case "p", "punctuation", "punct": mask = CategoryMask.punctuation
        case "pc", "connectorpunctuation": mask = CategoryMask.of(.pc)
        case "pd", "dashpunctuation": mask = CategoryMask.of(.pd)
        case "ps", "openpunctuation": mask = CategoryMask.of(.ps)
        case "pe", "closepunctuation": mask = CategoryMask.of(.pe)
        case "pi", "initialpunctuation": mask = CategoryMask.of(.pi)
        case "pf", "finalpunctuation": mask = CategoryMask.of(.pf)
        case "po", "otherpunctuation": mask = CategoryMask.of(.po)
        case "s", "symbol": mask = CategoryMask.symbol
        case "sm", "mathsymbol": mask = CategoryMask.of(.sm)
        case "sc", "currencysymbol": mask = CategoryMask.of(.sc)
        case "sk", "modifiersymbol": mask = CategoryMask.of(.sk)
        case "so", "othersymbol": mask = CategoryMask.of(.so)
        case "z", "separator": mask = CategoryMask.separator
        case "zs", "spaceseparator": mask = CategoryMask.of(.zs)
        case "zl", "lineseparator": mask = CategoryMask.of(.zl)
        case "zp", "paragraphseparator": mask = CategoryMask.of(.zp)
        case "c", "other": mask = CategoryMask.other
        case "cc", "control", "cntrl": mask = CategoryMask.of(.cc)
        case "cf", "format": mask = CategoryMask.of(.cf)
        case "cs", "surrogate": mask = CategoryMask.of(.cs)
        case "co", "privateuse": mask = CategoryMask.of(.co)
        case "cn", "unassigned": mask = CategoryMask.of(.cn)
        case "any": return .anyExcept([])
        case "han", "hani":
            // Approximation of the Han script by its CJK ideograph blocks (as llama.cpp does).
            let ranges: [(UInt32, UInt32)] = [(0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B),
                                              (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
                                              (0x20000, 0x2A6DF), (0x2A700, 0x2EBEF), (0x2F800, 0x2FA1F), (0x30000, 0x323AF)]
            return .nested(CharClassBox(CharClass(items: ranges.map { .range($0.0, $0.1) }, negated: negated)))
        default:
            throw unsupported("\\p{\(rawName)}")
        }
        if flavor == .llamaCpp, mask & CategoryMask.letter != 0 {
            // llama.cpp collapses every letter to one byte: \p{Lu} etc. match any letter.
            mask |= CategoryMask.letter
        }
        return .categories(mask, negated: negated)
    }

    /// A single-character escape at `i` (after the backslash).
    private mutating func charEscape() throws -> UInt32 {
        let c = p[i]
        i += 1
        switch c {
        case 0x74: return 0x09  // t
        case 0x6E: return 0x0A  // n
        case 0x72: return 0x0D  // r
        case 0x66: return 0x0C  // f
        case 0x76: return 0x0B  // v
        case 0x61: return 0x07  // a
        case 0x65: return 0x1B  // e
        case 0x30: return 0x00  // 0
        case 0x78:  // x
            if !atEnd && peek == 0x7B {
                i += 1
                var v: UInt32 = 0
                var n = 0
                while !atEnd && peek != 0x7D {
                    guard let d = hexValue(peek), n < 8 else { throw error("bad \\x{..}") }
                    v = v << 4 | d
                    n += 1
                    i += 1
                }
                guard !atEnd, n > 0 else { throw error("bad \\x{..}") }
                i += 1
                return v
            }
            return try hexDigits(2)
        case 0x75:  // u
            if !atEnd && peek == 0x7B { return try charEscapeBraced() }
            return try hexDigits(4)
        case 0x63:  // cX
            guard !atEnd else { throw error("bad \\c") }
            let x = peek
            i += 1
            return x & 0x1F
        default:
            let isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            if isAlnum { throw unsupported("escape \\\(Unicode.Scalar(c).map { String($0) } ?? "?")") }
            return c
        }
    }

    private mutating func charEscapeBraced() throws -> UInt32 {
        guard !atEnd, peek == 0x7B else { throw error("bad \\u{") }
        i += 1
        var v: UInt32 = 0
        var n = 0
        while !atEnd && peek != 0x7D {
            guard let d = hexValue(peek), n < 8 else { throw error("bad \\u{..}") }
            v = v << 4 | d
            n += 1
            i += 1
        }
        guard !atEnd, n > 0 else { throw error("bad \\u{..}") }
        i += 1
        return v
    }

    private func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    private mutating func hexDigits(_ n: Int) throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<n {
            guard !atEnd, let d = hexValue(peek) else { throw error("bad hex escape") }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    // MARK: classes

    /// Is the character at `i` the letter of a class escape (\d \s \w \p …)?
    private func isClassEscapeLetter(_ c: UInt32) -> Bool {
        switch c {
        case 0x64, 0x44, 0x77, 0x57, 0x73, 0x53, 0x70, 0x50: return true
        case 0x68: return flavor == .oniguruma
        default: return false
        }
    }

    /// Parses a class body after `[` up to and including `]`: its items and negation.
    private mutating func parseClass() throws -> ([CharClass.Item], Bool) {
        depth += 1
        defer { depth -= 1 }
        guard depth < Self.maxDepth else { throw error("nesting too deep") }
        var items: [CharClass.Item] = []
        var negated = false
        if !atEnd && peek == 0x5E { negated = true; i += 1 }
        var first = true
        while true {
            guard !atEnd else { throw error("unterminated character class") }
            let c = peek
            if c == 0x5D && !first { i += 1; break }  // ]
            first = false
            if c == 0x5B && flavor == .oniguruma {  // nested class
                if i + 1 < p.count, p[i + 1] == 0x3A { throw unsupported("POSIX bracket expressions") }
                i += 1
                let (inner, innerNeg) = try parseClass()
                items.append(.nested(CharClassBox(CharClass(items: inner, negated: innerNeg))))
                continue
            }
            if c == 0x26, i + 1 < p.count, p[i + 1] == 0x26, flavor == .oniguruma {
                throw unsupported("class intersection &&")
            }
            // One endpoint: a class escape (which cannot start a range) or a character.
            var lo: UInt32
            if c == 0x5C {
                i += 1
                guard !atEnd else { throw error("trailing backslash") }
                if isClassEscapeLetter(peek), let item = try classEscape(inClass: true) {
                    items.append(item)
                    continue
                }
                if peek == 0x62 { i += 1; lo = 0x08 } else { lo = try charEscape() }
            } else {
                lo = c
                i += 1
            }
            // A range?
            if i + 1 < p.count, p[i] == 0x2D, p[i + 1] != 0x5D {
                let afterDash = i + 1
                if p[afterDash] == 0x5C, afterDash + 1 < p.count, isClassEscapeLetter(p[afterDash + 1]) {
                    // [a-\d]: the '-' is literal.
                    items.append(.range(lo, lo))
                    continue
                }
                if p[afterDash] == 0x5B && flavor == .oniguruma {
                    items.append(.range(lo, lo))
                    continue
                }
                i = afterDash
                var hi: UInt32
                if p[i] == 0x5C {
                    i += 1
                    guard !atEnd else { throw error("trailing backslash") }
                    if peek == 0x62 { i += 1; hi = 0x08 } else { hi = try charEscape() }
                } else {
                    hi = p[i]
                    i += 1
                }
                guard lo <= hi else { throw error("class range out of order") }
                items.append(.range(lo, hi))
            } else {
                items.append(.range(lo, lo))
            }
        }
        return (items, negated)
    }
}
