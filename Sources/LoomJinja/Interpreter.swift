/// Evaluates a parsed template with jinja2's runtime semantics: its scoping (each iteration of a
/// for loop, a macro call, a block body have their own scope; `if` has none), Undefined handling,
/// the immutable sandbox, Python's operators. Bounded (JinjaLimits): total output, loop
/// iterations, work (bytes and items through filters, calls and operators), call depth and
/// evaluation nesting are limited so that a hostile template cannot hang, exhaust memory or
/// overflow the stack.

/// Variables of one scope; lookups walk up to the template's root scope, then the globals.
final class Scope {
    var vars: [String: JinjaValue] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> JinjaValue? {
        var s: Scope? = self
        while let c = s {
            if let v = c.vars[name] { return v }
            s = c.parent
        }
        return nil
    }
}

/// The arguments of a call: positional, then keyword in call order.
struct Arguments {
    var positional: [JinjaValue] = []
    var keywords: [(String, JinjaValue)] = []

    init(_ positional: [JinjaValue] = [], _ keywords: [(String, JinjaValue)] = []) {
        self.positional = positional
        self.keywords = keywords
    }

    func keyword(_ name: String) -> JinjaValue? { keywords.first { $0.0 == name }?.1 }

    /// Binds to a Python signature `f(names...)`; missing ones are nil. Too many positionals,
    /// unknown or duplicate keywords raise TypeError as in Python.
    func bind(_ names: [String], _ function: String) throws -> [JinjaValue?] {
        guard positional.count <= names.count else {
            throw JinjaError.type("\(function)() takes at most \(names.count) arguments (\(positional.count) given)")
        }
        var out: [JinjaValue?] = positional.map { $0 }
        out += Array(repeating: nil, count: names.count - positional.count)
        for (k, v) in keywords {
            guard let i = names.firstIndex(of: k) else {
                throw JinjaError.type("\(function)() got an unexpected keyword argument '\(k)'")
            }
            guard out[i] == nil else { throw JinjaError.type("\(function)() got multiple values for argument '\(k)'") }
            out[i] = v
        }
        return out
    }
}

enum Flow {
    case normal, breakLoop, continueLoop
}

final class Interpreter {
    let globals: [String: JinjaValue]
    let limits: JinjaLimits
    let now: JinjaDateTime?
    private var outputBytes = 0
    private var iterations = 0
    private var work = 0
    private var callDepth = 0
    private(set) var nesting = 0

    init(limits: JinjaLimits, now: JinjaDateTime?) {
        self.limits = limits
        self.now = now
        self.globals = Globals.make()
    }

    func render(_ body: [Stmt], context: [String: JinjaValue]) throws -> String {
        // Macros (and `caller`, recursive loops) capture the scope they were defined in and are stored
        // in a scope: a reference cycle that would leak every render defining a macro. Emptying the
        // scopes still alive at the end breaks every such cycle.
        defer {
            for w in scopes { w.scope?.vars.removeAll() }
            scopes.removeAll()
        }
        let root = makeScope(parent: nil)
        root.vars = context
        var out = ""
        _ = try exec(body, root, &out)
        return out
    }

    /// Scopes of this render, weakly: the ones still alive when it ends are emptied.
    private struct WeakScope { weak var scope: Scope? }
    private var scopes: [WeakScope] = []

    func makeScope(parent: Scope?) -> Scope {
        let s = Scope(parent: parent)
        scopes.append(WeakScope(scope: s))
        return s
    }

    // MARK: Bounds

    func emit(_ s: String, _ out: inout String) throws {
        outputBytes += s.utf8.count
        if outputBytes > limits.maxOutputBytes {
            throw JinjaError.limit("template output exceeds \(limits.maxOutputBytes) bytes")
        }
        out += s
    }

    /// Refuses a string or list being built past the output bound (`'x' * 10**12`, `s ~ s` in a loop).
    func checkSize(_ n: Int) throws {
        if n > limits.maxOutputBytes {
            throw JinjaError.limit("template value exceeds \(limits.maxOutputBytes) bytes or items")
        }
    }

    /// Charges an operation on these values (and its result) against `limits.maxWork`.
    func charge(_ values: JinjaValue...) throws {
        for v in values {
            switch v {
            case .string(let x), .markup(let x): work &+= x.utf8.count
            case .list(let x), .tuple(let x): work &+= 16 &* x.count
            case .dict(let d): work &+= 32 &* d.count
            default: work &+= 1
            }
        }
        if work > limits.maxWork {
            throw JinjaError.limit("template work exceeds \(limits.maxWork) (bytes and items processed by filters, calls and operators)")
        }
    }

