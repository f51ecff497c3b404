/// jinja2's lexer for the environment transformers uses: default delimiters, trim_blocks=True,
/// lstrip_blocks=True, keep_trailing_newline=False. It follows jinja2's regex rules step by step
/// (lexer.py), including which whitespace each rule eats, so that output whitespace matches.

enum TokenKind: Equatable {
    case data
    case variableBegin, variableEnd
    case blockBegin, blockEnd
    case name, string, integer, float, op
    case eof
}

struct Token {
    var kind: TokenKind
    var text: String = ""      // data, name, operator, the decoded value of a string
    var int: Int = 0
    var float: Double = 0
    var line: Int

    func isName(_ n: String) -> Bool { kind == .name && text == n }
    func isOp(_ o: String) -> Bool { kind == .op && text == o }

    var describe: String {
        switch kind {
        case .data: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name, .op: return text
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .eof: return "end of template"
        }
    }
}

struct Lexer {
    private let src: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var lineStarting = true
    private var tokens: [Token] = []

    static func tokenize(_ source: String) throws -> [Token] {
        var lx = Lexer(src: normalizeNewlines(source))
        try lx.run()
        lx.tokens.append(Token(kind: .eof, line: lx.line))
        return lx.tokens
    }

    private init(src: [Unicode.Scalar]) { self.src = src }

    /// \r\n, \r and \n all become \n, and one trailing newline is dropped (keep_trailing_newline=False).
    static func normalizeNewlines(_ s: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.unicodeScalars.count)
        var prevCR = false
        for u in s.unicodeScalars {
            if u == "\r" { out.append("\n"); prevCR = true; continue }
            if u == "\n" && prevCR { prevCR = false; continue }
            prevCR = false
            out.append(u)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < src.count ? src[i] : nil }

    private func matches(_ s: String, at i: Int) -> Bool {
        var j = i
        for u in s.unicodeScalars {
            guard j < src.count, src[j] == u else { return false }
            j += 1
        }
        return true
    }

    private func countNewlines(_ a: Int, _ b: Int) -> Int {
        var c = 0
        var i = a
        while i < b { if src[i] == "\n" { c += 1 }; i += 1 }
        return c
    }

    private func skipSpace(_ i: Int) -> Int {
        var j = i
        while j < src.count, isPySpace(src[j]) { j += 1 }
        return j
    }

    private func fail(_ m: String) -> JinjaError { .syntax(m, line: line) }

    /// Emits the text before a tag after applying `{%-` (strip all whitespace) or lstrip_blocks
    /// (strip the tag's line's indentation when nothing else precedes it on the line).
    private mutating func emitText(_ start: Int, _ end: Int, sign: Unicode.Scalar?, lstrip: Bool) {
        var stop = end
        if sign == "-" {
            while stop > start, isPySpace(src[stop - 1]) { stop -= 1 }
        } else if sign != "+" && lstrip {
            var lpos = end
            while lpos > start, src[lpos - 1] != "\n" { lpos -= 1 }
            if lpos > start || lineStarting {
                if lpos < end, (lpos..<end).allSatisfy({ isPySpace(src[$0]) }) { stop = lpos }
            }
        }
        if stop > start {
            tokens.append(Token(kind: .data, text: String(String.UnicodeScalarView(src[start..<stop])), line: line))
        }
        line += countNewlines(start, end)
    }

    private mutating func run() throws {
        let n = src.count
        while pos < n {
            // The next tag start: {{, {% or {#.
            var i = pos
            while i + 1 < n {
                if src[i] == "{", src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#" { break }
                i += 1
            }
            if i + 1 >= n {
                tokens.append(Token(kind: .data, text: String(String.UnicodeScalarView(src[pos..<n])), line: line))
                line += countNewlines(pos, n)
                pos = n
                break
            }
            let kind = src[i + 1]
            var sign: Unicode.Scalar? = nil
            if let c = at(i + 2), c == "-" || c == "+" { sign = c }
            if kind == "%", let rawEnd = rawBegin(at: i) {
                emitText(pos, i, sign: sign, lstrip: true)
                lineStarting = src[rawEnd - 1] == "\n"
                try lexRaw(from: rawEnd)
                continue
            }
            emitText(pos, i, sign: sign, lstrip: kind != "{")
            pos = i + 2 + (sign == nil ? 0 : 1)
            lineStarting = false
            switch kind {
            case "#": try lexComment()
            case "%":
                tokens.append(Token(kind: .blockBegin, line: line))
                try lexTag(block: true)
            default:
                tokens.append(Token(kind: .variableBegin, line: line))
                try lexTag(block: false)
            }
        }
    }

    /// `{%(-|+|)\s*raw\s*(-%}\s*|%})` at i: the position after it.
    private func rawBegin(at i: Int) -> Int? {
        var j = i + 2
        if let c = at(j), c == "-" || c == "+" { j += 1 }
        j = skipSpace(j)
        guard matches("raw", at: j) else { return nil }
        j = skipSpace(j + 3)
        if matches("-%}", at: j) { return skipSpace(j + 3) }
        if matches("%}", at: j) { return j + 2 }
        return nil
    }

