/// A JSON value. Loom parses its own JSON (config.json, tokenizer.json, safetensors headers)
/// so that hostile input is bounded in depth and never traps.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var double: Double? { if case .number(let d) = self { return d }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var object: JSONObject? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// The value as an exact integer, or nil when it is not a number with an integral value in Int range.
    public var int: Int? {
        guard case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
}

/// A JSON object that keeps its keys' order (later duplicates win, as in most parsers). Keys compare
/// by their exact UTF-8 bytes: Swift's String equality treats canonically equivalent spellings (U+00C5
/// and U+212B) as one key, which would merge distinct vocabulary entries.
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [ExactKey: JSONValue] = [:]

    public init() {}

    public subscript(key: String) -> JSONValue? { values[ExactKey(key)] }

    public mutating func set(_ key: String, _ value: JSONValue) {
        if values.updateValue(value, forKey: ExactKey(key)) == nil { keys.append(key) }
    }

    public var count: Int { keys.count }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.keys.map(ExactKey.init) == b.keys.map(ExactKey.init) && a.values == b.values
    }
}

/// A string key hashed and compared by its UTF-8 bytes.
struct ExactKey: Hashable, Sendable {
    let bytes: [UInt8]
    init(_ s: String) { bytes = Array(s.utf8) }
}

/// Strict RFC 8259 parser over UTF-8 bytes.
public struct JSONParser {
    public static let defaultMaxDepth = 256

    private let bytes: UnsafeRawBufferPointer
    private var pos = 0
    private let maxDepth: Int

    public static func parse(_ data: [UInt8], maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        try data.withUnsafeBytes { try parse($0, maxDepth: maxDepth) }
    }

    public static func parse(_ data: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        var p = JSONParser(bytes: data, maxDepth: maxDepth)
        p.skipWhitespace()
        let v = try p.parseValue(depth: 0)
        p.skipWhitespace()
        guard p.pos == data.count else { throw p.error("trailing characters after the JSON value") }
        return v
    }

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func error(_ what: String) -> LoomError {
        LoomError.format("invalid JSON at byte \(pos): \(what)")
    }

    private var atEnd: Bool { pos >= bytes.count }
    private var peek: UInt8 { pos < bytes.count ? bytes[pos] : 0 }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    private mutating func expect(_ literal: StaticString) throws {
        let n = literal.utf8CodeUnitCount
        guard bytes.count - pos >= n else { throw error("unexpected end") }
        let lit = UnsafeRawBufferPointer(start: literal.utf8Start, count: n)
        for i in 0..<n where bytes[pos + i] != lit[i] { throw error("invalid literal") }
        pos += n
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
        guard !atEnd else { throw error("unexpected end") }
        switch peek {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try parseNumber())
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        pos += 1
        var obj = JSONObject()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { pos += 1; return .object(obj) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':'") }
            pos += 1
            skipWhitespace()
            obj.set(key, try parseValue(depth: depth + 1))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { pos += 1; continue }
            if peek == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            throw error("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        pos += 1
        var arr: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { pos += 1; return .array(arr) }
        while true {
            skipWhitespace()
            arr.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { pos += 1; continue }
            if peek == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            throw error("expected ',' or ']'")
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard bytes.count - pos >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    private mutating func parseString() throws -> String {
        pos += 1
        // Fast path: no escapes.
        let start = pos
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { break }
            pos += 1
        }
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
        while true {
            guard pos < bytes.count else { throw error("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; break }
            guard c >= 0x20 else { throw error("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { throw error("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var cp = try parseHex4()
                if (0xD800..<0xDC00).contains(cp) {
                    // A high surrogate must pair with a low one; a lone one becomes U+FFFD.
                    if bytes.count - pos >= 6, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                        let save = pos
                        pos += 2
                        let lo = try parseHex4()
                        if (0xDC00..<0xE000).contains(lo) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            pos = save
                            cp = 0xFFFD
                        }
                    } else {
                        cp = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(cp) {
                    cp = 0xFFFD
                }
                appendUTF8(&out, cp)
            default:
                throw error("invalid escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func parseNumber() throws -> Double {
        let start = pos
        if peek == UInt8(ascii: "-") { pos += 1 }
        guard !atEnd, (0x30...0x39).contains(peek) else { throw error("invalid value") }
        if peek == UInt8(ascii: "0") { pos += 1 } else {
            while !atEnd, (0x30...0x39).contains(peek) { pos += 1 }
        }
        if peek == UInt8(ascii: ".") {
            pos += 1
            guard !atEnd, (0x30...0x39).contains(peek) else { throw error("invalid number") }
            while !atEnd, (0x30...0x39).contains(peek) { pos += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            guard !atEnd, (0x30...0x39).contains(peek) else { throw error("invalid number") }
            while !atEnd, (0x30...0x39).contains(peek) { pos += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw error("invalid number") }
        return d
    }
}

/// Appends the UTF-8 encoding of a code point (invalid ones become U+FFFD).
@inlinable
public func appendUTF8(_ out: inout [UInt8], _ cp: UInt32) {
    var c = cp
    if c > 0x10FFFF || (0xD800..<0xE000).contains(c) { c = 0xFFFD }
    if c < 0x80 {
        out.append(UInt8(c))
    } else if c < 0x800 {
        out.append(UInt8(0xC0 | (c >> 6)))
        out.append(UInt8(0x80 | (c & 0x3F)))
    } else if c < 0x10000 {
        out.append(UInt8(0xE0 | (c >> 12)))
        out.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (c & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (c >> 18)))
        out.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (c & 0x3F)))
    }
}

/// `s` as a JSON string literal: RFC 8259 escapes for quote, backslash and control characters,
/// everything else as UTF-8.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