    func charge(_ args: Arguments) throws {
        for v in args.positional { try charge(v) }
        for (_, v) in args.keywords { try charge(v) }
    }

    func tick() throws {
        iterations += 1
        if iterations > limits.maxLoopIterations {
            throw JinjaError.limit("template loops exceed \(limits.maxLoopIterations) iterations")
        }
    }

    func enterCall() throws {
        callDepth += 1
        if callDepth > limits.maxCallDepth {
            callDepth -= 1
            throw JinjaError.limit("template macro calls nested deeper than \(limits.maxCallDepth)")
        }
    }

    func leaveCall() { callDepth -= 1 }

    /// Bounds the interpreter's recursion (nested expressions and statements across macro calls),
    /// so that no template can exhaust the thread's stack.
    func enterNesting() throws {
        nesting += 1
        if nesting > limits.maxNesting {
            nesting -= 1
            throw JinjaError.limit("template evaluation nested deeper than \(limits.maxNesting) levels")
        }
    }

    // MARK: Statements

    func exec(_ body: [Stmt], _ scope: Scope, _ out: inout String) throws -> Flow {
        for s in body {
            let flow = try exec(s, scope, &out)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    private func withLine<T>(_ line: Int, _ f: () throws -> T) throws -> T {
        do {
            return try f()
        } catch var e as JinjaError {
            if e.line == nil { e.line = line }
            throw e
        }
    }

    private func exec(_ s: Stmt, _ scope: Scope, _ out: inout String) throws -> Flow {
        switch s {
        case .text(let t):
            try emit(t, &out)
            return .normal
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        default:
            try enterNesting()
            defer { nesting -= 1 }
            return try execCompound(s, scope, &out)
        }
    }

    @inline(never)
    private func execCompound(_ s: Stmt, _ scope: Scope, _ out: inout String) throws -> Flow {
        switch s {
        case .text, .breakLoop, .continueLoop: return try exec(s, scope, &out)
        case .output: try execOutput(s, scope, &out)
        case .ifChain: return try execIf(s, scope, &out)
        case .forLoop: try execFor(s, scope, &out)
        case .assign: try execAssign(s, scope)
        case .assignBlock: try execAssignBlock(s, scope)
        case .macro: try execAssign(s, scope)
        case .callBlock: try execCallBlock(s, scope, &out)
        case .filterBlock: try execFilterBlock(s, scope, &out)
        case .with: return try execWith(s, scope, &out)
        case .generation: try execGeneration(s, scope, &out)
        }
        return .normal
    }

    @inline(never)
    private func execAssign(_ s: Stmt, _ scope: Scope) throws {
        switch s {
        case .assign(let target, let e, let line):
            try withLine(line) { try assign(target, try eval(e, scope), scope) }
        case .macro(let def, _):
            scope.vars[def.name] = makeMacro(def, scope)
        default: fatalError("unreachable")
        }
    }

    @inline(never)
    private func execGeneration(_ s: Stmt, _ scope: Scope, _ out: inout String) throws {
        guard case .generation(let body) = s else { fatalError("unreachable") }
        _ = try exec(body, makeScope(parent: scope), &out)
    }

    @inline(never)
    private func execOutput(_ s: Stmt, _ scope: Scope, _ out: inout String) throws {
        guard case .output(let e, let line) = s else { fatalError("unreachable") }
        let v = try withLine(line) { try eval(e, scope) }
        try emit(v.str, &out)
    }

    @inline(never)
    private func execIf(_ s: Stmt, _ scope: Scope, _ out: inout String) throws -> Flow {
        guard case .ifChain(let branches, let otherwise, let line) = s else { fatalError("unreachable") }
        for (test, body) in branches {
            if try withLine(line, { try eval(test, scope).truthy }) {
                return try exec(body, scope, &out)
            }
        }
        return try exec(otherwise, scope, &out)
    }

    @inline(never)
    private func execFor(_ s: Stmt, _ scope: Scope, _ out: inout String) throws {
        guard case .forLoop(let target, let iter, let filter, let body, let otherwise, let recursive, let line) = s else {
            fatalError("unreachable")
        }
        let seq = try withLine(line) { try eval(iter, scope) }
        try withLine(line) {
            try runLoop(target: target, seq: seq, filter: filter, body: body, otherwise: otherwise,
                        recursive: recursive, depth: 0, scope: scope, out: &out)
        }
    }

    @inline(never)
    private func execAssignBlock(_ s: Stmt, _ scope: Scope) throws {
        guard case .assignBlock(let target, let filter, let body, let line) = s else { fatalError("unreachable") }
        var text = ""
        _ = try exec(body, makeScope(parent: scope), &text)
        try withLine(line) {
            var v = JinjaValue.string(text)
            if let f = filter { v = try eval(f, scope, blockBody: v) }
            try assign(target, v, scope)
        }
    }

    @inline(never)
    private func execCallBlock(_ s: Stmt, _ scope: Scope, _ out: inout String) throws {
        guard case .callBlock(let def, let call, let line) = s else { fatalError("unreachable") }
        let caller = makeMacro(def, scope)
        let v: JinjaValue = try withLine(line) {
            guard case .call(let fe, let argsExpr, _) = call else { throw JinjaError.runtime("expected call") }
            let f = try eval(fe, scope)
            var args = try evalArgs(argsExpr, scope)
            args.keywords.append(("caller", caller))
            return try callValue(f, args)
        }
        try emit(v.str, &out)
    }

    @inline(never)
    private func execFilterBlock(_ s: Stmt, _ scope: Scope, _ out: inout String) throws {
        guard case .filterBlock(let filter, let body, let line) = s else { fatalError("unreachable") }
        var text = ""
        _ = try exec(body, makeScope(parent: scope), &text)
        let v = try withLine(line) { try eval(filter, scope, blockBody: .string(text)) }
        try emit(v.str, &out)
    }

    @inline(never)
    private func execWith(_ s: Stmt, _ scope: Scope, _ out: inout String) throws -> Flow {
        guard case .with(let pairs, let body, let line) = s else { fatalError("unreachable") }
        let inner = makeScope(parent: scope)
        try withLine(line) {
            for (t, e) in pairs { try assign(t, try eval(e, scope), inner) }
        }
        return try exec(body, inner, &out)
    }

    private func runLoop(target: Target, seq: JinjaValue, filter: Expr?, body: [Stmt], otherwise: [Stmt],
                         recursive: Bool, depth: Int, scope: Scope, out: inout String) throws {
        var items = try iterate(seq)
        if let f = filter {
            var kept: [JinjaValue] = []
            for item in items {
                try tick()
                let s = makeScope(parent: scope)
                try assign(target, item, s)
                if try eval(f, s).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try exec(otherwise, makeScope(parent: scope), &out)
            return
        }
        let loop = LoopObject(items: items, depth: depth)
        if recursive {
            loop.recurse = { inner in
                try self.enterCall()
                defer { self.leaveCall() }
                var text = ""
                try self.runLoop(target: target, seq: inner, filter: filter, body: body, otherwise: otherwise,
                                 recursive: true, depth: depth + 1, scope: scope, out: &text)
                return .string(text)
            }
        }
        // Each iteration has a fresh scope: what the body sets does not survive into the next
        // iteration, nor out of the loop.
        for (i, item) in items.enumerated() {
            try tick()
            loop.index0 = i
            let iterScope = makeScope(parent: scope)
            iterScope.vars["loop"] = .object(loop)
            try assign(target, item, iterScope)
            if case .breakLoop = try exec(body, iterScope, &out) { break }
        }
    }

    func assign(_ target: Target, _ value: JinjaValue, _ scope: Scope) throws {
        switch target {
        case .name(let n):
            scope.vars[n] = value
        case .tuple(let targets):
            let items: [JinjaValue]
            switch value {
            case .list, .tuple, .string, .markup, .dict, .iterator, .undefined: items = try iterate(value)
            default: throw JinjaError.type("cannot unpack non-iterable \(value.typeName) object")
            }
            if items.count > targets.count {
                throw JinjaError.value("too many values to unpack (expected \(targets.count))")
            }
            if items.count < targets.count {
                throw JinjaError.value("not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        case .namespaceAttr(let n, let attr):
            guard case .object(let o)? = scope.lookup(n) ?? globals[n], let ns = o as? JinjaNamespace else {
                throw JinjaError.runtime("cannot assign attribute on non-namespace object")
            }
            ns.attrs.set(attr, value)
        }
    }

    // MARK: Macros

    func makeMacro(_ def: MacroDef, _ scope: Scope) -> JinjaValue {
        .function(JinjaFunction(def.name, isMacro: true) { interp, args in
            try interp.callMacro(def, scope, args)
        })
    }

    private func callMacro(_ def: MacroDef, _ defining: Scope, _ args: Arguments) throws -> JinjaValue {
        try enterCall()
        defer { leaveCall() }
        let s = makeScope(parent: defining)
        var kwargs = args.keywords
        func popKeyword(_ name: String) -> JinjaValue? {
            guard let i = kwargs.firstIndex(where: { $0.0 == name }) else { return nil }
            return kwargs.remove(at: i).1
        }
        let firstDefault = def.params.count - def.defaults.count
        var foundCaller = false
        for (i, p) in def.params.enumerated() {
            if i < args.positional.count {
                s.vars[p] = args.positional[i]
            } else {
                if p == "caller" { foundCaller = true }
                if let v = popKeyword(p) {
                    s.vars[p] = v
                } else if i >= firstDefault {
                    s.vars[p] = try eval(def.defaults[i - firstDefault], s)
                } else {
                    s.vars[p] = .undefined("parameter '\(p)' was not provided")
                }
            }
        }
        if def.usesCaller && !foundCaller {
            s.vars["caller"] = popKeyword("caller") ?? .undefined("No caller defined")
        }
        if def.usesKwargs {
            s.vars["kwargs"] = .dict(JinjaDict(pairs: kwargs))
        } else if let (k, _) = kwargs.first {
            if k == "caller" {
                throw JinjaError.type("macro '\(def.name)' was invoked with two values for the special caller argument. This is most likely a bug.")
            }
            throw JinjaError.type("macro '\(def.name)' takes no keyword argument '\(k)'")
        }
        if def.usesVarargs {
            s.vars["varargs"] = .tuple(Array(args.positional.dropFirst(def.params.count)))
        } else if args.positional.count > def.params.count {
            throw JinjaError.type("macro '\(def.name)' takes not more than \(def.params.count) argument(s)")
        }
        var text = ""
        _ = try exec(def.body, s, &text)
        return .string(text)
    }

    // MARK: Expressions

    /// blockBody replaces the empty operand at the bottom of a `{% filter %}` / `{% set %}` chain.
    ///
    /// A thin dispatcher: each kind of node is evaluated in its own (non-inlined) function so that
    /// a level of recursion costs little stack, and the nesting counter bounds the recursion.
    func eval(_ e: Expr, _ scope: Scope, blockBody: JinjaValue? = nil) throws -> JinjaValue {
        switch e {
        case .literal(let l):
            return l.value
        case .name(let n):
            return scope.lookup(n) ?? globals[n] ?? .undefined("'\(n)' is undefined")
        default:
            try enterNesting()
            defer { nesting -= 1 }
            return try evalCompound(e, scope, blockBody)
        }
    }

    @inline(never)
    private func evalCompound(_ e: Expr, _ scope: Scope, _ blockBody: JinjaValue?) throws -> JinjaValue {
        // Each case is matched without binding its payload here (that would give this frame room
        // for every case's payload); the helper takes the node apart.
        switch e {
        case .literal, .name: return try eval(e, scope)
        case .list, .tuple: return try evalSequence(e, scope)
        case .dict: return try evalDict(e, scope)
        case .getattr: return try evalGetattr(e, scope)
        case .getitem: return try evalGetitem(e, scope)
        case .slice: throw JinjaError.type("a slice is only valid in a subscript")
        case .neg, .pos, .not: return try evalUnary(e, scope)
        case .binary: return try evalBinary(e, scope)
        case .concat: return try evalConcat(e, scope, blockBody)
        case .and, .or: return try evalLogic(e, scope)
        case .compare: return try evalCompare(e, scope)
        case .conditional: return try evalConditional(e, scope)
        case .call: return try evalCall(e, scope)
        case .filter: return try evalFilter(e, scope, blockBody)
        case .test: return try evalTest(e, scope)
        }
    }

    @inline(never)
    private func evalSequence(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        switch e {
        case .list(let items): return .list(try items.map { try eval($0, scope) })
        case .tuple(let items): return .tuple(try items.map { try eval($0, scope) })
        default: fatalError("unreachable")
        }
    }

    @inline(never)
    private func evalDict(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .dict(let pairs) = e else { fatalError("unreachable") }
        var d = JinjaDict()
        for (k, v) in pairs { try d.set(key: try eval(k, scope), try eval(v, scope)) }
        return .dict(d)
    }

    @inline(never)
    private func evalGetattr(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .getattr(let o, let name) = e else { fatalError("unreachable") }
        return try getAttribute(try eval(o, scope), name)
    }

    @inline(never)
    private func evalGetitem(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .getitem(let o, let k) = e else { fatalError("unreachable") }
        let obj = try eval(o, scope)
        if case .slice(let a, let b, let c) = k {
            return try slice(obj, try a.map { try eval($0, scope) }, try b.map { try eval($0, scope) },
                             try c.map { try eval($0, scope) })
        }
        return try getItem(obj, try eval(k, scope))
    }

    @inline(never)
    private func evalUnary(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        switch e {
        case .neg(let o): return try Operators.negate(try eval(o, scope))
        case .pos(let o): return try Operators.plus(try eval(o, scope))
        case .not(let o): return .bool(!(try eval(o, scope).truthy))
        default: fatalError("unreachable")
        }
    }

    @inline(never)
    private func evalBinary(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .binary(let op, let a, let b) = e else { fatalError("unreachable") }
        let l = try eval(a, scope)
        let r = try eval(b, scope)
        let result = try Operators.binary(op, l, r, self)
        try charge(l, r, result)
        return result
    }

    @inline(never)
    private func evalConcat(_ e: Expr, _ scope: Scope, _ blockBody: JinjaValue?) throws -> JinjaValue {
        guard case .concat(let items) = e else { fatalError("unreachable") }
        var s = ""
        for i in items {
            s += try eval(i, scope, blockBody: blockBody).str
            try checkSize(s.utf8.count)
        }
        return .string(s)
    }

    @inline(never)
    private func evalLogic(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        switch e {
        case .and(let a, let b):
            let l = try eval(a, scope)
            return l.truthy ? try eval(b, scope) : l
        case .or(let a, let b):
            let l = try eval(a, scope)
            return l.truthy ? l : try eval(b, scope)
        default: fatalError("unreachable")
        }
    }

    @inline(never)
    private func evalCompare(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .compare(let first, let ops) = e else { fatalError("unreachable") }
        var left = try eval(first, scope)
        for (op, re) in ops {
            let right = try eval(re, scope)
            try charge(left, right)
            if !(try Operators.compare(op, left, right)) { return .bool(false) }
            left = right
        }
        return .bool(true)
    }

    @inline(never)
    private func evalConditional(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .conditional(let test, let then, let otherwise, let line) = e else { fatalError("unreachable") }
        if try eval(test, scope).truthy { return try eval(then, scope) }
        if let o = otherwise { return try eval(o, scope) }
        return .undefined("the inline if-expression on line \(line) evaluated to false and no else section was defined.")
    }

    @inline(never)
    private func evalCall(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .call(let fe, let argsExpr, _) = e else { fatalError("unreachable") }
        let f = try eval(fe, scope)
        let args = try evalArgs(argsExpr, scope)
        try charge(args)
        let result = try callValue(f, args)
        try charge(result)
        return result
    }

    @inline(never)
    private func evalFilter(_ e: Expr, _ scope: Scope, _ blockBody: JinjaValue?) throws -> JinjaValue {
        guard case .filter(let operand, let name, let argsExpr, _) = e else { fatalError("unreachable") }
        let v: JinjaValue
        if let o = operand { v = try eval(o, scope, blockBody: blockBody) } else { v = blockBody ?? .string("") }
        guard let f = Filters.table[name] else { throw JinjaError.runtime("No filter named '\(name)' found.") }
        let args = try evalArgs(argsExpr, scope)
        try charge(v)
        try charge(args)
        let result = try f(self, v, args)
        try charge(result)
        return result
    }

    @inline(never)
    private func evalTest(_ e: Expr, _ scope: Scope) throws -> JinjaValue {
        guard case .test(let operand, let name, let argsExpr, _) = e else { fatalError("unreachable") }
        let v = try eval(operand, scope)
        guard let t = Tests.table[name] else { throw JinjaError.runtime("No test named '\(name)' found.") }
        let args = try evalArgs(argsExpr, scope)
        try charge(v)
        try charge(args)
        return .bool(try t(self, v, args))
    }

    func evalArgs(_ a: CallArgs, _ scope: Scope) throws -> Arguments {
        var out = Arguments()
        out.positional = try a.args.map { try eval($0, scope) }
        out.keywords = try a.kwargs.map { ($0.0, try eval($0.1, scope)) }
        if let d = a.dynArgs { out.positional += try iterate(try eval(d, scope)) }
        if let d = a.dynKwargs {
            guard case .dict(let dict) = try eval(d, scope) else { throw JinjaError.type("argument after ** must be a mapping") }
            for (k, v) in dict.pairs {
                guard let ks = k.stringValue else { throw JinjaError.type("keywords must be strings") }
                out.keywords.append((ks, v))
            }
        }
        return out
    }

    func callValue(_ f: JinjaValue, _ args: Arguments) throws -> JinjaValue {
        switch f {
        case .function(let fn):
            return try fn.call(self, args)
        case .undefined(let u):
            throw JinjaError.undefined(u)
        case .object(let o):
            if let loop = o as? LoopObject {
                guard let r = loop.recurse else {
                    throw JinjaError.type("The loop must be defined as recursive to be called")
                }
                guard args.positional.count == 1, args.keywords.isEmpty else {
                    throw JinjaError.type("loop() takes exactly one argument")
                }
                return try r(args.positional[0])
            }
            if let j = o as? JoinerObject { return .string(j.call()) }
            throw JinjaError.type("'\(o.typeName)' object is not callable")
        default:
            throw JinjaError.type("'\(f.typeName)' object is not callable")
        }
    }

    // MARK: Attribute and item access (jinja2's SandboxedEnvironment.getattr / getitem)

    func undefinedAttribute(_ obj: JinjaValue, _ name: JinjaValue) -> JinjaValue {
        if case .string(let s) = name {
            return .undefined("\(pythonStringRepr(obj.objectTypeRepr)) has no attribute \(pythonStringRepr(s))")
        }
        return .undefined("\(obj.objectTypeRepr) has no element \(name.repr)")
    }

    /// `obj.name`: a Python attribute (a method) first, then an item.
    func getAttribute(_ obj: JinjaValue, _ name: String) throws -> JinjaValue {
        if case .undefined(let u) = obj { throw JinjaError.undefined(u) }
        if name.hasPrefix("__") {
            return .undefined(JinjaUndefined(hint: "access to attribute \(pythonStringRepr(name)) of \(pythonStringRepr(obj.typeName)) object is unsafe.", unsafe: true))
        }
        if let m = try Methods.lookup(obj, name) { try charge(obj); return m }
        switch obj {
        case .dict(let d):
            if let v = d[name] { return v }
        case .tuple(let t) where t.count == 2 && (name == "grouper" || name == "list"):
            // groupby's (grouper, list) named tuples.
            return t[name == "grouper" ? 0 : 1]
        case .object(let o):
            if let v = o.attribute(name) { return v }
        default:
            break
        }
        return undefinedAttribute(obj, .string(name))
    }

    /// `obj[key]`: an item first, then (for a string key) a Python attribute.
    func getItem(_ obj: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
        switch obj {
        case .undefined(let u):
            throw JinjaError.undefined(u)
        case .dict(let d):
            if let v = d.get(key) { return v }
        case .list(let a), .tuple(let a):
            if let i = key.indexValue {
                let j = i < 0 ? i + a.count : i
                if j >= 0 && j < a.count { return a[j] }
            }
        case .string(let s), .markup(let s):
            if let i = key.indexValue {
                let scalars = Array(s.unicodeScalars)
                let j = i < 0 ? i + scalars.count : i
                if j >= 0 && j < scalars.count {
                    let c = String(scalars[j])
                    if case .markup = obj { return .markup(c) }
                    return .string(c)
                }
            }
        default:
            break
        }
        if case .string(let name) = key {
            if name.hasPrefix("__") {
                return .undefined(JinjaUndefined(hint: "access to attribute \(pythonStringRepr(name)) of \(pythonStringRepr(obj.typeName)) object is unsafe.", unsafe: true))
            }
            if let m = try Methods.lookup(obj, name) { try charge(obj); return m }
            if case .object(let o) = obj, let v = o.attribute(name) { return v }
        }
        return undefinedAttribute(obj, key)
    }

    /// `obj[a:b:c]` with Python's slice rules.
    func slice(_ obj: JinjaValue, _ a: JinjaValue?, _ b: JinjaValue?, _ c: JinjaValue?) throws -> JinjaValue {
        func index(_ v: JinjaValue?) throws -> Int? {
            guard let v = v, !v.isNone else { return nil }
            guard let i = v.indexValue else {
                throw JinjaError.type("slice indices must be integers or None or have an __index__ method")
            }
            return i
        }
        let step = try index(c) ?? 1
        if step == 0 { throw JinjaError.value("slice step cannot be zero") }
        func pick(_ n: Int) throws -> [Int] {
            var start = try index(a)
            var stop = try index(b)
            if step > 0 {
                var s = start ?? 0
                if s < 0 { s = max(0, s + n) } else { s = min(s, n) }
                var e = stop ?? n
                if e < 0 { e = max(0, e + n) } else { e = min(e, n) }
                start = s; stop = e
                return s < e ? Array(stride(from: s, to: e, by: step)) : []
            } else {
                var s = start ?? (n - 1)
                if s < 0 { s = max(-1, s + n) } else { s = min(s, n - 1) }
                var e = stop ?? -1
                if stop != nil { if e < 0 { e = max(-1, e + n) } else { e = min(e, n - 1) } }
                return s > e ? Array(stride(from: s, to: e, by: step)) : []
            }
        }
        switch obj {
        case .undefined(let u):
            throw JinjaError.undefined(u)
        case .list(let items):
            return .list(try pick(items.count).map { items[$0] })
        case .tuple(let items):
            return .tuple(try pick(items.count).map { items[$0] })
        case .string(let s), .markup(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try pick(scalars.count) { out.append(scalars[i]) }
            if case .markup = obj { return .markup(String(out)) }
            return .string(String(out))
        case .dict:
            throw JinjaError.type("unhashable type: 'slice'")
        default:
            // jinja2 compiles a slice to Python's own subscript, bypassing the sandbox's getitem.
            throw JinjaError.type("'\(obj.typeName)' object is not subscriptable")
        }
    }

    // MARK: Iteration

    /// Python's iter() as jinja2 uses it: strings give characters, dicts their keys, an undefined
    /// value nothing.
    func iterate(_ v: JinjaValue) throws -> [JinjaValue] {
        try charge(v)
        switch v {
        case .undefined:
            return []
        case .list(let a), .tuple(let a):
            return a
        case .string(let s):
            return s.unicodeScalars.map { .string(String($0)) }
        case .markup(let s):
            // Markup inherits str's iterator: the characters are plain strings.
            return s.unicodeScalars.map { .string(String($0)) }
        case .dict(let d):
            return d.keys
        case .iterator(let it):
            return it.drain()
        default:
            throw JinjaError.type("'\(v.typeName)' object is not iterable")
        }
    }
}

extension JinjaValue {
    /// An int (or bool) usable as an index.
    var indexValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}

/// jinja2's LoopContext: the `loop` variable.
final class LoopObject: JinjaObject {
    let items: [JinjaValue]
    let depth0: Int
    var index0 = 0
    var recurse: ((JinjaValue) throws -> JinjaValue)?
    private var lastChanged: [JinjaValue]? = nil

    init(items: [JinjaValue], depth: Int) {
        self.items = items
        self.depth0 = depth
    }

    override var typeName: String { "LoopContext" }

    override func attribute(_ name: String) -> JinjaValue? {
        let n = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(n - index0)
        case "revindex0": return .int(n - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(depth0 + 1)
        case "depth0": return .int(depth0)
        case "previtem":
            return index0 > 0 ? items[index0 - 1] : .undefined("there is no previous item")
        case "nextitem":
            return index0 + 1 < n ? items[index0 + 1] : .undefined("there is no next item")
        case "cycle":
            return .function(JinjaFunction("cycle") { _, args in
                guard !args.positional.isEmpty else { throw JinjaError.type("no items for cycling given") }
                return args.positional[self.index0 % args.positional.count]
            })
        case "changed":
            return .function(JinjaFunction("changed") { _, args in
                if let last = self.lastChanged, last.count == args.positional.count,
                   zip(last, args.positional).allSatisfy({ Operators.equals($0, $1) }) {
                    return .bool(false)
                }
                self.lastChanged = args.positional
                return .bool(true)
            })
        default: return nil
        }
    }

    override func repr() -> String { "<LoopContext \(index0 + 1)/\(items.count)>" }
}