    private mutating func lexRaw(from start: Int) throws {
        var i = start
        while i + 1 < src.count {
            if src[i] == "{", src[i + 1] == "%" {
                var j = i + 2
                var sign: Unicode.Scalar? = nil
                if let c = at(j), c == "-" || c == "+" { sign = c; j += 1 }
                j = skipSpace(j)
                if matches("endraw", at: j) {
                    j = skipSpace(j + 6)
                    var end: Int? = nil
                    if matches("+%}", at: j) { end = j + 3 }
                    else if matches("-%}", at: j) { end = skipSpace(j + 3) }
                    else if matches("%}", at: j) { end = j + 2; if at(j + 2) == "\n" { end = j + 3 } }
                    if let e = end {
                        emitText(start, i, sign: sign, lstrip: true)
                        line += countNewlines(i, e)
                        lineStarting = src[e - 1] == "\n"
                        pos = e
                        return
                    }
                }
            }
            i += 1
        }
        throw fail("Missing end of raw directive")
    }

    private mutating func lexComment() throws {
        var k = pos
        while k < src.count {
            var end: Int? = nil
            if matches("+#}", at: k) { end = k + 3 }
            else if matches("-#}", at: k) { end = skipSpace(k + 3) }
            else if matches("#}", at: k) { end = k + 2; if at(k + 2) == "\n" { end = k + 3 } }
            if let e = end {
                line += countNewlines(pos, e)
                lineStarting = src[e - 1] == "\n"
                pos = e
                return
            }
            k += 1
        }
        throw fail("Missing end of comment tag")
    }

    /// The tokens of a `{% ... %}` or `{{ ... }}` up to and including its end delimiter. While
    /// brackets are open an end delimiter is not one (`{{ {'a': 1}}}`), as in jinja2.
    private mutating func lexTag(block: Bool) throws {
        var balance: [Unicode.Scalar] = []
        while true {
            guard pos < src.count else { throw fail("unexpected end of template") }
            if balance.isEmpty {
                var end: Int? = nil
                if block {
                    if matches("+%}", at: pos) { end = pos + 3 }
                    else if matches("-%}", at: pos) { end = skipSpace(pos + 3) }
                    else if matches("%}", at: pos) { end = pos + 2; if at(pos + 2) == "\n" { end = pos + 3 } }
                } else {
                    if matches("-}}", at: pos) { end = skipSpace(pos + 3) }
                    else if matches("}}", at: pos) { end = pos + 2 }
                }
                if let e = end {
                    tokens.append(Token(kind: block ? .blockEnd : .variableEnd, line: line))
                    line += countNewlines(pos, e)
                    lineStarting = src[e - 1] == "\n"
                    pos = e
                    return
                }
            }
            let c = src[pos]
            if isPySpace(c) {
                let e = skipSpace(pos)
                line += countNewlines(pos, e)
                pos = e
                continue
            }
            if let (e, v) = matchFloat(pos) {
                tokens.append(Token(kind: .float, float: v, line: line))
                pos = e
                continue
            }
            if let (e, v) = try matchInteger(pos) {
                tokens.append(Token(kind: .integer, int: v, line: line))
                pos = e
                continue
            }
            if isNameStart(c) {
                var e = pos + 1
                while e < src.count, isNameContinue(src[e]) { e += 1 }
                tokens.append(Token(kind: .name, text: String(String.UnicodeScalarView(src[pos..<e])), line: line))
                pos = e
                continue
            }
            if c == "'" || c == "\"" {
                if let e = matchString(pos) {
                    let value = try decodeString(pos + 1, e - 1)
                    tokens.append(Token(kind: .string, text: value, line: line))
                    line += countNewlines(pos, e)
                    pos = e
                    continue
                }
            }
            if let op = matchOperator(pos) {
                switch op {
                case "{": balance.append("}")
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "}", ")", "]":
                    guard let expected = balance.popLast() else { throw fail("unexpected '\(op)'") }
                    if String(expected) != op { throw fail("unexpected '\(op)', expected '\(expected)'") }
                default: break
                }
                tokens.append(Token(kind: .op, text: op, line: line))
                pos += op.unicodeScalars.count
                continue
            }
            throw fail("unexpected char \(pythonStringRepr(String(c))) at \(pos)")
        }
    }

    private func isDigit(_ u: Unicode.Scalar?) -> Bool {
        guard let u = u else { return false }
        return u.value >= 0x30 && u.value <= 0x39
    }

    private func isNameStart(_ u: Unicode.Scalar) -> Bool {
        u == "_" || (u.value < 0x80 ? (u.value | 0x20 >= 0x61 && u.value | 0x20 <= 0x7A) : u.properties.isXIDStart)
    }

    private func isNameContinue(_ u: Unicode.Scalar) -> Bool {
        isNameStart(u) || isDigit(u) || (u.value >= 0x80 && u.properties.isXIDContinue)
    }

