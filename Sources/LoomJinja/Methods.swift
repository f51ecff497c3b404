/// Python methods of str, list, tuple and dict that templates call (`s.strip()`, `d.get(k)`...).
/// Methods that mutate (`list.append`, `dict.pop`...) are refused as the immutable sandbox does:
/// using them raises a SecurityError.
enum Methods {
    private static let mutating: [String: Set<String>] = [
        "list": ["append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"],
        "dict": ["clear", "pop", "popitem", "setdefault", "update"],
    ]

    private static func method(_ name: String, _ f: @escaping (Interpreter, Arguments) throws -> JinjaValue) -> JinjaValue {
        .function(JinjaFunction(name, f))
    }

    static func lookup(_ obj: JinjaValue, _ name: String) throws -> JinjaValue? {
        if let bad = mutating[obj.typeName], bad.contains(name) {
            return .undefined(JinjaUndefined(hint: "access to attribute '\(name)' of '\(obj.typeName)' object is unsafe.",
                                             unsafe: true))
        }
        switch obj {
        case .string(let s): return stringMethod(s, name)
        case .markup(let s): return markupMethod(s, name)
        case .list(let a): return sequenceMethod(a, name, isTuple: false)
        case .tuple(let a): return sequenceMethod(a, name, isTuple: true)
        case .dict(let d): return dictMethod(d, name)
        case .int, .bool:
            if name == "real" || name == "numerator" { return .int(obj.indexValue!) }
            if name == "imag" { return .int(0) }
            if name == "denominator" { return .int(1) }
            return nil
        case .float(let d):
            if name == "real" { return .float(d) }
            if name == "imag" { return .float(0) }
            return nil
        default: return nil
        }
    }

    // MARK: str

    private static func str(_ v: JinjaValue?, _ what: String) throws -> String? {
        guard let v = v, !v.isNone else { return nil }
        guard let s = v.stringValue else { throw JinjaError.type("\(what) must be None or str") }
        return s
    }

    private static func int(_ v: JinjaValue?, _ dflt: Int) throws -> Int {
        guard let v = v else { return dflt }
        guard let i = v.indexValue else {
            throw JinjaError.type("'\(v.typeName)' object cannot be interpreted as an integer")
        }
        return i
    }

    /// Python's slice clamping of optional start/end for find/count/startswith.
    private static func range(_ n: Int, _ start: JinjaValue?, _ end: JinjaValue?) throws -> (Int, Int) {
        func clamp(_ v: JinjaValue?, _ d: Int) throws -> Int {
            guard let v = v, !v.isNone else { return d }
            let i = try int(v, d)
            return i < 0 ? max(0, i + n) : min(i, n)
        }
        return (try clamp(start, 0), try clamp(end, n))
    }

