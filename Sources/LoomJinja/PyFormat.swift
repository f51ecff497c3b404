#if canImport(Glibc)
import Glibc
#endif

/// Python's string formatting: format(value, spec), str.format (as jinja2's sandboxed formatter
/// runs it) and printf-style `%`.
enum PyFormat {
    struct Spec {
        var fill: Unicode.Scalar = " "
        var align: Unicode.Scalar? = nil
        var sign: Unicode.Scalar? = nil
        var alternate = false
        var width = 0
        var grouping: Unicode.Scalar? = nil
        var precision: Int? = nil
        var type: Unicode.Scalar? = nil
    }

    static func parseSpec(_ spec: String) throws -> Spec {
        let a = spec.scalars
        var s = Spec()
        var i = 0
        let aligns: Set<Unicode.Scalar> = ["<", ">", "=", "^"]
        if a.count >= 2, aligns.contains(a[1]) {
            s.fill = a[0]; s.align = a[1]; i = 2
        } else if a.count >= 1, aligns.contains(a[0]) {
            s.align = a[0]; i = 1
        }
        if i < a.count, a[i] == "+" || a[i] == "-" || a[i] == " " { s.sign = a[i]; i += 1 }
        if i < a.count, a[i] == "z" { i += 1 }
        if i < a.count, a[i] == "#" { s.alternate = true; i += 1 }
        if i < a.count, a[i] == "0" {
            if s.align == nil { s.fill = "0"; s.align = "=" }
            i += 1
        }
        while i < a.count, let d = Int(String(a[i])), a[i].isASCII {
            s.width = s.width * 10 + d
            try JinjaError.checkPadding(s.width, "format width")
            i += 1
        }
        if i < a.count, a[i] == "," || a[i] == "_" { s.grouping = a[i]; i += 1 }
        if i < a.count, a[i] == "." {
            i += 1
            var p = 0
            var any = false
            while i < a.count, let d = Int(String(a[i])), a[i].isASCII {
                p = p * 10 + d
                try JinjaError.checkPadding(p, "format precision")
                i += 1; any = true
            }
            if !any { throw JinjaError.value("Format specifier missing precision") }
            s.precision = p
        }
        if i < a.count { s.type = a[i]; i += 1 }
        if i != a.count { throw JinjaError.value("Invalid format specifier '\(spec)'") }
        return s
    }

    /// printf through the C library (Python's float formatting is correctly rounded, as glibc's).
    static func cFormat(_ format: String, _ precision: Int, _ d: Double) -> String {
        var buf = [CChar](repeating: 0, count: 128)
        let n = withVaList([Int32(precision), d]) { vsnprintf(&buf, buf.count, format, $0) }
        if Int(n) >= buf.count {
            buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = withVaList([Int32(precision), d]) { vsnprintf(&buf, buf.count, format, $0) }
        }
        return String(cString: buf)
    }

    private static func group(_ digits: String, _ sep: Unicode.Scalar, every: Int) -> String {
        let a = digits.scalars
        var out: Scalars = []
        for (i, c) in a.enumerated() {
            if i > 0, (a.count - i) % every == 0 { out.append(sep) }
            out.append(c)
        }
        return String(scalars: out)
    }

    /// Pads sign+prefix and body to the spec's width; '=' pads between them.
    private static func pad(_ prefix: String, _ body: String, _ spec: Spec, defaultAlign: Unicode.Scalar) -> String {
        let len = prefix.unicodeScalars.count + body.unicodeScalars.count
        guard spec.width > len else { return prefix + body }
        let fill = String(repeating: String(spec.fill), count: spec.width - len)
        switch spec.align ?? defaultAlign {
        case "<": return prefix + body + fill
        case "=": return prefix + fill + body
        case "^":
            let total = spec.width - len
            let left = total / 2
            return String(repeating: String(spec.fill), count: left) + prefix + body
                + String(repeating: String(spec.fill), count: total - left)
        default: return fill + prefix + body
        }
    }

    private static func signPrefix(_ negative: Bool, _ spec: Spec) -> String {
        if negative { return "-" }
        if spec.sign == "+" { return "+" }
        if spec.sign == " " { return " " }
        return ""
    }

