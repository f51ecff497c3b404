import LoomCore

/// Why a value is undefined; jinja2 raises this text when an undefined value is used where a real
/// one is needed (attribute access, arithmetic, calls, iteration of its attributes...).
public struct JinjaUndefined: Sendable, Equatable {
    public let hint: String
    /// Set for attributes the immutable sandbox refuses (e.g. `list.append`): using one raises a
    /// SecurityError instead of an UndefinedError.
    let unsafe: Bool

    public init(_ hint: String = "value is undefined") {
        self.hint = hint
        self.unsafe = false
    }

    init(hint: String, unsafe: Bool) {
        self.hint = hint
        self.unsafe = unsafe
    }
}

/// A value as the template sees it: Python's types as jinja2 passes them around.
///
/// `string` and `markup` are both Python `str`s; `markup` is a markupsafe `Markup` (made by the
/// `safe` and `escape` filters), which escapes plain strings concatenated to it with `+`, as in jinja2.
/// `list` and `tuple` differ in repr and in `+`. Dictionaries keep insertion order. `iterator` is a
/// one-shot Python iterator (what `select`, `map`, `reverse`... return): always true, no length.
public enum JinjaValue {
    case undefined(JinjaUndefined)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case markup(String)
    case list([JinjaValue])
    case tuple([JinjaValue])
    case dict(JinjaDict)
    case object(JinjaObject)
    case function(JinjaFunction)
    case iterator(JinjaIterator)

    /// The plain undefined value (a name that is not set).
    public static let undefinedValue = JinjaValue.undefined(JinjaUndefined())

    static func undefined(_ hint: String) -> JinjaValue { .undefined(JinjaUndefined(hint)) }
}

extension JinjaValue: @unchecked Sendable {}

// MARK: - Initialisers

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .list(elements) }
    public init(nilLiteral: ()) { self = .none }
    /// Keys keep the literal's order.
    public init(dictionaryLiteral elements: (String, JinjaValue)...) {
        self = .dict(JinjaDict(pairs: elements))
    }

    public init(_ value: String) { self = .string(value) }
    public init(_ value: Int) { self = .int(value) }
    public init(_ value: Double) { self = .float(value) }
    public init(_ value: Bool) { self = .bool(value) }
    public init(_ value: [JinjaValue]) { self = .list(value) }
    public init(_ value: [String]) { self = .list(value.map { .string($0) }) }
    /// A Swift dictionary has no order: its keys are sorted so renders are deterministic.
    /// Use `init(pairs:)` or a dictionary literal to keep an order.
    public init(_ value: [String: JinjaValue]) {
        self = .dict(JinjaDict(pairs: value.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }))
    }
    public init(pairs: [(String, JinjaValue)]) { self = .dict(JinjaDict(pairs: pairs)) }

    /// JSON as Python's json.loads gives it: objects keep their key order; a number with an integral
    /// value (JSONValue does not keep `1` and `1.0` apart) becomes an int, other numbers floats.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number(let d):
            if d.rounded() == d, abs(d) < 9.0e15 { self = .int(Int(d)) } else { self = .float(d) }
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map { JinjaValue(json: $0) })
        case .object(let o):
            self = .dict(JinjaDict(pairs: o.keys.map { ($0, JinjaValue(json: o[$0] ?? .null)) }))
        }
    }
}

// MARK: - Dictionaries

/// The hashable form of a dictionary key, with Python's equalities (1 == 1.0 == True; strings by
/// code points, not by canonical equivalence as Swift's String compares).
enum DictKey: Hashable {
    case str([UInt8])
    case int(Int)
    case float(Double)
    case none
    case undefined
    case tuple([DictKey])
    case identity(ObjectIdentifier)

    init(_ v: JinjaValue) throws {
        switch v {
        case .string(let s), .markup(let s): self = .str(Array(s.utf8))
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .float(let d):
            if d.rounded() == d, abs(d) < 9.2e18 { self = .int(Int(d)) } else { self = .float(d) }
        case .none: self = .none
        case .undefined: self = .undefined
        case .tuple(let items): self = .tuple(try items.map { try DictKey($0) })
        case .object(let o): self = .identity(ObjectIdentifier(o))
        case .function(let f): self = .identity(ObjectIdentifier(f))
        case .iterator(let it): self = .identity(ObjectIdentifier(it))
        case .list, .dict:
            throw JinjaError.type("unhashable type: '\(v.typeName)'")
        }
    }
}

