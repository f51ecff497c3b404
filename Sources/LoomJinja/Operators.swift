#if canImport(Glibc)
import Glibc
#endif

/// Python's operators on template values: arithmetic, comparison, equality, membership.
enum Operators {
    enum Num {
        case int(Int)
        case float(Double)

        var double: Double {
            switch self {
            case .int(let i): return Double(i)
            case .float(let d): return d
            }
        }
    }

    static func num(_ v: JinjaValue) -> Num? {
        switch v {
        case .int(let i): return .int(i)
        case .bool(let b): return .int(b ? 1 : 0)
        case .float(let d): return .float(d)
        default: return nil
        }
    }

    static func value(_ n: Num) -> JinjaValue {
        switch n {
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        }
    }

    static func overflow() -> JinjaError { JinjaError("OverflowError", "integer result too large for Loom's 64-bit integers") }

    static func unsupported(_ op: String, _ a: JinjaValue, _ b: JinjaValue) -> JinjaError {
        .type("unsupported operand type(s) for \(op == "**" ? "** or pow()" : op): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func negate(_ v: JinjaValue) throws -> JinjaValue {
        if case .undefined(let u) = v { throw JinjaError.undefined(u) }
        switch num(v) {
        case .int(let i)?:
            guard i != Int.min else { throw overflow() }
            return .int(-i)
        case .float(let d)?: return .float(-d)
        case nil: throw JinjaError.type("bad operand type for unary -: '\(v.typeName)'")
        }
    }

    static func plus(_ v: JinjaValue) throws -> JinjaValue {
        if case .undefined(let u) = v { throw JinjaError.undefined(u) }
        guard let n = num(v) else { throw JinjaError.type("bad operand type for unary +: '\(v.typeName)'") }
        return value(n)
    }

    static func binary(_ op: BinaryOp, _ a: JinjaValue, _ b: JinjaValue, _ interp: Interpreter) throws -> JinjaValue {
        // `'%s' % x` formats even an undefined x (str.__mod__ does not defer to it).
        if op == .mod, let fmt = a.stringValue {
            var arg = b
            if case .markup = a {
                // Markup % args escapes the string arguments.
                switch b {
                case .tuple(let t): arg = .tuple(t.map(Methods.escapeArgument))
                case .dict(let d): arg = .dict(JinjaDict(escaping: d))
                default: arg = Methods.escapeArgument(b)
                }
            }
            let s = try PyFormat.percent(fmt, arg)
            try interp.checkSize(s.utf8.count)
            if case .markup = a { return .markup(s) }
            return .string(s)
        }
        if case .undefined(let u) = a { throw JinjaError.undefined(u) }
        if case .undefined(let u) = b { throw JinjaError.undefined(u) }
        if let x = num(a), let y = num(b) { return try arithmetic(op, x, y) }
        switch op {
        case .add:
            switch (a, b) {
            case (.markup(let x), .markup(let y)): return .markup(try sized(x + y, interp))
            case (.markup(let x), .string(let y)): return .markup(try sized(x + htmlEscape(y), interp))
            case (.string(let x), .markup(let y)): return .markup(try sized(htmlEscape(x) + y, interp))
            case (.string(let x), .string(let y)): return .string(try sized(x + y, interp))
            case (.list(let x), .list(let y)):
                try interp.checkSize(x.count + y.count)
                return .list(x + y)
            case (.tuple(let x), .tuple(let y)):
                try interp.checkSize(x.count + y.count)
                return .tuple(x + y)
            case (.string, _):
                throw JinjaError.type("can only concatenate str (not \"\(b.typeName)\") to str")
            case (.list, _):
                throw JinjaError.type("can only concatenate list (not \"\(b.typeName)\") to list")
            case (.tuple, _):
                throw JinjaError.type("can only concatenate tuple (not \"\(b.typeName)\") to tuple")
            default:
                throw unsupported("+", a, b)
            }
        case .mul:
            switch (a, b) {
            case (.string(let s), _) where num(b) != nil, (.markup(let s), _) where num(b) != nil,
                 (_, .string(let s)) where num(a) != nil, (_, .markup(let s)) where num(a) != nil:
                guard case .int(let n)? = num(a.isString ? b : a) else {
                    throw JinjaError.type("can't multiply sequence by non-int of type 'float'")
                }
                let count = max(0, n)
                try interp.checkSize(s.utf8.count.multipliedReportingOverflow(by: count).overflow ? Int.max : s.utf8.count * count)
                let r = String(repeating: s, count: count)
                if case .markup = a { return .markup(r) }
                if case .markup = b { return .markup(r) }
                return .string(r)
            case (.list(let x), _) where num(b) != nil, (_, .list(let x)) where num(a) != nil,
                 (.tuple(let x), _) where num(b) != nil, (_, .tuple(let x)) where num(a) != nil:
                let isTuple: Bool
                if case .tuple = a { isTuple = true } else if case .tuple = b { isTuple = true } else { isTuple = false }
                guard case .int(let n)? = num(a.isSequence ? b : a) else {
                    throw JinjaError.type("can't multiply sequence by non-int of type 'float'")
                }
                let count = max(0, n)
                try interp.checkSize(x.count.multipliedReportingOverflow(by: count).overflow ? Int.max : x.count * count)
                var r: [JinjaValue] = []
                for _ in 0..<count { r += x }
                return isTuple ? .tuple(r) : .list(r)
            case (.string, _), (.markup, _), (.list, _), (.tuple, _):
                throw JinjaError.type("can't multiply sequence by non-int of type '\(b.typeName)'")
            case (_, .string), (_, .markup), (_, .list), (_, .tuple):
                throw JinjaError.type("can't multiply sequence by non-int of type '\(a.typeName)'")
            default:
                throw unsupported("*", a, b)
            }
        default:
            throw unsupported(op.rawValue, a, b)
        }
    }

    private static func sized(_ s: String, _ interp: Interpreter) throws -> String {
        try interp.checkSize(s.utf8.count)
        return s
    }

    static func floorDiv(_ x: Int, _ y: Int) -> Int {
        let q = x / y
        return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q
    }

    static func pyMod(_ x: Double, _ y: Double) -> Double {
        let r = x.truncatingRemainder(dividingBy: y)
        if r != 0 && ((r < 0) != (y < 0)) { return r + y }
        return r == 0 ? (y < 0 ? -0.0 : 0.0) : r
    }

    static func arithmetic(_ op: BinaryOp, _ x: Num, _ y: Num) throws -> JinjaValue {
        switch (x, y) {
        case (.int(let a), .int(let b)):
            switch op {
            case .add:
                let (r, o) = a.addingReportingOverflow(b)
                if o { throw overflow() }
                return .int(r)
            case .sub:
                let (r, o) = a.subtractingReportingOverflow(b)
                if o { throw overflow() }
                return .int(r)
            case .mul:
                let (r, o) = a.multipliedReportingOverflow(by: b)
                if o { throw overflow() }
                return .int(r)
            case .div:
                if b == 0 { throw JinjaError("ZeroDivisionError", "division by zero") }
                return .float(Double(a) / Double(b))
            case .floordiv:
                if b == 0 { throw JinjaError("ZeroDivisionError", "integer division or modulo by zero") }
                if a == Int.min && b == -1 { throw overflow() }
                return .int(floorDiv(a, b))
            case .mod:
                if b == 0 { throw JinjaError("ZeroDivisionError", "integer modulo by zero") }
                if b == -1 { return .int(0) }
                let r = a % b
                return .int(r != 0 && ((r < 0) != (b < 0)) ? r + b : r)
            case .pow:
                if b < 0 {
                    if a == 0 { throw JinjaError("ZeroDivisionError", "0.0 cannot be raised to a negative power") }
                    return .float(pow(Double(a), Double(b)))
                }
                var result = 1
                var base = a
                var e = b
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw overflow() }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (r, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw overflow() }
                        base = r
                    }
                }
                return .int(result)
            }
        default:
            let a = x.double, b = y.double
            switch op {
            case .add: return .float(a + b)
            case .sub: return .float(a - b)
            case .mul: return .float(a * b)
            case .div:
                if b == 0 { throw JinjaError("ZeroDivisionError", "float division by zero") }
                return .float(a / b)
            case .floordiv:
                if b == 0 { throw JinjaError("ZeroDivisionError", "float floor division by zero") }
                return .float(((a - pyMod(a, b)) / b).rounded())
            case .mod:
                if b == 0 { throw JinjaError("ZeroDivisionError", "float modulo") }
                return .float(pyMod(a, b))
            case .pow:
                if a == 0 && b < 0 { throw JinjaError("ZeroDivisionError", "0.0 cannot be raised to a negative power") }
                if a < 0 && b.rounded() != b { throw JinjaError.value("complex results are not supported") }
                return .float(pow(a, b))
            }
        }
    }

    // MARK: Comparison

    /// Python's ==.
    static func equals(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        if let x = num(a), let y = num(b) {
            switch (x, y) {
            case (.int(let i), .int(let j)): return i == j
            default: return x.double == y.double
            }
        }
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)), (.string(let x), .markup(let y)),
             (.markup(let x), .string(let y)), (.markup(let x), .markup(let y)):
            return x.utf8.elementsEqual(y.utf8)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equals($0, $1) }
        case (.dict(let x), .dict(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x.pairs {
                guard let w = y.get(k), equals(v, w) else { return false }
            }
            return true
        case (.object(let x), .object(let y)): return x === y
        case (.function(let x), .function(let y)): return x === y
        case (.iterator(let x), .iterator(let y)): return x === y
        default: return false
        }
    }

    /// Python's ordering (<): numbers, strings by code point, sequences lexicographically.
    /// `swapped`: a and b are the operands of `b > a` / `b >= a` (error messages name them in
    /// the template's order, and the left one's undefinedness is reported first).
    static func less(_ a: JinjaValue, _ b: JinjaValue, _ op: String = "<", swapped: Bool = false) throws -> Bool {
        let (first, second) = swapped ? (b, a) : (a, b)
        if case .undefined(let u) = first { throw JinjaError.undefined(u) }
        if case .undefined(let u) = second { throw JinjaError.undefined(u) }
        if let x = num(a), let y = num(b) {
            switch (x, y) {
            case (.int(let i), .int(let j)): return i < j
            default: return x.double < y.double
            }
        }
        switch (a, b) {
        case (.string(let x), .string(let y)), (.string(let x), .markup(let y)),
             (.markup(let x), .string(let y)), (.markup(let x), .markup(let y)):
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value }
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !equals(p, q) { return try less(p, q, op, swapped: swapped) }
            return x.count < y.count
        default:
            throw JinjaError.type("'\(op)' not supported between instances of '\(first.typeName)' and '\(second.typeName)'")
        }
    }

    static func compare(_ op: CompareOp, _ a: JinjaValue, _ b: JinjaValue) throws -> Bool {
        switch op {
        case .eq: return equals(a, b)
        case .ne: return !equals(a, b)
        case .lt: return try less(a, b, "<")
        case .gt: return try less(b, a, ">", swapped: true)
        case .le: return try less(a, b, "<=") || equals(a, b)
        case .ge: return try less(b, a, ">=", swapped: true) || equals(a, b)
        case .in: return try contains(b, a)
        case .notIn: return try !contains(b, a)
        }
    }

    /// Python's `item in container`.
    static func contains(_ container: JinjaValue, _ item: JinjaValue) throws -> Bool {
        switch container {
        case .string(let s), .markup(let s):
            guard let needle = item.stringValue else {
                throw JinjaError.type("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return StringOps.find(Array(s.utf8), Array(needle.utf8), from: 0) != nil
        case .list(let a), .tuple(let a):
            return a.contains { equals($0, item) }
        case .dict(let d):
            _ = try DictKey(item)
            return d.contains(item)
        case .undefined:
            return false
        case .iterator(let it):
            while let v = it.next() { if equals(v, item) { return true } }
            return false
        default:
            throw JinjaError.type("argument of type '\(container.typeName)' is not iterable")
        }
    }
}

extension JinjaValue {
    var isSequence: Bool {
        switch self {
        case .list, .tuple: return true
        default: return false
        }
    }
}

/// markupsafe.escape of a plain string.
func htmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
        switch u {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "'": out += "&#39;"
        case "\"": out += "&#34;"
        default: out.unicodeScalars.append(u)
        }
    }
    return out
}
