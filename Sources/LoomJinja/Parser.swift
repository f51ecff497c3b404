/// jinja2's recursive-descent parser (parser.py), with the same precedence and quirks:
/// filters and tests bind tighter than arithmetic, `**` is left-associative, `if` tests are
/// parsed without conditional expressions, an unknown filter or test is a compile-time error
/// except inside an `if` or a conditional expression (there jinja2 defers it to run time).
struct Parser {
    private var tokens: [Token]
    private var i = 0
    private var depth = 0
    private let maxDepth: Int
    /// How many for loops enclose the current position (reset inside a macro).
    private var loopDepth = 0
    /// Names read in each macro being parsed (to know if it uses caller / varargs / kwargs).
    private var nameUses: [Set<String>] = []

    static func parse(_ source: String, maxDepth: Int = 200) throws -> [Stmt] {
        var p = Parser(tokens: try Lexer.tokenize(source), maxDepth: maxDepth)
        let body = try p.subparse(endTokens: [])
        guard p.current.kind == .eof else { throw p.fail("unexpected '\(p.current.describe)'") }
        try checkNames(body, soft: false)
        return body
    }

    private init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    // MARK: Token stream

    private var current: Token { tokens[i] }
    private var look: Token { tokens[min(i + 1, tokens.count - 1)] }
    private mutating func advance() -> Token {
        let t = tokens[i]
        if i < tokens.count - 1 { i += 1 }
        return t
    }

    private func fail(_ m: String, line: Int? = nil) -> JinjaError { .syntax(m, line: line ?? current.line) }

    @discardableResult
    private mutating func expectOp(_ op: String) throws -> Token {
        guard current.isOp(op) else {
            throw fail("expected token '\(op)', got '\(current.describe)'")
        }
        return advance()
    }

    private mutating func expectKind(_ k: TokenKind, _ what: String) throws -> Token {
        guard current.kind == k else { throw fail("expected token '\(what)', got '\(current.describe)'") }
        return advance()
    }

    private mutating func expectName(_ n: String? = nil) throws -> Token {
        guard current.kind == .name, n == nil || current.text == n! else {
            throw fail("expected token '\(n ?? "name")', got '\(current.describe)'")
        }
        return advance()
    }

    private mutating func skipName(_ n: String) -> Bool {
        if current.isName(n) { _ = advance(); return true }
        return false
    }

    private mutating func skipOp(_ o: String) -> Bool {
        if current.isOp(o) { _ = advance(); return true }
        return false
    }

    /// Each link of a left-associative chain (`a + b + c`, `x.y.z`, `v|f|g`) nests the tree one
    /// level deeper, and so counts against the depth limit until the chain's parse returns.
    private mutating func link(_ links: inout Int) throws {
        try enter()
        links += 1
    }

    private mutating func enter() throws {
        depth += 1
        if depth > maxDepth { throw JinjaError.limit("template nesting deeper than \(maxDepth) levels") }
    }

    // MARK: Statements

    /// Parses template data and tags until a `{% name %}` with a name in endTokens (left current).
    private mutating func subparse(endTokens: [String]) throws -> [Stmt] {
        var body: [Stmt] = []
        while true {
            switch current.kind {
            case .data:
                body.append(.text(advance().text))
            case .variableBegin:
                let line = advance().line
                let e = try parseTuple()
                body.append(.output(e, line: line))
                _ = try expectKind(.variableEnd, "end of print statement")
            case .blockBegin:
                _ = advance()
                if current.kind == .name, endTokens.contains(current.text) { return body }
                body.append(contentsOf: try parseStatement())
                _ = try expectKind(.blockEnd, "end of statement block")
            case .eof:
                return body
            default:
                throw fail("unexpected '\(current.describe)'")
            }
        }
    }

    /// After a tag's header: its `%}`, then the body up to one of endTokens (which is left current,
    /// or consumed when dropNeedle).
    private mutating func parseStatements(_ endTokens: [String], dropNeedle: Bool = false) throws -> [Stmt] {
        _ = skipOp(":")
        _ = try expectKind(.blockEnd, "end of statement block")
        try enter()
        defer { depth -= 1 }
        let body = try subparse(endTokens: endTokens)
        if current.kind == .eof {
            throw fail("Unexpected end of template. Jinja was looking for the following tags: "
                       + endTokens.map { "'\($0)'" }.joined(separator: " or ") + ".")
        }
        if dropNeedle { _ = advance() }
        return body
    }