/// An insertion-ordered dictionary (Python 3.7+ dict).
public struct JinjaDict {
    public private(set) var keys: [JinjaValue] = []
    public private(set) var values: [JinjaValue] = []
    private var index: [DictKey: Int] = [:]

    public init() {}

    public init(pairs: [(String, JinjaValue)]) {
        for (k, v) in pairs { set(k, v) }
    }

    /// The same keys with string values HTML-escaped (Markup's `%` formatting with a mapping).
    init(escaping d: JinjaDict) {
        keys = d.keys
        values = d.values.map(Methods.escapeArgument)
        index = d.index
    }

    public var count: Int { keys.count }

    public subscript(key: String) -> JinjaValue? {
        guard let i = index[.str(Array(key.utf8))] else { return nil }
        return values[i]
    }

    func get(_ key: JinjaValue) -> JinjaValue? {
        guard let k = try? DictKey(key), let i = index[k] else { return nil }
        return values[i]
    }

    func contains(_ key: JinjaValue) -> Bool { get(key) != nil }

    public mutating func set(_ key: String, _ value: JinjaValue) {
        try! set(key: .string(key), value)
    }

    mutating func set(key: JinjaValue, _ value: JinjaValue) throws {
        let k = try DictKey(key)
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    var pairs: [(JinjaValue, JinjaValue)] { Array(zip(keys, values)) }
}

// MARK: - Reference types

/// An object with attributes: jinja2's namespace(), the loop variable, cycler(), joiner().
public class JinjaObject {
    var typeName: String { "object" }
    func attribute(_ name: String) -> JinjaValue? { nil }
    func repr() -> String { "<\(typeName) object>" }
}

/// `namespace(...)`: the one mutable object a template can assign to (`{% set ns.x = 1 %}`).
final class JinjaNamespace: JinjaObject {
    var attrs = JinjaDict()
    override var typeName: String { "Namespace" }
    override func attribute(_ name: String) -> JinjaValue? { attrs[name] }
    override func repr() -> String { "<Namespace \(JinjaValue.dict(attrs).repr)>" }
}

/// A callable: a global function, a macro, a bound method of a value.
public final class JinjaFunction {
    let name: String
    let isMacro: Bool
    let call: (Interpreter, Arguments) throws -> JinjaValue

    init(_ name: String, isMacro: Bool = false, _ call: @escaping (Interpreter, Arguments) throws -> JinjaValue) {
        self.name = name
        self.isMacro = isMacro
        self.call = call
    }
}

/// A one-shot iterator: iterating it consumes it, as a Python generator.
public final class JinjaIterator {
    var items: [JinjaValue]
    var position = 0
    let kind: String

    init(_ items: [JinjaValue], kind: String = "generator") {
        self.items = items
        self.kind = kind
    }

    /// What is left; the iterator is exhausted afterwards.
    func drain() -> [JinjaValue] {
        let rest = Array(items[position...])
        position = items.count
        return rest
    }

    func next() -> JinjaValue? {
        guard position < items.count else { return nil }
        position += 1
        return items[position - 1]
    }
}

// MARK: - Inspection

extension JinjaValue {
    var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var isNone: Bool { if case .none = self { return true }; return false }
    var isString: Bool {
        switch self {
        case .string, .markup: return true
        default: return false
        }
    }

    /// The string payload of a str (plain or Markup).
    var stringValue: String? {
        switch self {
        case .string(let s), .markup(let s): return s
        default: return nil
        }
    }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .object(let o): return o.typeName
        case .function: return "function"
        case .iterator(let it): return it.kind
        }
    }

    /// jinja2's object_type_repr, used in "'dict object' has no attribute 'x'".
    var objectTypeRepr: String {
        switch self {
        case .none: return "None"
        case .markup: return "markupsafe.Markup object"
        case .object(let o) where o is JinjaNamespace: return "jinja2.utils.Namespace object"
        case .object(let o) where o is LoopObject: return "jinja2.runtime.LoopContext object"
        default: return "\(typeName) object"
        }
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .object, .function, .iterator: return true
        }
    }
}