    static func stringMethod(_ s: String, _ name: String) -> JinjaValue? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return method("str.\(name)") { _, args in
                let a = try args.bind(["chars"], name)
                let chars = try str(a[0], "\(name) arg")  // "strip arg must be None or str"
                return .string(StringOps.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
            }
        case "split", "rsplit":
            return method("str.\(name)") { _, args in
                let a = try args.bind(["sep", "maxsplit"], name)
                let sep = try str(a[0], "sep")
                let maxsplit = try int(a[1], -1)
                let parts = name == "split" ? try StringOps.split(s, sep, maxsplit: maxsplit)
                                            : try StringOps.rsplit(s, sep, maxsplit: maxsplit)
                return .list(parts.map { .string($0) })
            }
        case "splitlines":
            return method("str.splitlines") { _, args in
                let a = try args.bind(["keepends"], name)
                return .list(StringOps.splitlines(s, keepends: a[0]?.truthy ?? false).map { .string($0) })
            }
        case "startswith", "endswith":
            return method("str.\(name)") { _, args in
                let a = try args.bind(["prefix", "start", "end"], name)
                guard let p = a[0] else { throw JinjaError.type("\(name)() takes at least 1 argument (0 given)") }
                let candidates: [JinjaValue]
                if case .tuple(let t) = p { candidates = t } else { candidates = [p] }
                let hay = s.scalars
                let (lo, hi) = try range(hay.count, a[1], a[2])
                for c in candidates {
                    guard let cs = c.stringValue else {
                        throw JinjaError.type("\(name) first arg must be str or a tuple of str, not \(c.typeName)")
                    }
                    let needle = cs.scalars
                    if hi - lo < needle.count { continue }
                    let slice = name == "startswith" ? hay[lo..<(lo + needle.count)] : hay[(hi - needle.count)..<hi]
                    if Array(slice) == needle { return .bool(true) }
                }
                return .bool(false)
            }
        case "upper": return method("str.upper") { _, args in _ = try args.bind([], name); return .string(StringOps.upper(s)) }
        case "lower", "casefold":
            return method("str.\(name)") { _, args in _ = try args.bind([], name); return .string(StringOps.lower(s)) }
        case "title": return method("str.title") { _, args in _ = try args.bind([], name); return .string(StringOps.title(s)) }
        case "capitalize":
            return method("str.capitalize") { _, args in _ = try args.bind([], name); return .string(StringOps.capitalize(s)) }
        case "swapcase":
            return method("str.swapcase") { _, args in _ = try args.bind([], name); return .string(StringOps.swapcase(s)) }
        case "replace":
            return method("str.replace") { interp, args in
                let a = try args.bind(["old", "new", "count"], name)
                guard let old = a[0]?.stringValue, let new = a[1]?.stringValue else {
                    throw JinjaError.type("replace() arguments must be str")
                }
                let r = StringOps.replace(s, old, new, count: try int(a[2], -1))
                try interp.checkSize(r.utf8.count)
                return .string(r)
            }
        case "find", "rfind", "index", "rindex", "count":
            return method("str.\(name)") { _, args in
                let a = try args.bind(["sub", "start", "end"], name)
                guard let sub = a[0]?.stringValue else {
                    throw JinjaError.type("must be str, not \(a[0]?.typeName ?? "nothing")")
                }
                let hay = s.scalars, needle = sub.scalars
                let (lo, hi) = try range(hay.count, a[1], a[2])
                if name == "count" {
                    if lo > hi { return .int(0) }
                    return .int(StringOps.count(Array(hay[lo..<hi]), needle))
                }
                let r = name.hasPrefix("r") ? StringOps.rfind(hay, needle, from: lo, to: hi)
                                            : StringOps.find(hay, needle, from: lo, to: hi)
                if let r = r { return .int(r) }
                if name.hasSuffix("index") { throw JinjaError.value("substring not found") }
                return .int(-1)
            }
        case "join":
            return method("str.join") { interp, args in
                let a = try args.bind(["iterable"], name)
                guard let v = a[0] else { throw JinjaError.type("join() takes exactly one argument (0 given)") }
                var parts: [String] = []
                for (i, item) in try interp.iterate(v).enumerated() {
                    guard let p = item.stringValue else {
                        throw JinjaError.type("sequence item \(i): expected str instance, \(item.typeName) found")
                    }
                    parts.append(p)
                }
                let r = parts.joined(separator: s)
                try interp.checkSize(r.utf8.count)
                return .string(r)
            }
        case "format":
            return method("str.format") { interp, args in
                .string(try PyFormat.format(s, args.positional, args.keywords, interp))
            }
        case "format_map":
            return method("str.format_map") { interp, args in
                let a = try args.bind(["mapping"], name)
                guard case .dict(let d)? = a[0] else { throw JinjaError.type("format_map() argument must be a mapping") }
                return .string(try PyFormat.format(s, [], d.pairs.compactMap { k, v in k.stringValue.map { ($0, v) } }, interp))
            }
        case "center", "ljust", "rjust":
            return method("str.\(name)") { _, args in
                let a = try args.bind(["width", "fillchar"], name)
                let width = try int(a[0], 0)
                var fill: Unicode.Scalar = " "
                if let f = a[1] {
                    guard let fs = f.stringValue, fs.unicodeScalars.count == 1 else {
                        throw JinjaError.type("The fill character must be exactly one character long")
                    }
                    fill = fs.unicodeScalars.first!
                }
                return .string(try StringOps.pad(s, width, fill, align: name == "center" ? "^" : (name == "ljust" ? "<" : ">")))
            }
        case "zfill":
            return method("str.zfill") { _, args in
                let width = try int(try args.bind(["width"], name)[0], 0)
                try JinjaError.checkPadding(width, "zfill width")
                var a = s.scalars
                guard width > a.count else { return .string(s) }
                var sign: Scalars = []
                if let f = a.first, f == "+" || f == "-" { sign = [f]; a.removeFirst() }
                return .string(String(scalars: sign + Array(repeating: "0", count: width - s.unicodeScalars.count) + a))
            }
        case "removeprefix", "removesuffix":
            return method("str.\(name)") { _, args in
                guard let x = try args.bind(["affix"], name)[0]?.stringValue else { throw JinjaError.type("\(name)() argument must be str") }
                let hay = s.scalars, p = x.scalars
                if name == "removeprefix", hay.starts(with: p) { return .string(String(scalars: hay.dropFirst(p.count))) }
                if name == "removesuffix", !p.isEmpty, hay.count >= p.count, Array(hay.suffix(p.count)) == p {
                    return .string(String(scalars: hay.dropLast(p.count)))
                }
                return .string(s)
            }
        case "partition", "rpartition":
            return method("str.\(name)") { _, args in
                guard let sep = try args.bind(["sep"], name)[0]?.stringValue else { throw JinjaError.type("must be str") }
                if sep.isEmpty { throw JinjaError.value("empty separator") }
                let hay = s.scalars, p = sep.scalars
                let idx = name == "partition" ? StringOps.find(hay, p, from: 0) : StringOps.rfind(hay, p)
                guard let i = idx else {
                    return name == "partition" ? .tuple([.string(s), "", ""]) : .tuple(["", "", .string(s)])
                }
                return .tuple([.string(String(scalars: hay[..<i])), .string(sep), .string(String(scalars: hay[(i + p.count)...]))])
            }
        case "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "isupper", "islower", "istitle", "isidentifier":
            return method("str.\(name)") { _, args in
                _ = try args.bind([], name)
                return .bool(predicate(s, name))
            }
        default:
            return nil
        }
    }

    private static func predicate(_ s: String, _ name: String) -> Bool {
        let a = s.scalars
        func isDigit(_ u: Unicode.Scalar) -> Bool { u.properties.numericType == .decimal || u.properties.numericType == .digit }
        func isNumeric(_ u: Unicode.Scalar) -> Bool { u.properties.numericType != nil }
        func isAlpha(_ u: Unicode.Scalar) -> Bool {
            switch u.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
        switch name {
        case "isdigit": return !a.isEmpty && a.allSatisfy(isDigit)
        case "isdecimal": return !a.isEmpty && a.allSatisfy { $0.properties.numericType == .decimal }
        case "isnumeric": return !a.isEmpty && a.allSatisfy(isNumeric)
        case "isalpha": return !a.isEmpty && a.allSatisfy(isAlpha)
        case "isalnum": return !a.isEmpty && a.allSatisfy { isAlpha($0) || isNumeric($0) }
        case "isspace": return !a.isEmpty && a.allSatisfy(isPySpace)
        case "isupper":
            return a.contains { StringOps.isCased($0) } && !a.contains { $0.properties.isLowercase }
        case "islower":
            return a.contains { StringOps.isCased($0) } && !a.contains { $0.properties.isUppercase }
        case "istitle": return !a.isEmpty && StringOps.title(s).unicodeScalars.elementsEqual(a) && a.contains { StringOps.isCased($0) }
        case "isidentifier":
            guard let f = a.first, f == "_" || f.properties.isXIDStart else { return false }
            return a.dropFirst().allSatisfy { $0 == "_" || $0.properties.isXIDContinue }
        default: return false
        }
    }

    // MARK: Markup

    /// markupsafe's Markup wraps most str methods: string arguments are escaped and string
    /// results are Markup again.
    private static let markupWrapped: Set<String> = [
        "capitalize", "title", "lower", "upper", "replace", "ljust", "rjust", "lstrip", "rstrip", "center",
        "strip", "swapcase", "zfill", "split", "rsplit", "splitlines", "partition", "rpartition", "format",
        "removeprefix", "removesuffix", "join",
    ]

    static func escapeArgument(_ v: JinjaValue) -> JinjaValue {
        if case .string(let s) = v { return .markup(htmlEscape(s)) }
        return v
    }

    static func markupResult(_ v: JinjaValue) -> JinjaValue {
        switch v {
        case .string(let s): return .markup(s)
        case .list(let a): return .list(a.map(markupResult))
        case .tuple(let a): return .tuple(a.map(markupResult))
        default: return v
        }
    }

    static func markupMethod(_ s: String, _ name: String) -> JinjaValue? {
        guard let m = stringMethod(s, name), case .function(let f) = m else { return nil }
        guard markupWrapped.contains(name) else { return m }
        return method("Markup.\(name)") { interp, args in
            var a = Arguments(args.positional.map(escapeArgument), args.keywords.map { ($0.0, escapeArgument($0.1)) })
            if name == "join", let items = args.positional.first {
                a.positional = [.list(try interp.iterate(items).map(escapeArgument))]
            }
            return markupResult(try f.call(interp, a))
        }
    }

    // MARK: list / tuple

    static func sequenceMethod(_ a: [JinjaValue], _ name: String, isTuple: Bool) -> JinjaValue? {
        switch name {
        case "count":
            return method("\(isTuple ? "tuple" : "list").count") { _, args in
                let x = try args.bind(["value"], name)
                guard let v = x[0] else { throw JinjaError.type("count() takes exactly one argument (0 given)") }
                return .int(a.filter { Operators.equals($0, v) }.count)
            }
        case "index":
            return method("\(isTuple ? "tuple" : "list").index") { _, args in
                let x = try args.bind(["value", "start", "stop"], name)
                guard let v = x[0] else { throw JinjaError.type("index expected at least 1 argument, got 0") }
                let (lo, hi) = try range(a.count, x[1], x[2])
                if lo < hi, let i = a[lo..<hi].firstIndex(where: { Operators.equals($0, v) }) { return .int(i) }
                throw JinjaError.value("\(v.repr) is not in \(isTuple ? "tuple" : "list")")
            }
        case "copy" where !isTuple:
            return method("list.copy") { _, args in _ = try args.bind([], name); return .list(a) }
        default:
            return nil
        }
    }

    // MARK: dict

    static func dictMethod(_ d: JinjaDict, _ name: String) -> JinjaValue? {
        switch name {
        case "get":
            return method("dict.get") { _, args in
                guard !args.positional.isEmpty, args.positional.count <= 2, args.keywords.isEmpty else {
                    throw JinjaError.type("get expected 1 or 2 arguments, got \(args.positional.count)")
                }
                _ = try DictKey(args.positional[0])
                return d.get(args.positional[0]) ?? (args.positional.count > 1 ? args.positional[1] : .none)
            }
        case "items":
            return method("dict.items") { _, args in
                _ = try args.bind([], name)
                return .list(d.pairs.map { .tuple([$0.0, $0.1]) })
            }
        case "keys":
            return method("dict.keys") { _, args in _ = try args.bind([], name); return .list(d.keys) }
        case "values":
            return method("dict.values") { _, args in _ = try args.bind([], name); return .list(d.values) }
        case "copy":
            return method("dict.copy") { _, args in _ = try args.bind([], name); return .dict(d) }
        default:
            return nil
        }
    }
}