    /// `(\d+_)*\d+` from i: its end.
    private func matchDigits(_ i: Int) -> Int? {
        guard isDigit(at(i)) else { return nil }
        var j = i
        while isDigit(at(j)) { j += 1 }
        while at(j) == "_", isDigit(at(j + 1)) {
            j += 1
            while isDigit(at(j)) { j += 1 }
        }
        return j
    }

    private func digitsText(_ a: Int, _ b: Int) -> String {
        String(String.UnicodeScalarView(src[a..<b].filter { $0 != "_" }))
    }

    private func matchFloat(_ i: Int) -> (Int, Double)? {
        if i > 0, src[i - 1] == "." { return nil }
        guard let a = matchDigits(i) else { return nil }
        func exponent(_ f: Int) -> Int? {
            guard let e = at(f), e == "e" || e == "E" else { return nil }
            var j = f + 1
            if let s = at(j), s == "+" || s == "-" { j += 1 }
            return matchDigits(j)
        }
        var end: Int? = nil
        if at(a) == ".", let b = matchDigits(a + 1), let e = exponent(b) { end = e }
        else if let e = exponent(a) { end = e }
        else if at(a) == ".", let b = matchDigits(a + 1) { end = b }
        guard let e = end, let v = Double(digitsText(i, e)) else { return nil }
        return (e, v)
    }

    private func matchInteger(_ i: Int) throws -> (Int, Int)? {
        guard isDigit(at(i)) else { return nil }
        func run(_ start: Int, _ ok: (Unicode.Scalar) -> Bool) -> Int? {
            // (_?[digit])+
            var j = start
            var any = false
            while true {
                if let c = at(j), ok(c) { j += 1; any = true; continue }
                if at(j) == "_", let c = at(j + 1), ok(c) { j += 2; any = true; continue }
                break
            }
            return any ? j : nil
        }
        if src[i] == "0", let p = at(i + 1) {
            let radix: Int?
            switch p {
            case "b", "B": radix = 2
            case "o", "O": radix = 8
            case "x", "X": radix = 16
            default: radix = nil
            }
            if let r = radix, let e = run(i + 2, { Int(String($0), radix: r) != nil }) {
                guard let v = Int(digitsText(i + 2, e), radix: r) else { throw fail("integer literal too large") }
                return (e, v)
            }
        }
        var e: Int
        if src[i] == "0" {
            e = i + 1
            while at(e) == "0" || (at(e) == "_" && at(e + 1) == "0") { e += at(e) == "_" ? 2 : 1 }
        } else {
            e = run(i + 1, { $0.value >= 0x30 && $0.value <= 0x39 }) ?? (i + 1)
        }
        guard let v = Int(digitsText(i, e)) else { throw fail("integer literal too large") }
        return (e, v)
    }

    /// A quoted string from i (which holds the quote): the position after the closing quote.
    private func matchString(_ i: Int) -> Int? {
        let q = src[i]
        var j = i + 1
        while j < src.count {
            if src[j] == "\\" { j += 2; continue }
            if src[j] == q { return j + 1 }
            j += 1
        }
        return nil
    }

    private static let operators2: [String] = ["**", "//", "==", "!=", ">=", "<="]
    private static let operators1: Set<Unicode.Scalar> = ["+", "-", "/", "*", "%", "~", "[", "]", "(", ")",
                                                          "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"]

    private func matchOperator(_ i: Int) -> String? {
        for op in Lexer.operators2 where matches(op, at: i) { return op }
        if Lexer.operators1.contains(src[i]) { return String(src[i]) }
        return nil
    }

    /// Python's unicode-escape decoding of a string literal's body (jinja2 decodes literals so).
    private func decodeString(_ a: Int, _ b: Int) throws -> String {
        var out = String.UnicodeScalarView()
        var i = a
        func hexValue(_ start: Int, _ count: Int) throws -> UInt32 {
            guard start + count <= b else { throw fail("truncated escape in string literal") }
            var v: UInt32 = 0
            for k in start..<(start + count) {
                guard let d = Int(String(src[k]), radix: 16) else { throw fail("invalid escape in string literal") }
                v = v * 16 + UInt32(d)
            }
            return v
        }
        while i < b {
            let c = src[i]
            if c != "\\" || i + 1 >= b { out.append(c); i += 1; continue }
            let e = src[i + 1]
            i += 2
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var v = e.value - 0x30
                var k = 0
                while k < 2, i < b, src[i].value >= 0x30, src[i].value <= 0x37 {
                    v = v * 8 + src[i].value - 0x30
                    i += 1
                    k += 1
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "x", "u", "U":
                let count = e == "x" ? 2 : (e == "u" ? 4 : 8)
                let v = try hexValue(i, count)
                i += count
                guard let u = Unicode.Scalar(v) else { throw fail("invalid escape in string literal") }
                out.append(u)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        return String(out)
    }
}