    private mutating func parseStatement() throws -> [Stmt] {
        let tok = current
        guard tok.kind == .name else { throw fail("tag name expected") }
        let line = tok.line
        switch tok.text {
        case "for": return [try parseFor()]
        case "if": return [try parseIf()]
        case "set": return [try parseSet()]
        case "macro": return [try parseMacro()]
        case "call": return [try parseCallBlock()]
        case "filter": return [try parseFilterBlock()]
        case "with": return [try parseWith()]
        case "print":
            _ = advance()
            var outputs: [Stmt] = []
            while current.kind != .blockEnd {
                if !outputs.isEmpty { try expectOp(",") }
                outputs.append(.output(try parseExpression(), line: line))
            }
            return outputs
        case "break", "continue":
            _ = advance()
            // jinja2 compiles these to Python's break/continue: outside a loop (or in a macro
            // within one) Python refuses to compile the template.
            guard loopDepth > 0 else { throw fail("'\(tok.text)' outside loop") }
            return [tok.text == "break" ? .breakLoop(line: line) : .continueLoop(line: line)]
        case "generation":
            _ = advance()
            return [.generation(try parseStatements(["endgeneration"], dropNeedle: true))]
        case "block", "extends", "include", "from", "import", "autoescape":
            throw fail("the '\(tok.text)' tag is not supported by Loom's chat template engine")
        default:
            throw fail("Encountered unknown tag '\(tok.text)'.")
        }
    }

