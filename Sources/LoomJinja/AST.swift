/// The parsed template: jinja2's node types, as far as chat templates use them.

enum Literal: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)

    var value: JinjaValue {
        switch self {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        }
    }
}

enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floordiv = "//", mod = "%", pow = "**"
}

enum CompareOp: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", `in` = "in", notIn = "not in"
}

struct CallArgs: Sendable {
    var args: [Expr] = []
    var kwargs: [(String, Expr)] = []
    var dynArgs: Expr? = nil
    var dynKwargs: Expr? = nil
}

indirect enum Expr: Sendable {
    case literal(Literal)
    case name(String)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case getattr(Expr, String)
    case getitem(Expr, Expr)
    case slice(Expr?, Expr?, Expr?)
    case neg(Expr)
    case pos(Expr)
    case not(Expr)
    case binary(BinaryOp, Expr, Expr)
    case concat([Expr])
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(CompareOp, Expr)])
    /// `a if test else b`; without `else` a false test gives an undefined value.
    case conditional(test: Expr, then: Expr, otherwise: Expr?, line: Int)
    case call(Expr, CallArgs, line: Int)
    /// A filter; a nil operand stands for the body of a `{% filter %}` or `{% set %}` block.
    case filter(Expr?, String, CallArgs, line: Int)
    case test(Expr, String, CallArgs, line: Int)
}

/// Where `set`, `for` and `with` store values.
indirect enum Target: Sendable {
    case name(String)
    case tuple([Target])
    /// `{% set ns.attr = ... %}`
    case namespaceAttr(String, String)
}

struct MacroDef: Sendable {
    var name: String
    var params: [String]
    var defaults: [Expr]     // for the last defaults.count params
    var body: [Stmt]
    var usesCaller: Bool
    var usesVarargs: Bool
    var usesKwargs: Bool
}

indirect enum Stmt: Sendable {
    case text(String)
    case output(Expr, line: Int)
    case ifChain([(Expr, [Stmt])], otherwise: [Stmt], line: Int)
    case forLoop(target: Target, iter: Expr, filter: Expr?, body: [Stmt], otherwise: [Stmt], recursive: Bool, line: Int)
    case assign(Target, Expr, line: Int)
    case assignBlock(Target, filter: Expr?, body: [Stmt], line: Int)
    case macro(MacroDef, line: Int)
    /// `{% call(params) expr %}body{% endcall %}`: body becomes the `caller` macro.
    case callBlock(MacroDef, call: Expr, line: Int)
    case filterBlock(Expr, body: [Stmt], line: Int)
    case with([(Target, Expr)], body: [Stmt], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
    /// transformers' `{% generation %}`: renders its body.
    case generation([Stmt])
}
