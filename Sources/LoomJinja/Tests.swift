/// jinja2's builtin tests (tests.py): `x is defined`, `x is string`, `n is divisibleby 3`...
enum Tests {
    typealias Test = @Sendable (Interpreter, JinjaValue, Arguments) throws -> Bool

    static let names: Set<String> = Set(table.keys)

    private static func one(_ a: Arguments, _ name: String) throws -> JinjaValue {
        guard let v = try a.bind(["other"], name)[0] else {
            throw JinjaError.type("\(name)() missing 1 required positional argument")
        }
        return v
    }

    private static func none(_ a: Arguments, _ name: String) throws { _ = try a.bind([], name) }

    static let table: [String: Test] = [
        "defined": { _, v, a in try none(a, "defined"); return !v.isUndefined },
        "undefined": { _, v, a in try none(a, "undefined"); return v.isUndefined },
        "none": { _, v, a in try none(a, "none"); return v.isNone },
        "boolean": { _, v, a in
            try none(a, "boolean")
            if case .bool = v { return true }
            return false
        },
        "false": { _, v, a in
            try none(a, "false")
            if case .bool(false) = v { return true }
            return false
        },
        "true": { _, v, a in
            try none(a, "true")
            if case .bool(true) = v { return true }
            return false
        },
        "integer": { _, v, a in
            try none(a, "integer")
            if case .int = v { return true }
            return false
        },
        "float": { _, v, a in
            try none(a, "float")
            if case .float = v { return true }
            return false
        },
        "number": { _, v, a in try none(a, "number"); return Operators.num(v) != nil },
        "string": { _, v, a in try none(a, "string"); return v.isString },
        "mapping": { _, v, a in
            try none(a, "mapping")
            if case .dict = v { return true }
            return false
        },
        "sequence": { _, v, a in
            try none(a, "sequence")
            switch v {
            case .undefined, .string, .markup, .list, .tuple, .dict: return true
            default: return false
            }
        },
        "iterable": { _, v, a in
            try none(a, "iterable")
            switch v {
            case .undefined, .string, .markup, .list, .tuple, .dict, .iterator: return true
            default: return false
            }
        },
        "callable": { _, v, a in
            try none(a, "callable")
            switch v {
            case .function: return true
            case .object(let o): return o is LoopObject || o is JoinerObject
            default: return false
            }
        },
        "escaped": { _, v, a in
            try none(a, "escaped")
            if case .markup = v { return true }
            return false
        },
        "lower": { _, v, a in
            try none(a, "lower")
            let s = v.str.unicodeScalars
            return s.contains { StringOps.isCased($0) } && !s.contains { $0.properties.isUppercase }
        },
        "upper": { _, v, a in
            try none(a, "upper")
            let s = v.str.unicodeScalars
            return s.contains { StringOps.isCased($0) } && !s.contains { $0.properties.isLowercase }
        },
        "odd": { interp, v, a in
            try none(a, "odd")
            return Operators.equals(try Operators.binary(.mod, v, .int(2), interp), .int(1))
        },
        "even": { interp, v, a in
            try none(a, "even")
            return Operators.equals(try Operators.binary(.mod, v, .int(2), interp), .int(0))
        },
        "divisibleby": { interp, v, a in
            let n = try one(a, "divisibleby")
            return Operators.equals(try Operators.binary(.mod, v, n, interp), .int(0))
        },
        "sameas": { _, v, a in
            let o = try one(a, "sameas")
            switch (v, o) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.object(let x), .object(let y)): return x === y
            case (.function(let x), .function(let y)): return x === y
            case (.int(let x), .int(let y)): return x == y && x >= -5 && x <= 256
            default: return false
            }
        },
        "in": { _, v, a in try Operators.contains(try one(a, "in"), v) },
        "filter": { _, v, a in
            try none(a, "filter")
            guard let s = v.stringValue else { return false }
            return Filters.table[s] != nil
        },
        "test": { _, v, a in
            try none(a, "test")
            guard let s = v.stringValue else { return false }
            return Tests.names.contains(s)
        },
        "eq": eq, "equalto": eq, "==": eq,
        "ne": { _, v, a in !Operators.equals(v, try one(a, "ne")) },
        "!=": { _, v, a in !Operators.equals(v, try one(a, "ne")) },
        "lt": { _, v, a in try Operators.compare(.lt, v, try one(a, "lt")) },
        "lessthan": { _, v, a in try Operators.compare(.lt, v, try one(a, "lt")) },
        "<": { _, v, a in try Operators.compare(.lt, v, try one(a, "lt")) },
        "le": { _, v, a in try Operators.compare(.le, v, try one(a, "le")) },
        "<=": { _, v, a in try Operators.compare(.le, v, try one(a, "le")) },
        "gt": { _, v, a in try Operators.compare(.gt, v, try one(a, "gt")) },
        "greaterthan": { _, v, a in try Operators.compare(.gt, v, try one(a, "gt")) },
        ">": { _, v, a in try Operators.compare(.gt, v, try one(a, "gt")) },
        "ge": { _, v, a in try Operators.compare(.ge, v, try one(a, "ge")) },
        ">=": { _, v, a in try Operators.compare(.ge, v, try one(a, "ge")) },
    ]

    static let eq: Test = { _, v, a in Operators.equals(v, try one(a, "eq")) }
}