    /// Python's format(value, spec).
    static func formatValue(_ v: JinjaValue, _ specText: String) throws -> String {
        if specText.isEmpty { return v.str }
        let spec = try parseSpec(specText)
        switch v {
        case .string(let s), .markup(let s):
            if let t = spec.type, t != "s" {
                throw JinjaError.value("Unknown format code '\(t)' for object of type 'str'")
            }
            if spec.sign != nil { throw JinjaError.value("Sign not allowed in string format specifier") }
            if spec.align == "=" { throw JinjaError.value("'=' alignment not allowed in string format specifier") }
            var body = s
            if let p = spec.precision { body = String(scalars: s.scalars.prefix(p)) }
            return pad("", body, spec, defaultAlign: "<")
        case .int, .bool:
            let i = v.indexValue!
            if let t = spec.type, "eEfFgGn%".unicodeScalars.contains(t), t != "n" {
                return try formatFloat(Double(i), spec)
            }
            if spec.precision != nil { throw JinjaError.value("Precision not allowed in integer format specifier") }
            var body: String
            var prefix = signPrefix(i < 0, spec)
            let m = i.magnitude
            switch spec.type {
            case nil, "d", "n":
                body = String(m)
                if let g = spec.grouping { body = group(body, g, every: 3) }
            case "b": body = String(m, radix: 2); if spec.alternate { prefix += "0b" }
            case "o": body = String(m, radix: 8); if spec.alternate { prefix += "0o" }
            case "x": body = String(m, radix: 16); if spec.alternate { prefix += "0x" }
            case "X": body = String(m, radix: 16).uppercased(); if spec.alternate { prefix += "0X" }
            case "c":
                guard let u = Unicode.Scalar(UInt32(truncatingIfNeeded: i)), i >= 0 else {
                    throw JinjaError("OverflowError", "%c arg not in range(0x110000)")
                }
                return pad("", String(u), spec, defaultAlign: "<")
            case let t?:
                throw JinjaError.value("Unknown format code '\(t)' for object of type 'int'")
            }
            if let g = spec.grouping, spec.type != nil, spec.type != "d", spec.type != "n" { body = group(body, g, every: 4) }
            return pad(prefix, body, spec, defaultAlign: ">")
        case .float(let d):
            return try formatFloat(d, spec)
        default:
            throw JinjaError.type("unsupported format string passed to \(v.typeName).__format__")
        }
    }

    private static func formatFloat(_ d: Double, _ spec: Spec) throws -> String {
        let negative = d.sign == .minus && !d.isNaN
        let x = abs(d)
        var body: String
        let alt = spec.alternate ? "#" : ""
        switch spec.type {
        case nil:
            if let p = spec.precision {
                body = cFormat("%\(alt).*g", max(p, 1), x)
                if !body.contains(".") && !body.contains("e") && x.isFinite { body += ".0" }
            } else {
                body = pythonFloatRepr(x)
            }
        case "e", "E", "f", "F", "g", "G":
            let t = spec.type!
            body = cFormat("%\(alt).*\(t)", spec.precision ?? 6, x)
        case "n":
            body = cFormat("%\(alt).*g", spec.precision ?? 6, x)
        case "%":
            body = cFormat("%\(alt).*f", spec.precision ?? 6, x * 100) + "%"
        case let t?:
            throw JinjaError.value("Unknown format code '\(t)' for object of type 'float'")
        }
        if let g = spec.grouping {
            let a = body.scalars
            let end = a.firstIndex { !($0.value >= 0x30 && $0.value <= 0x39) } ?? a.count
            body = group(String(scalars: a[..<end]), g, every: 3) + String(scalars: a[end...])
        }
        return pad(signPrefix(negative, spec), body, spec, defaultAlign: ">")
    }

    // MARK: str.format