    private mutating func parseFor() throws -> Stmt {
        let line = try expectName("for").line
        let target = try parseAssignTarget(extraEnd: ["in"])
        _ = try expectName("in")
        let iter = try parseTuple(withCondexpr: false, extraEnd: ["recursive"])
        var filter: Expr? = nil
        if skipName("if") { filter = try parseExpression() }
        let recursive = skipName("recursive")
        loopDepth += 1
        let body = try parseStatements(["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Stmt] = []
        if advance().text != "endfor" {
            otherwise = try parseStatements(["endfor"], dropNeedle: true)
        }
        return .forLoop(target: target, iter: iter, filter: filter, body: body, otherwise: otherwise,
                        recursive: recursive, line: line)
    }

    private mutating func parseIf() throws -> Stmt {
        let line = try expectName("if").line
        var branches: [(Expr, [Stmt])] = []
        var otherwise: [Stmt] = []
        while true {
            let test = try parseTuple(withCondexpr: false)
            let body = try parseStatements(["elif", "else", "endif"])
            branches.append((test, body))
            let t = advance()
            if t.isName("elif") { continue }
            if t.isName("else") { otherwise = try parseStatements(["endif"], dropNeedle: true) }
            break
        }
        return .ifChain(branches, otherwise: otherwise, line: line)
    }

    private mutating func parseSet() throws -> Stmt {
        let line = try expectName("set").line
        let target = try parseAssignTarget(withNamespace: true)
        if skipOp("=") {
            return .assign(target, try parseTuple(), line: line)
        }
        let filter = try parseFilter(nil)
        let body = try parseStatements(["endset"], dropNeedle: true)
        return .assignBlock(target, filter: filter, body: body, line: line)
    }

    private mutating func parseSignature() throws -> ([String], [Expr]) {
        var params: [String] = []
        var defaults: [Expr] = []
        try expectOp("(")
        while !current.isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            let name = try expectName().text
            if skipOp("=") {
                defaults.append(try parseExpression())
            } else if !defaults.isEmpty {
                throw fail("non-default argument follows default argument")
            }
            params.append(name)
        }
        try expectOp(")")
        return (params, defaults)
    }

    private mutating func parseMacroBody(name: String, params: [String], defaults: [Expr], end: String) throws -> MacroDef {
        nameUses.append([])
        let savedLoopDepth = loopDepth
        loopDepth = 0
        let body = try parseStatements([end], dropNeedle: true)
        loopDepth = savedLoopDepth
        let used = nameUses.removeLast()
        if !nameUses.isEmpty { nameUses[nameUses.count - 1].formUnion(used) }
        return MacroDef(name: name, params: params, defaults: defaults, body: body,
                        usesCaller: used.contains("caller"), usesVarargs: used.contains("varargs"),
                        usesKwargs: used.contains("kwargs"))
    }

    private mutating func parseMacro() throws -> Stmt {
        let line = try expectName("macro").line
        let name = try expectName().text
        let (params, defaults) = try parseSignature()
        return .macro(try parseMacroBody(name: name, params: params, defaults: defaults, end: "endmacro"), line: line)
    }

    private mutating func parseCallBlock() throws -> Stmt {
        let line = try expectName("call").line
        var params: [String] = []
        var defaults: [Expr] = []
        if current.isOp("(") { (params, defaults) = try parseSignature() }
        let call = try parseExpression()
        guard case .call = call else { throw fail("expected call", line: line) }
        let def = try parseMacroBody(name: "caller", params: params, defaults: defaults, end: "endcall")
        return .callBlock(def, call: call, line: line)
    }

    private mutating func parseFilterBlock() throws -> Stmt {
        let line = try expectName("filter").line
        guard let filter = try parseFilter(nil, startInline: true) else { throw fail("expected filter") }
        let body = try parseStatements(["endfilter"], dropNeedle: true)
        return .filterBlock(filter, body: body, line: line)
    }

    private mutating func parseWith() throws -> Stmt {
        let line = try expectName("with").line
        var pairs: [(Target, Expr)] = []
        while current.kind != .blockEnd {
            if !pairs.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget()
            try expectOp("=")
            pairs.append((target, try parseExpression()))
        }
        let body = try parseStatements(["endwith"], dropNeedle: true)
        return .with(pairs, body: body, line: line)
    }

    private mutating func parseAssignTarget(extraEnd: [String] = [], withNamespace: Bool = false) throws -> Target {
        if withNamespace, current.kind == .name, look.isOp(".") {
            let ns = advance().text
            _ = advance()
            let attr = try expectName().text
            return .namespaceAttr(ns, attr)
        }
        let e = try parseTuple(simplified: true, extraEnd: extraEnd)
        return try target(from: e)
    }

    private func target(from e: Expr) throws -> Target {
        switch e {
        case .name(let n):
            return .name(n)
        case .tuple(let items):
            return .tuple(try items.map { try target(from: $0) })
        default:
            throw fail("can't assign to this expression")
        }
    }

    // MARK: Expressions

    private func isTupleEnd(_ extraEnd: [String]) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd: return true
        case .op where current.text == ")": return true
        case .name where extraEnd.contains(current.text): return true
        default: return false
        }
    }

    private mutating func parseTuple(simplified: Bool = false, withCondexpr: Bool = true,
                                     extraEnd: [String] = [], explicitParentheses: Bool = false) throws -> Expr {
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            if simplified {
                items.append(try parsePrimary())
            } else {
                items.append(try parseExpression(withCondexpr: withCondexpr))
            }
            if current.isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = items.first { return first }
            if !explicitParentheses { throw fail("Expected an expression, got '\(current.describe)'") }
        }
        return .tuple(items)
    }

    private mutating func parseExpression(withCondexpr: Bool = true) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        return withCondexpr ? try parseCondexpr() : try parseOr()
    }

    private mutating func parseCondexpr() throws -> Expr {
        var e = try parseOr()
        var links = 0
        defer { depth -= links }
        while current.isName("if") {
            try link(&links)
            let line = advance().line
            let test = try parseOr()
            let otherwise: Expr? = skipName("else") ? try parseCondexpr() : nil
            e = .conditional(test: test, then: e, otherwise: otherwise, line: line)
        }
        return e
    }

    private mutating func parseOr() throws -> Expr {
        var e = try parseAnd()
        var links = 0
        defer { depth -= links }
        while skipName("or") { try link(&links); e = .or(e, try parseAnd()) }
        return e
    }

    private mutating func parseAnd() throws -> Expr {
        var e = try parseNot()
        var links = 0
        defer { depth -= links }
        while skipName("and") { try link(&links); e = .and(e, try parseNot()) }
        return e
    }

    private mutating func parseNot() throws -> Expr {
        if current.isName("not") {
            _ = advance()
            try enter()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let e = try parseMath1()
        var ops: [(CompareOp, Expr)] = []
        var links = 0
        defer { depth -= links }
        while true {
            if ops.count >= 1 { try link(&links) }
            if current.kind == .op, let op = ["==": CompareOp.eq, "!=": .ne, "<": .lt, "<=": .le,
                                              ">": .gt, ">=": .ge][current.text] {
                _ = advance()
                ops.append((op, try parseMath1()))
            } else if skipName("in") {
                ops.append((.in, try parseMath1()))
            } else if current.isName("not"), look.isName("in") {
                _ = advance(); _ = advance()
                ops.append((.notIn, try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? e : .compare(e, ops)
    }

    private mutating func parseMath1() throws -> Expr {
        var e = try parseConcat()
        var links = 0
        defer { depth -= links }
        while current.kind == .op, current.text == "+" || current.text == "-" {
            try link(&links)
            let op: BinaryOp = advance().text == "+" ? .add : .sub
            e = .binary(op, e, try parseConcat())
        }
        return e
    }

    private mutating func parseConcat() throws -> Expr {
        var items = [try parseMath2()]
        while skipOp("~") { items.append(try parseMath2()) }
        return items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func parseMath2() throws -> Expr {
        var e = try parsePow()
        var links = 0
        defer { depth -= links }
        while current.kind == .op, let op = ["*": BinaryOp.mul, "/": .div, "//": .floordiv, "%": .mod][current.text] {
            try link(&links)
            _ = advance()
            e = .binary(op, e, try parsePow())
        }
        return e
    }

    private mutating func parsePow() throws -> Expr {
        var e = try parseUnary()
        var links = 0
        defer { depth -= links }
        while skipOp("**") { try link(&links); e = .binary(.pow, e, try parseUnary()) }
        return e
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        var e: Expr
        if skipOp("-") {
            e = .neg(try parseUnary(withFilter: false))
        } else if skipOp("+") {
            e = .pos(try parseUnary(withFilter: false))
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        if withFilter { e = try parseFilterExpr(e) }
        return e
    }

    private mutating func parsePrimary() throws -> Expr {
        let t = current
        switch t.kind {
        case .name:
            _ = advance()
            switch t.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default:
                if !nameUses.isEmpty { nameUses[nameUses.count - 1].insert(t.text) }
                return .name(t.text)
            }
        case .string:
            var s = advance().text
            while current.kind == .string { s += advance().text }
            return .literal(.string(s))
        case .integer:
            return .literal(.int(advance().int))
        case .float:
            return .literal(.float(advance().float))
        case .op where t.text == "(":
            _ = advance()
            try enter()
            defer { depth -= 1 }
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op where t.text == "[":
            _ = advance()
            var items: [Expr] = []
            while !current.isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if current.isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op where t.text == "{":
            _ = advance()
            var items: [(Expr, Expr)] = []
            while !current.isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if current.isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                items.append((k, try parseExpression()))
            }
            try expectOp("}")
            return .dict(items)
        default:
            throw fail("unexpected '\(t.describe)'")
        }
    }

    private mutating func parsePostfix(_ node: Expr) throws -> Expr {
        var e = node
        var links = 0
        defer { depth -= links }
        while true {
            if current.isOp(".") || current.isOp("[") {
                try link(&links)
                e = try parseSubscript(e)
            } else if current.isOp("(") {
                try link(&links)
                e = try parseCall(e)
            } else {
                return e
            }
        }
    }

    private mutating func parseFilterExpr(_ node: Expr) throws -> Expr {
        var e = node
        var links = 0
        defer { depth -= links }
        while true {
            if current.isOp("|") {
                e = try parseFilter(e)!
            } else if current.isName("is") {
                try link(&links)
                e = try parseTest(e)
            } else if current.isOp("(") {
                try link(&links)
                e = try parseCall(e)
            } else {
                return e
            }
        }
    }

    private mutating func parseSubscript(_ node: Expr) throws -> Expr {
        let t = advance()
        if t.isOp(".") {
            let a = advance()
            if a.kind == .name { return .getattr(node, a.text) }
            if a.kind == .integer { return .getitem(node, .literal(.int(a.int))) }
            throw fail("expected name or number", line: a.line)
        }
        var args: [Expr] = []
        while !current.isOp("]") {
            if !args.isEmpty { try expectOp(",") }
            args.append(try parseSubscribed())
        }
        try expectOp("]")
        return .getitem(node, args.count == 1 ? args[0] : .tuple(args))
    }

    private mutating func parseSubscribed() throws -> Expr {
        var parts: [Expr?] = []
        if skipOp(":") {
            parts = [nil]
        } else {
            let e = try parseExpression()
            if !current.isOp(":") { return e }
            _ = advance()
            parts = [e]
        }
        if current.isOp(":") {
            parts.append(nil)
        } else if !current.isOp("]") && !current.isOp(",") {
            parts.append(try parseExpression())
        } else {
            parts.append(nil)
        }
        if skipOp(":") {
            if !current.isOp("]") && !current.isOp(",") {
                parts.append(try parseExpression())
            } else {
                parts.append(nil)
            }
        } else {
            parts.append(nil)
        }
        return .slice(parts[0], parts[1], parts[2])
    }

    private mutating func parseCallArgs() throws -> CallArgs {
        let line = try expectOp("(").line
        var a = CallArgs()
        var requireComma = false
        func ensure(_ ok: Bool) throws {
            if !ok { throw fail("invalid syntax for function call expression", line: line) }
        }
        while !current.isOp(")") {
            if requireComma {
                try expectOp(",")
                if current.isOp(")") { break }
            }
            if skipOp("*") {
                try ensure(a.dynArgs == nil && a.dynKwargs == nil)
                a.dynArgs = try parseExpression()
            } else if skipOp("**") {
                try ensure(a.dynKwargs == nil)
                a.dynKwargs = try parseExpression()
            } else if current.kind == .name, look.isOp("=") {
                try ensure(a.dynKwargs == nil)
                let key = advance().text
                _ = advance()
                a.kwargs.append((key, try parseExpression()))
            } else {
                try ensure(a.dynArgs == nil && a.dynKwargs == nil && a.kwargs.isEmpty)
                a.args.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return a
    }

    private mutating func parseCall(_ node: Expr) throws -> Expr {
        let line = current.line
        return .call(node, try parseCallArgs(), line: line)
    }

    private mutating func dottedName() throws -> String {
        var name = try expectName().text
        while current.isOp(".") {
            _ = advance()
            name += "." + (try expectName().text)
        }
        return name
    }

    /// `| name(args) | ...`; with a nil node the chain filters a block's body.
    private mutating func parseFilter(_ node: Expr?, startInline: Bool = false) throws -> Expr? {
        var e = node
        var inline = startInline
        var links = 0
        defer { depth -= links }
        while current.isOp("|") || inline {
            try link(&links)
            if !inline { _ = advance() }
            inline = false
            let line = current.line
            let name = try dottedName()
            let args = current.isOp("(") ? try parseCallArgs() : CallArgs()
            e = .filter(e, name, args, line: line)
        }
        return e
    }

    private mutating func parseTest(_ node: Expr) throws -> Expr {
        _ = try expectName("is")
        let negated = skipName("not")
        let line = current.line
        let name = try dottedName()
        var args = CallArgs()
        if current.isOp("(") {
            args = try parseCallArgs()
        } else if [.name, .string, .integer, .float].contains(current.kind) || current.isOp("(")
                    || current.isOp("[") || current.isOp("{") {
            if !(current.isName("else") || current.isName("or") || current.isName("and")) {
                if current.isName("is") { throw fail("You cannot chain multiple tests with is") }
                var arg = try parsePrimary()
                arg = try parsePostfix(arg)
                args.args = [arg]
            }
        }
        let t = Expr.test(node, name, args, line: line)
        return negated ? .not(t) : t
    }
}

/// jinja2's compiler refuses an unknown filter or test, except in a "soft" frame (an `if`
/// statement or a conditional expression, up to the next loop, macro or block body): there the
/// error is raised only if the filter or test is actually used.
private func checkNames(_ body: [Stmt], soft: Bool) throws {
    for s in body { try checkNames(s, soft: soft) }
}

private func checkNames(_ s: Stmt, soft: Bool) throws {
    switch s {
    case .text, .breakLoop, .continueLoop: break
    case .output(let e, _): try checkNames(e, soft: soft)
    case .ifChain(let branches, let otherwise, _):
        for (t, b) in branches { try checkNames(t, soft: true); try checkNames(b, soft: true) }
        try checkNames(otherwise, soft: true)
    case .forLoop(_, let iter, let filter, let body, let otherwise, _, _):
        try checkNames(iter, soft: soft)
        if let f = filter { try checkNames(f, soft: false) }
        try checkNames(body, soft: false)
        try checkNames(otherwise, soft: false)
    case .assign(_, let e, _): try checkNames(e, soft: soft)
    case .assignBlock(_, let filter, let body, _):
        if let f = filter { try checkNames(f, soft: false) }
        try checkNames(body, soft: false)
    case .macro(let def, _):
        for d in def.defaults { try checkNames(d, soft: false) }
        try checkNames(def.body, soft: false)
    case .callBlock(let def, let call, _):
        try checkNames(call, soft: soft)
        for d in def.defaults { try checkNames(d, soft: false) }
        try checkNames(def.body, soft: false)
    case .filterBlock(let f, let body, _):
        try checkNames(f, soft: false)
        try checkNames(body, soft: false)
    case .with(let pairs, let body, _):
        for (_, e) in pairs { try checkNames(e, soft: soft) }
        try checkNames(body, soft: false)
    case .generation(let body):
        try checkNames(body, soft: false)
    }
}

private func checkNames(_ args: CallArgs, soft: Bool) throws {
    for a in args.args { try checkNames(a, soft: soft) }
    for (_, a) in args.kwargs { try checkNames(a, soft: soft) }
    if let d = args.dynArgs { try checkNames(d, soft: soft) }
    if let d = args.dynKwargs { try checkNames(d, soft: soft) }
}

private func checkNames(_ e: Expr, soft: Bool) throws {
    switch e {
    case .literal, .name: break
    case .list(let items), .tuple(let items), .concat(let items):
        for i in items { try checkNames(i, soft: soft) }
    case .dict(let pairs):
        for (k, v) in pairs { try checkNames(k, soft: soft); try checkNames(v, soft: soft) }
    case .getattr(let o, _), .neg(let o), .pos(let o), .not(let o):
        try checkNames(o, soft: soft)
    case .getitem(let o, let k):
        try checkNames(o, soft: soft); try checkNames(k, soft: soft)
    case .slice(let a, let b, let c):
        for x in [a, b, c] { if let x = x { try checkNames(x, soft: soft) } }
    case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b):
        try checkNames(a, soft: soft); try checkNames(b, soft: soft)
    case .compare(let a, let ops):
        try checkNames(a, soft: soft)
        for (_, b) in ops { try checkNames(b, soft: soft) }
    case .conditional(let t, let a, let b, _):
        try checkNames(t, soft: true); try checkNames(a, soft: true)
        if let b = b { try checkNames(b, soft: true) }
    case .call(let f, let args, _):
        try checkNames(f, soft: soft); try checkNames(args, soft: soft)
    case .filter(let o, let name, let args, let line):
        if let o = o { try checkNames(o, soft: soft) }
        try checkNames(args, soft: soft)
        if !soft && !Filters.names.contains(name) { throw JinjaError.syntax("No filter named '\(name)'.", line: line) }
    case .test(let o, let name, let args, let line):
        try checkNames(o, soft: soft)
        try checkNames(args, soft: soft)
        if !soft && !Tests.names.contains(name) { throw JinjaError.syntax("No test named '\(name)'.", line: line) }
    }
}