// MARK: - str() and repr()

extension JinjaValue {
    /// Python's str(): what `{{ value }}` prints (an undefined value prints nothing).
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return repr
        }
    }

    /// Python's repr().
    var repr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return pythonFloatRepr(d)
        case .string(let s): return pythonStringRepr(s)
        case .markup(let s): return "Markup(\(pythonStringRepr(s)))"
        case .list(let a): return "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let a):
            if a.count == 1 { return "(" + a[0].repr + ",)" }
            return "(" + a.map(\.repr).joined(separator: ", ") + ")"
        case .dict(let d):
            return "{" + d.pairs.map { $0.0.repr + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case .object(let o): return o.repr()
        case .function(let f): return f.isMacro ? "<Macro \(pythonStringRepr(f.name))>" : "<function \(f.name)>"
        case .iterator(let it): return "<\(it.kind) object>"
        }
    }
}

/// Python's repr of a float: shortest round-trip digits, exponent form outside [1e-4, 1e16).
func pythonFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description has the same shortest digits; only the layout differs.
    var text = d.description
    var negative = false
    if text.hasPrefix("-") { negative = true; text.removeFirst() }
    var mantissa = text
    var exp = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(text[..<e])
        exp = Int(text[text.index(after: e)...])!
    }
    var digits = ""
    var pointPos = mantissa.count
    if let dot = mantissa.firstIndex(of: ".") {
        pointPos = mantissa.distance(from: mantissa.startIndex, to: dot)
        digits = String(mantissa[..<dot]) + String(mantissa[mantissa.index(after: dot)...])
    } else {
        digits = mantissa
    }
    // Normalise to digits d1 d2 ... with value 0.d1d2... * 10^decExp.
    var decExp = pointPos + exp
    while digits.hasPrefix("0") { digits.removeFirst(); decExp -= 1 }
    while digits.hasSuffix("0") { digits.removeLast() }
    if digits.isEmpty { return negative ? "-0.0" : "0.0" }
    let sciExp = decExp - 1
    var out = ""
    if sciExp >= -4 && sciExp < 16 {
        if decExp <= 0 {
            out = "0." + String(repeating: "0", count: -decExp) + digits
        } else if decExp >= digits.count {
            out = digits + String(repeating: "0", count: decExp - digits.count) + ".0"
        } else {
            let i = digits.index(digits.startIndex, offsetBy: decExp)
            out = String(digits[..<i]) + "." + String(digits[i...])
        }
    } else {
        let first = String(digits.first!)
        let rest = String(digits.dropFirst())
        out = first + (rest.isEmpty ? "" : "." + rest)
        let e = abs(sciExp)
        out += "e" + (sciExp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }
    return negative ? "-" + out : out
}

/// Python's repr of a str.
func pythonStringRepr(_ s: String) -> String {
    let hasSingle = s.utf8.contains(0x27)
    let hasDouble = s.utf8.contains(0x22)
    let quote: Character = hasSingle && !hasDouble ? "\"" : "'"
    var out = String(quote)
    for u in s.unicodeScalars {
        switch u {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(u) == quote {
                out += "\\" + String(quote)
            } else if isPrintable(u) {
                out.unicodeScalars.append(u)
            } else if u.value < 0x100 {
                out += "\\x" + hex(u.value, 2)
            } else if u.value < 0x10000 {
                out += "\\u" + hex(u.value, 4)
            } else {
                out += "\\U" + hex(u.value, 8)
            }
        }
    }
    out.append(quote)
    return out
}

func hex(_ v: UInt32, _ width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

/// Python's str.isprintable for one character.
func isPrintable(_ u: Unicode.Scalar) -> Bool {
    if u == " " { return true }
    switch u.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned,
         .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}

/// Python's str.isspace for one character (also what `\s` matches in jinja2's regexes).
func isPySpace(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}
