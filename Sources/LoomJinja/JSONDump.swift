/// Python's json.dumps as transformers' `tojson` calls it (ensure_ascii=False by default,
/// optional indent / separators / sort_keys).
enum JSONDump {
    static func dumps(_ v: JinjaValue, ensureAscii: Bool, indent: JinjaValue, separators: JinjaValue,
                      sortKeys: Bool) throws -> String {
        var indentUnit: String? = nil
        switch indent {
        case .none: indentUnit = nil
        case .int(let n):
            try JinjaError.checkPadding(n, "tojson indent")
            indentUnit = String(repeating: " ", count: max(0, n))
        case .bool(let b): indentUnit = String(repeating: " ", count: b ? 1 : 0)
        case .string(let s), .markup(let s): indentUnit = s
        default: throw JinjaError.type("indent must be an int or a string, not \(indent.typeName)")
        }
        var itemSep = indentUnit == nil ? ", " : ","
        var keySep = ": "
        switch separators {
        case .none: break
        case .tuple(let p), .list(let p):
            guard p.count == 2, let a = p[0].stringValue, let b = p[1].stringValue else {
                throw JinjaError.value("separators must be a (item_separator, key_separator) pair of strings")
            }
            itemSep = a
            keySep = b
        default:
            throw JinjaError.type("separators must be a tuple")
        }
        var out = ""
        try encode(v, into: &out, level: 0, unit: indentUnit, itemSep: itemSep, keySep: keySep,
                   sortKeys: sortKeys, ensureAscii: ensureAscii)
        return out
    }

    static func quote(_ s: String, ensureAscii: Bool) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 || (ensureAscii && u.value > 0x7E) {
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += "\\u" + hex(0xD800 + (v >> 10), 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), 4)
                    } else {
                        out += "\\u" + hex(u.value, 4)
                    }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    private static func floatText(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return pythonFloatRepr(d)
    }

    private static func keyText(_ k: JinjaValue) throws -> String {
        switch k {
        case .string(let s), .markup(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .float(let d): return floatText(d)
        case .none: return "null"
        default: throw JinjaError.type("keys must be str, int, float, bool or None, not \(k.typeName)")
        }
    }

    private static func encode(_ v: JinjaValue, into out: inout String, level: Int, unit: String?, itemSep: String,
                               keySep: String, sortKeys: Bool, ensureAscii: Bool) throws {
        guard level < 200 else { throw JinjaError.value("Circular reference detected") }
        // Bounded like any value a template builds (a huge indent repeats on every line).
        guard out.utf8.count <= JinjaError.maxPadding else { throw JinjaError.limit("tojson output exceeds \(JinjaError.maxPadding) bytes") }
        func newline(_ l: Int) throws {
            guard let u = unit else { return }
            let (n, o) = u.utf8.count.multipliedReportingOverflow(by: l)
            try JinjaError.checkPadding(o ? Int.max : out.utf8.count + n, "tojson output")
            out += "\n" + String(repeating: u, count: l)
        }
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d): out += floatText(d)
        case .string(let s), .markup(let s): out += quote(s, ensureAscii: ensureAscii)
        case .list(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSep }
                try newline(level + 1)
                try encode(item, into: &out, level: level + 1, unit: unit, itemSep: itemSep, keySep: keySep,
                           sortKeys: sortKeys, ensureAscii: ensureAscii)
            }
            try newline(level)
            out += "]"
        case .dict(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs = try d.pairs.map { (try keyText($0.0), $0.1) }
            if sortKeys {
                pairs = try Filters.stableSort(pairs, reverse: false) { .string($0.0) }
            }
            out += "{"
            for (i, (k, item)) in pairs.enumerated() {
                if i > 0 { out += itemSep }
                try newline(level + 1)
                out += quote(k, ensureAscii: ensureAscii) + keySep
                try encode(item, into: &out, level: level + 1, unit: unit, itemSep: itemSep, keySep: keySep,
                           sortKeys: sortKeys, ensureAscii: ensureAscii)
            }
            try newline(level)
            out += "}"
        default:
            throw JinjaError.type("Object of type \(v.typeName) is not JSON serializable")
        }
    }
}

extension JinjaValue {
    /// The value as Python's json.dumps(value, ensure_ascii=False) writes it (what `tojson` gives).
    public func jsonText() throws -> String {
        do {
            return try JSONDump.dumps(self, ensureAscii: false, indent: .none, separators: .none, sortKeys: false)
        } catch let e as JinjaError {
            throw e.loomError
        }
    }
}