    static func format(_ fmt: String, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)],
                       _ interp: Interpreter, depth: Int = 0) throws -> String {
        if depth > 2 { throw JinjaError.value("Max string recursion exceeded") }
        let a = fmt.scalars
        var out = ""
        var i = 0
        var auto = 0
        var manual = false
        var automatic = false
        while i < a.count {
            let c = a[i]
            if c == "{" {
                if i + 1 < a.count, a[i + 1] == "{" { out += "{"; i += 2; continue }
                var j = i + 1
                var level = 1
                while j < a.count {
                    if a[j] == "{" { level += 1 }
                    if a[j] == "}" { level -= 1; if level == 0 { break } }
                    j += 1
                }
                guard j < a.count else { throw JinjaError.value("expected '}' before end of string") }
                let field = Array(a[(i + 1)..<j])
                i = j + 1
                // field_name [!conv] [:spec]; brackets may hold ':' and '!'.
                var k = 0
                var inBracket = false
                while k < field.count {
                    if field[k] == "[" { inBracket = true }
                    if field[k] == "]" { inBracket = false }
                    if !inBracket && (field[k] == "!" || field[k] == ":") { break }
                    k += 1
                }
                let name = Array(field[..<k])
                var conversion: Unicode.Scalar? = nil
                var spec = ""
                if k < field.count, field[k] == "!" {
                    guard k + 1 < field.count else { throw JinjaError.value("end of string while looking for conversion specifier") }
                    conversion = field[k + 1]
                    k += 2
                    if k < field.count, field[k] != ":" { throw JinjaError.value("expected ':' after conversion specifier") }
                }
                if k < field.count, field[k] == ":" {
                    spec = String(scalars: field[(k + 1)...])
                    if spec.contains("{") { spec = try format(spec, args, kwargs, interp, depth: depth + 1) }
                }
                // The first part of the name: an index, a keyword, or nothing (automatic numbering).
                var p = 0
                while p < name.count, name[p] != ".", name[p] != "[" { p += 1 }
                let first = String(scalars: name[..<p])
                var value: JinjaValue
                if first.isEmpty {
                    if manual { throw JinjaError.value("cannot switch from manual field specification to automatic field numbering") }
                    automatic = true
                    guard auto < args.count else { throw JinjaError("IndexError", "tuple index out of range") }
                    value = args[auto]
                    auto += 1
                } else if let n = Int(first), first.unicodeScalars.allSatisfy({ $0.value >= 0x30 && $0.value <= 0x39 }) {
                    if automatic { throw JinjaError.value("cannot switch from automatic field numbering to manual field specification") }
                    manual = true
                    guard n < args.count else { throw JinjaError("IndexError", "tuple index out of range") }
                    value = args[n]
                } else {
                    guard let v = kwargs.first(where: { $0.0 == first })?.1 else {
                        throw JinjaError("KeyError", pythonStringRepr(first))
                    }
                    value = v
                }
                while p < name.count {
                    if name[p] == "." {
                        var q = p + 1
                        while q < name.count, name[q] != ".", name[q] != "[" { q += 1 }
                        value = try interp.getAttribute(value, String(scalars: name[(p + 1)..<q]))
                        p = q
                    } else {
                        var q = p + 1
                        while q < name.count, name[q] != "]" { q += 1 }
                        guard q < name.count else { throw JinjaError.value("Missing ']' in format string") }
                        let key = String(scalars: name[(p + 1)..<q])
                        if let n = Int(key) { value = try interp.getItem(value, .int(n)) }
                        else { value = try interp.getItem(value, .string(key)) }
                        p = q + 1
                    }
                }
                switch conversion {
                case nil: break
                case "s": value = .string(value.str)
                case "r", "a": value = .string(value.repr)
                case let c?: throw JinjaError.value("Unknown conversion specifier \(c)")
                }
                out += try formatValue(value, spec)
                try interp.checkSize(out.utf8.count)
            } else if c == "}" {
                if i + 1 < a.count, a[i + 1] == "}" { out += "}"; i += 2; continue }
                throw JinjaError.value("Single '}' encountered in format string")
            } else {
                out.unicodeScalars.append(c)
                i += 1
            }
        }
        return out
    }

    // MARK: printf-style

    static func percent(_ fmt: String, _ arg: JinjaValue) throws -> String {
        var args: [JinjaValue]
        var mapping: JinjaDict? = nil
        if case .tuple(let t) = arg { args = t } else { args = [arg] }
        if case .dict(let d) = arg { mapping = d }
        // Python skips the "not all arguments converted" check when the argument supports
        // item access (a dict, but also a list).
        var subscriptable = mapping != nil
        switch arg {
        case .list, .undefined: subscriptable = true
        default: break
        }
        let isTuple: Bool
        if case .tuple = arg { isTuple = true } else { isTuple = false }
        var next = 0
        var usedMapping = false
        func take() throws -> JinjaValue {
            guard next < args.count else { throw JinjaError.type("not enough arguments for format string") }
            next += 1
            return args[next - 1]
        }
        let a = fmt.scalars
        var out = ""
        var i = 0
        while i < a.count {
            if a[i] != "%" { out.unicodeScalars.append(a[i]); i += 1; continue }
            i += 1
            guard i < a.count else { throw JinjaError.value("incomplete format") }
            var value: JinjaValue? = nil
            if a[i] == "(" {
                guard let m = mapping else { throw JinjaError.type("format requires a mapping") }
                var j = i + 1
                var level = 1
                while j < a.count { if a[j] == "(" { level += 1 }; if a[j] == ")" { level -= 1; if level == 0 { break } }; j += 1 }
                guard j < a.count else { throw JinjaError.value("incomplete format key") }
                let key = String(scalars: a[(i + 1)..<j])
                guard let v = m[key] else { throw JinjaError("KeyError", pythonStringRepr(key)) }
                value = v
                usedMapping = true
                i = j + 1
            }
            var spec = Spec()
            var left = false
            var zero = false
            while i < a.count, "-+ #0".unicodeScalars.contains(a[i]) {
                switch a[i] {
                case "-": left = true
                case "+": spec.sign = "+"
                case " ": if spec.sign == nil { spec.sign = " " }
                case "#": spec.alternate = true
                default: zero = true
                }
                i += 1
            }
            if i < a.count, a[i] == "*" {
                guard let w = try take().indexValue else { throw JinjaError.type("* wants int") }
                guard w.magnitude <= UInt(JinjaError.maxPadding) else { throw JinjaError.limit("format width \(w) exceeds \(JinjaError.maxPadding)") }
                spec.width = abs(w); if w < 0 { left = true }
                i += 1
            } else {
                while i < a.count, a[i].isASCII, let d = Int(String(a[i])) {
                    spec.width = spec.width * 10 + d
                    try JinjaError.checkPadding(spec.width, "format width")
                    i += 1
                }
            }
            if i < a.count, a[i] == "." {
                i += 1
                if i < a.count, a[i] == "*" {
                    guard let p = try take().indexValue else { throw JinjaError.type("* wants int") }
                    try JinjaError.checkPadding(p, "format precision")
                    spec.precision = max(0, p)
                    i += 1
                } else {
                    var p = 0
                    while i < a.count, a[i].isASCII, let d = Int(String(a[i])) {
                        p = p * 10 + d
                        try JinjaError.checkPadding(p, "format precision")
                        i += 1
                    }
                    spec.precision = p
                }
            }
            while i < a.count, "hlL".unicodeScalars.contains(a[i]) { i += 1 }
            guard i < a.count else { throw JinjaError.value("incomplete format") }
            let t = a[i]
            i += 1
            if t == "%" { out += "%"; continue }
            let v = try value ?? take()
            var body: String
            var numeric = true
            var negative = false
            switch t {
            case "s": body = v.str; numeric = false
            case "r", "a": body = v.repr; numeric = false
            case "d", "i", "u":
                guard let n = Operators.num(v) else {
                    throw JinjaError.type("%\(t) format: a real number is required, not \(v.typeName)")
                }
                switch n {
                case .int(let x): negative = x < 0; body = String(x.magnitude)
                case .float(let x):
                    guard x.isFinite else { throw JinjaError("OverflowError", "cannot convert float infinity to integer") }
                    negative = x < 0 && x.rounded(.towardZero) != 0
                    body = String(Int(abs(x).rounded(.towardZero)))
                }
                if let p = spec.precision, body.count < p { body = String(repeating: "0", count: p - body.count) + body }
            case "o", "x", "X":
                guard let x = v.indexValue else {
                    throw JinjaError.type("%\(t) format: an integer is required, not \(v.typeName)")
                }
                negative = x < 0
                body = String(x.magnitude, radix: t == "o" ? 8 : 16)
                if t == "X" { body = body.uppercased() }
                if spec.alternate { body = (t == "o" ? "0o" : (t == "x" ? "0x" : "0X")) + body }
            case "e", "E", "f", "F", "g", "G":
                guard let n = Operators.num(v) else { throw JinjaError.type("must be real number, not \(v.typeName)") }
                let x = n.double
                negative = x.sign == .minus
                body = cFormat("%\(spec.alternate ? "#" : "").*\(t)", spec.precision ?? 6, abs(x))
            case "c":
                if let s = v.stringValue, s.unicodeScalars.count == 1 { body = s }
                else if let x = v.indexValue, let u = Unicode.Scalar(UInt32(truncatingIfNeeded: x)), x >= 0 { body = String(u) }
                else { throw JinjaError.type("%c requires int or char") }
                numeric = false
            default:
                throw JinjaError.value("unsupported format character '\(t)' (0x\(String(t.value, radix: 16)))")
            }
            if !numeric, let p = spec.precision, t != "c" { body = String(scalars: body.scalars.prefix(p)) }
            var prefix = ""
            if numeric {
                prefix = negative ? "-" : (spec.sign.map { String($0) } ?? "")
            }
            let len = prefix.unicodeScalars.count + body.unicodeScalars.count
            if spec.width > len {
                let n = spec.width - len
                if left { body += String(repeating: " ", count: n) }
                else if zero && numeric { prefix += String(repeating: "0", count: n) }
                else { prefix = String(repeating: " ", count: n) + prefix }
            }
            out += prefix + body
        }
        if !subscriptable || isTuple {
            if next < args.count && !usedMapping {
                throw JinjaError.type("not all arguments converted during string formatting")
            }
        }
        return out
    }
}
