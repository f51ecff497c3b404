#if canImport(Glibc)
import Glibc
#endif

/// jinja2's builtin filters (filters.py) that chat templates use, plus transformers' `tojson`.
enum Filters {
    typealias Filter = @Sendable (Interpreter, JinjaValue, Arguments) throws -> JinjaValue

    static let names: Set<String> = Set(table.keys)

    static let table: [String: Filter] = [
        "abs": { _, v, a in
            _ = try a.bind([], "abs")
            switch Operators.num(v) {
            case .int(let i)?:
                guard i != Int.min else { throw Operators.overflow() }
                return .int(abs(i))
            case .float(let d)?: return .float(abs(d))
            case nil: throw JinjaError.type("bad operand type for abs(): '\(v.typeName)'")
            }
        },
        "attr": { interp, v, a in
            guard let name = try a.bind(["name"], "attr")[0]?.stringValue else { throw JinjaError.type("attribute name must be a string") }
            if case .undefined(let u) = v { throw JinjaError.undefined(u) }
            if let m = try Methods.lookup(v, name) { return m }
            if case .object(let o) = v, let x = o.attribute(name) { return x }
            return interp.undefinedAttribute(v, .string(name))
        },
        "batch": { interp, v, a in
            let b = try a.bind(["linecount", "fill_with"], "batch")
            guard let n = b[0]?.indexValue else { throw JinjaError.type("batch() requires an integer linecount") }
            guard n > 0 else { throw JinjaError.value("batch size must be positive") }
            var out: [JinjaValue] = []
            var tmp: [JinjaValue] = []
            for item in try interp.iterate(v) {
                if tmp.count == n { out.append(.list(tmp)); tmp = [] }
                tmp.append(item)
            }
            if !tmp.isEmpty {
                if let fill = b[1], !fill.isNone, tmp.count < n {
                    try JinjaError.checkPadding(n, "batch size")
                    tmp += Array(repeating: fill, count: n - tmp.count)
                }
                out.append(.list(tmp))
            }
            return .iterator(JinjaIterator(out))
        },
        "capitalize": { _, v, a in
            _ = try a.bind([], "capitalize")
            return .string(StringOps.capitalize(softStr(v)))
        },
        "center": { _, v, a in
            let b = try a.bind(["width"], "center")
            return .string(try StringOps.pad(softStr(v), b[0]?.indexValue ?? 80, " ", align: "^"))
        },
        "count": length,
        "length": length,
        "d": defaultFilter,
        "default": defaultFilter,
        "dictsort": { _, v, a in
            let b = try a.bind(["case_sensitive", "by", "reverse"], "dictsort")
            guard case .dict(let d) = v else {
                if case .undefined(let u) = v { throw JinjaError.undefined(u) }
                throw JinjaError("AttributeError", "'\(v.typeName)' object has no attribute 'items'")
            }
            let caseSensitive = b[0]?.truthy ?? false
            let by = b[1]?.stringValue ?? "key"
            guard by == "key" || by == "value" else {
                throw JinjaError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"")
            }
            let pos = by == "key" ? 0 : 1
            let items = d.pairs.map { [$0.0, $0.1] }
            let sorted = try stableSort(items, reverse: b[2]?.truthy ?? false) { x in
                caseSensitive ? x[pos] : ignoreCase(x[pos])
            }
            return .list(sorted.map { .tuple($0) })
        },
        "e": escape,
        "escape": escape,
        "forceescape": { _, v, a in
            _ = try a.bind([], "forceescape")
            return .markup(htmlEscape(v.str))
        },
        "first": { interp, v, a in
            _ = try a.bind([], "first")
            if case .iterator(let it) = v {
                return it.next() ?? .undefined("No first item, sequence was empty.")
            }
            return try interp.iterate(v).first ?? .undefined("No first item, sequence was empty.")
        },
        "last": { interp, v, a in
            _ = try a.bind([], "last")
            switch v {
            case .undefined, .string, .markup, .list, .tuple, .dict:
                return try interp.iterate(v).last ?? .undefined("No last item, sequence was empty.")
            default:
                throw JinjaError.type("'\(v.typeName)' object is not reversible")
            }
        },
        "float": { _, v, a in
            let b = try a.bind(["default"], "float")
            if case .undefined(let u) = v { throw JinjaError.undefined(u) }
            if let f = pyFloat(v) { return .float(f) }
            return b[0] ?? .float(0)
        },
        "format": { interp, v, a in
            if !a.positional.isEmpty && !a.keywords.isEmpty {
                throw JinjaError("FilterArgumentError", "can't handle positional and keyword arguments at the same time")
            }
            let arg: JinjaValue = a.keywords.isEmpty ? .tuple(a.positional) : .dict(JinjaDict(pairs: a.keywords))
            let s = try PyFormat.percent(softStr(v), arg)
            try interp.checkSize(s.utf8.count)
            return .string(s)
        },
        "filesizeformat": { _, v, a in
            let b = try a.bind(["binary"], "filesizeformat")
            guard let bytes = pyFloat(v) else { throw JinjaError.value("could not convert \(v.typeName) to float") }
            let binary = b[0]?.truthy ?? false
            let base = binary ? 1024.0 : 1000.0
            let prefixes = binary ? ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
                                  : ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
            if bytes == 1 { return "1 Byte" }
            if bytes < base { return .string("\(Int(bytes)) Bytes") }
            var unit = base
            for (i, p) in prefixes.enumerated() {
                unit = pow(base, Double(i + 2))
                if bytes < unit || i == prefixes.count - 1 {
                    return .string(PyFormat.cFormat("%.*f", 1, base * bytes / unit) + " " + p)
                }
            }
            return .string("")
        },
        "groupby": { interp, v, a in
            let b = try a.bind(["attribute", "default", "case_sensitive"], "groupby")
            guard let attr = b[0] else { throw JinjaError.type("groupby() missing 1 required positional argument: 'attribute'") }
            let caseSensitive = b[2]?.truthy ?? false
            let getter = attrGetter(attr, b[1])
            let items = try interp.iterate(v)
            let sorted = try stableSort(items, reverse: false) { x in
                let k = try getter(interp, x)
                return caseSensitive ? k : ignoreCase(k)
            }
            var groups: [(JinjaValue, [JinjaValue])] = []
            for item in sorted {
                var k = try getter(interp, item)
                if !caseSensitive { k = ignoreCase(k) }
                if let last = groups.last, Operators.equals(last.0, k) {
                    groups[groups.count - 1].1.append(item)
                } else {
                    groups.append((k, [item]))
                }
            }
            // A (grouper, list) named tuple; the grouper is the first item's own key.
            return .list(try groups.map { g in .tuple([caseSensitive ? g.0 : try getter(interp, g.1[0]), .list(g.1)]) })
        },
        "indent": { interp, v, a in
            let b = try a.bind(["width", "first", "blank"], "indent")
            let indentation: String
            if let w = b[0], let s = w.stringValue { indentation = s }
            else if let w = b[0] {
                guard let n = w.indexValue else { throw JinjaError.type("can't multiply sequence by non-int of type '\(w.typeName)'") }
                try JinjaError.checkPadding(n, "indent width")
                indentation = String(repeating: " ", count: max(0, n))
            } else { indentation = "    " }
            // jinja2 does `s += "\n"` on the value itself, then s.splitlines().
            switch v {
            case .string, .markup: break
            case .undefined(let u): throw JinjaError.undefined(u)
            case .list: throw JinjaError("AttributeError", "'list' object has no attribute 'splitlines'")
            case .tuple: throw JinjaError.type("can only concatenate tuple (not \"str\") to tuple")
            default: throw JinjaError.type("unsupported operand type(s) for +=: '\(v.typeName)' and 'str'")
            }
            // jinja2: lines = (s + "\n").splitlines(); blank=True joins them with "\n" + indentation,
            // otherwise every line after the first that is not empty gets the indentation. Built in
            // one pass (a String per line made a 500,000-line indent take over a second).
            let a = Array(softStr(v).unicodeScalars) + ["\n"]
            let blank = b[2]?.truthy ?? false
            var out: Scalars = []
            let unit = indentation.scalars
            let unitCount = unit.count
            var i = 0, start = 0, line = 0, produced = 0
            while i < a.count {
                guard StringOps.isLineBreak(a[i]) else { i += 1; continue }
                if line > 0 {
                    out.append("\n")
                    if blank || i > start { out.append(contentsOf: unit); produced += unitCount }
                }
                out.append(contentsOf: a[start..<i])
                produced += i - start + 1
                try interp.checkSize(produced)
                line += 1
                i += a[i] == "\r" && i + 1 < a.count && a[i + 1] == "\n" ? 2 : 1
                start = i
            }
            var rv = String(scalars: out)
            if b[1]?.truthy ?? false { rv = indentation + rv }
            try interp.checkSize(rv.utf8.count)
            if case .markup = v { return .markup(rv) }
            return .string(rv)
        },
        "int": { _, v, a in
            let b = try a.bind(["default", "base"], "int")
            if case .undefined(let u) = v { throw JinjaError.undefined(u) }
            let base = b[1]?.indexValue ?? 10
            if let s = v.stringValue {
                if let i = pyInt(s, base: base) { return .int(i) }
            } else {
                switch v {
                case .int(let i): return .int(i)
                case .bool(let x): return .int(x ? 1 : 0)
                case .float(let d):
                    guard d.isFinite else {
                        throw JinjaError(d.isNaN ? "ValueError" : "OverflowError", "cannot convert float \(pythonFloatRepr(d)) to integer")
                    }
                    guard abs(d) < 9.2e18 else { throw Operators.overflow() }
                    return .int(Int(d.rounded(.towardZero)))
                default: break
                }
            }
            if let d = pyFloat(v), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d.rounded(.towardZero))) }
            return b[0] ?? .int(0)
        },
        "items": { _, v, a in
            _ = try a.bind([], "items")
            switch v {
            case .undefined: return .iterator(JinjaIterator([]))
            case .dict(let d): return .iterator(JinjaIterator(d.pairs.map { .tuple([$0.0, $0.1]) }))
            default: throw JinjaError.type("Can only get item pairs from a mapping.")
            }
        },
        "join": { interp, v, a in
            let b = try a.bind(["d", "attribute"], "join")
            var items = try interp.iterate(v)
            if let attr = b[1], !attr.isNone {
                let getter = attrGetter(attr, nil)
                items = try items.map { try getter(interp, $0) }
            }
            let sep = b[0]?.str ?? ""
            let s = items.map(\.str).joined(separator: sep)
            try interp.checkSize(s.utf8.count)
            return .string(s)
        },
        "list": { interp, v, a in
            _ = try a.bind([], "list")
            return .list(try interp.iterate(v))
        },
        "lower": { _, v, a in
            _ = try a.bind([], "lower")
            return .string(StringOps.lower(softStr(v)))
        },
        "map": { interp, v, a in
            guard v.truthy else { return .iterator(JinjaIterator([])) }
            let items = try interp.iterate(v)
            if a.positional.isEmpty, let attr = a.keyword("attribute") {
                var dflt: JinjaValue? = nil
                for (k, x) in a.keywords where k != "attribute" {
                    if k == "default" { dflt = x; continue }
                    throw JinjaError("FilterArgumentError", "Unexpected keyword argument '\(k)'")
                }
                let getter = attrGetter(attr, dflt)
                return .iterator(JinjaIterator(try items.map { try getter(interp, $0) }))
            }
            guard let name = a.positional.first?.stringValue else {
                throw JinjaError("FilterArgumentError", "map requires a filter argument")
            }
            guard let f = table[name] else { throw JinjaError.runtime("No filter named '\(name)'.") }
            let rest = Arguments(Array(a.positional.dropFirst()), a.keywords)
            return .iterator(JinjaIterator(try items.map { try f(interp, $0, rest) }))
        },
        "max": { interp, v, a in try aggregate(interp, v, a, "max") },
        "min": { interp, v, a in try aggregate(interp, v, a, "min") },
        "reject": { interp, v, a in try selectOrReject(interp, v, a, attr: false, keep: false) },
        "rejectattr": { interp, v, a in try selectOrReject(interp, v, a, attr: true, keep: false) },
        "select": { interp, v, a in try selectOrReject(interp, v, a, attr: false, keep: true) },
        "selectattr": { interp, v, a in try selectOrReject(interp, v, a, attr: true, keep: true) },
        "replace": { interp, v, a in
            let b = try a.bind(["old", "new", "count"], "replace")
            guard let old = b[0], let new = b[1] else { throw JinjaError.type("replace() missing required arguments") }
            var count = -1
            if let c = b[2], !c.isNone {
                guard let n = c.indexValue else { throw JinjaError.type("'\(c.typeName)' object cannot be interpreted as an integer") }
                count = n
            }
            let r = StringOps.replace(v.str, old.str, new.str, count: count)
            try interp.checkSize(r.utf8.count)
            return .string(r)
        },
        "reverse": { interp, v, a in
            _ = try a.bind([], "reverse")
            switch v {
            case .string(let s): return .string(String(scalars: s.scalars.reversed()))
            case .markup(let s): return .markup(String(scalars: s.scalars.reversed()))
            case .list(let x), .tuple(let x): return .iterator(JinjaIterator(x.reversed(), kind: "list_reverseiterator"))
            case .dict(let d): return .iterator(JinjaIterator(d.keys.reversed(), kind: "dict_reversekeyiterator"))
            case .undefined: return .iterator(JinjaIterator([], kind: "reversed"))
            case .iterator(let it): return .list(it.drain().reversed())
            default: throw JinjaError("FilterArgumentError", "argument must be iterable")
            }
        },
        "pprint": { _, v, a in
            _ = try a.bind([], "pprint")
            return .string(v.repr)
        },
        "random": { _, _, _ in throw JinjaError.runtime("the 'random' filter is not supported (its output is not reproducible)") },
        "round": { _, v, a in
            let b = try a.bind(["precision", "method"], "round")
            let precision = b[0]?.indexValue ?? 0
            let method = b[1]?.stringValue ?? "common"
            guard ["common", "ceil", "floor"].contains(method) else {
                throw JinjaError("FilterArgumentError", "method must be common, ceil or floor")
            }
            guard let n = Operators.num(v) else {
                throw JinjaError.type("type \(v.typeName) doesn't define __round__ method")
            }
            if method == "common" {
                if case .int(let i) = n { return .int(i) }
                return .float(pyRound(n.double, precision))
            }
            let scale = pow(10.0, Double(precision))
            let x = n.double * scale
            return .float((method == "ceil" ? x.rounded(.up) : x.rounded(.down)) / scale)
        },
        "safe": { _, v, a in
            _ = try a.bind([], "safe")
            if case .markup = v { return v }
            return .markup(v.str)
        },
        "slice": { interp, v, a in
            let b = try a.bind(["slices", "fill_with"], "slice")
            guard let slices = b[0]?.indexValue, slices > 0 else { throw JinjaError.value("slices must be a positive integer") }
            let seq = try interp.iterate(v)
            let length = seq.count
            let perSlice = length / slices
            let withExtra = length % slices
            var offset = 0
            var out: [JinjaValue] = []
            for i in 0..<slices {
                let start = offset + i * perSlice
                if i < withExtra { offset += 1 }
                let end = offset + (i + 1) * perSlice
                var tmp = Array(seq[min(start, length)..<min(end, length)])
                if let fill = b[1], !fill.isNone, i >= withExtra { tmp.append(fill) }
                out.append(.list(tmp))
            }
            return .iterator(JinjaIterator(out))
        },
        "sort": { interp, v, a in
            let b = try a.bind(["reverse", "case_sensitive", "attribute"], "sort")
            let caseSensitive = b[1]?.truthy ?? false
            // make_multi_attrgetter: "a,b" sorts by a, then b.
            var getters = [attrGetter(.none, nil)]
            if let attr = b[2], let names = attr.stringValue {
                getters = names.split(separator: ",", omittingEmptySubsequences: false).map { attrGetter(.string(String($0)), nil) }
            } else if let attr = b[2] {
                getters = [attrGetter(attr, nil)]
            }
            let items = try interp.iterate(v)
            return .list(try stableSort(items, reverse: b[0]?.truthy ?? false) { x in
                let keys = try getters.map { g -> JinjaValue in
                    let k = try g(interp, x)
                    return caseSensitive ? k : ignoreCase(k)
                }
                return keys.count == 1 ? keys[0] : .list(keys)
            })
        },
        "striptags": { _, v, a in
            _ = try a.bind([], "striptags")
            var text = v.str.scalars
            func strip(_ open: Scalars, _ close: Scalars) {
                var out: Scalars = []
                var i = 0
                while i < text.count {
                    if let s = StringOps.find(text, open, from: i), let e = StringOps.find(text, close, from: s + open.count) {
                        out += text[i..<s]
                        i = e + close.count
                    } else {
                        out += text[i...]
                        break
                    }
                }
                text = out
            }
            strip(Array("<!--".unicodeScalars), Array("-->".unicodeScalars))
            strip(["<"], [">"])
            let joined = try StringOps.split(String(scalars: text), nil).joined(separator: " ")
            return .string(htmlUnescape(joined))
        },
        "string": { _, v, a in
            _ = try a.bind([], "string")
            if v.isString { return v }
            return .string(v.str)
        },
        "sum": { interp, v, a in
            let b = try a.bind(["attribute", "start"], "sum")
            var items = try interp.iterate(v)
            if let attr = b[0], !attr.isNone {
                let getter = attrGetter(attr, nil)
                items = try items.map { try getter(interp, $0) }
            }
            var total = b[1] ?? .int(0)
            for i in items { total = try Operators.binary(.add, total, i, interp) }
            return total
        },
        "title": { _, v, a in
            _ = try a.bind([], "title")
            // jinja2's own title: words start after '-', whitespace, or an opening bracket.
            var out = ""
            var startWord = true
            for u in softStr(v).unicodeScalars {
                let sep = isPySpace(u) || "-({[<".unicodeScalars.contains(u)
                if sep {
                    out.unicodeScalars.append(u)
                    startWord = true
                } else {
                    if startWord { StringOps.appendUppercased(u, to: &out) } else { StringOps.appendLowercased(u, to: &out) }
                    startWord = false
                }
            }
            return .string(out)
        },
        "tojson": { interp, v, a in
            let b = try a.bind(["ensure_ascii", "indent", "separators", "sort_keys"], "tojson")
            let s = try JSONDump.dumps(v, ensureAscii: b[0]?.truthy ?? false, indent: b[1] ?? .none,
                                       separators: b[2] ?? .none, sortKeys: b[3]?.truthy ?? false)
            try interp.checkSize(s.utf8.count)
            return .string(s)
        },
        "trim": { _, v, a in
            let b = try a.bind(["chars"], "trim")
            var chars: String? = nil
            if let c = b[0], !c.isNone {
                guard let s = c.stringValue else { throw JinjaError.type("strip arg must be None or str") }
                chars = s
            }
            let r = StringOps.strip(softStr(v), chars, left: true, right: true)
            if case .markup = v { return .markup(r) }
            return .string(r)
        },
        "truncate": { _, v, a in
            let b = try a.bind(["length", "killwords", "end", "leeway"], "truncate")
            // jinja2 works on the value itself: len(s), then slicing and rsplit.
            switch v {
            case .string, .markup, .undefined: break
            case .list(let x), .tuple(let x):
                if x.count <= (b[0]?.indexValue ?? 255) + (b[3].flatMap { $0.isNone ? nil : $0.indexValue } ?? 5) { return v }
                throw JinjaError("AttributeError", "'\(v.typeName)' object has no attribute 'rsplit'")
            case .dict(let d):
                if d.count <= (b[0]?.indexValue ?? 255) + (b[3].flatMap { $0.isNone ? nil : $0.indexValue } ?? 5) { return v }
                throw JinjaError.type("unhashable type: 'slice'")
            default:
                throw JinjaError.type("object of type '\(v.typeName)' has no len()")
            }
            let s = softStr(v).scalars
            let length = b[0]?.indexValue ?? 255
            let end = (b[2]?.str ?? "...").scalars
            let leeway = b[3].flatMap { $0.isNone ? nil : $0.indexValue } ?? 5
            guard length >= end.count else { throw JinjaError("AssertionError", "expected length >= \(end.count), got \(length)") }
            if s.count <= length + leeway { return .string(String(scalars: s)) }
            let head = Array(s.prefix(length - end.count))
            if b[1]?.truthy ?? false { return .string(String(scalars: head + end)) }
            let cut = try StringOps.rsplit(String(scalars: head), " ", maxsplit: 1)[0]
            return .string(cut + String(scalars: end))
        },
        "unique": { interp, v, a in
            let b = try a.bind(["case_sensitive", "attribute"], "unique")
            let caseSensitive = b[0]?.truthy ?? false
            let getter = attrGetter(b[1] ?? .none, nil)
            var seen: [JinjaValue] = []
            var seenKeys = Set<DictKey>()
            var out: [JinjaValue] = []
            for item in try interp.iterate(v) {
                var k = try getter(interp, item)
                if !caseSensitive { k = ignoreCase(k) }
                let dk = try DictKey(k)
                if seenKeys.insert(dk).inserted {
                    seen.append(k)
                    out.append(item)
                }
            }
            return .iterator(JinjaIterator(out))
        },
        "urlencode": { interp, v, a in
            _ = try a.bind([], "urlencode")
            if let s = v.stringValue { return .string(urlQuote(s, forQuery: false)) }
            let pairs: [JinjaValue]
            if case .dict(let d) = v { pairs = d.pairs.map { .tuple([$0.0, $0.1]) } } else { pairs = try interp.iterate(v) }
            var parts: [String] = []
            for p in pairs {
                let kv = try interp.iterate(p)
                guard kv.count == 2 else { throw JinjaError.value("too many values to unpack (expected 2)") }
                parts.append(urlQuote(kv[0].str, forQuery: true) + "=" + urlQuote(kv[1].str, forQuery: true))
            }
            return .string(parts.joined(separator: "&"))
        },
        "urlize": { _, _, _ in throw JinjaError.runtime("the 'urlize' filter is not supported") },
        "wordwrap": { _, _, _ in throw JinjaError.runtime("the 'wordwrap' filter is not supported") },
        "xmlattr": { _, v, a in
            let b = try a.bind(["autospace"], "xmlattr")
            guard case .dict(let d) = v else { throw JinjaError("AttributeError", "'\(v.typeName)' object has no attribute 'items'") }
            var parts: [String] = []
            for (k, x) in d.pairs where !x.isNone && !x.isUndefined {
                let key = k.str
                if key.unicodeScalars.contains(where: { isPySpace($0) || "/>=".unicodeScalars.contains($0) }) {
                    throw JinjaError.value("Invalid character in attribute name: \(pythonStringRepr(key))")
                }
                parts.append("\(htmlEscape(key))=\"\(htmlEscape(x.str))\"")
            }
            var r = parts.joined(separator: " ")
            if !r.isEmpty && (b[0]?.truthy ?? true) { r = " " + r }
            return .markup(r)
        },
        "upper": { _, v, a in
            _ = try a.bind([], "upper")
            return .string(StringOps.upper(softStr(v)))
        },
        "wordcount": { _, v, a in
            _ = try a.bind([], "wordcount")
            var n = 0
            var inWord = false
            for u in softStr(v).unicodeScalars {
                let w = u.value < 0x80
                    ? u == "_" || (u.value >= 0x30 && u.value <= 0x39) || ((u.value | 0x20) >= 0x61 && (u.value | 0x20) <= 0x7A)
                    : u.properties.isAlphabetic || u.properties.numericType != nil
                if w && !inWord { n += 1 }
                inWord = w
            }
            return .int(n)
        },
    ]

    // MARK: Helpers

    /// jinja2's soft_str: strings stay as they are, anything else goes through str().
    static func softStr(_ v: JinjaValue) -> String { v.str }

    static let length: Filter = { _, v, a in
        _ = try a.bind([], "length")
        switch v {
        case .undefined: return .int(0)
        case .string(let s), .markup(let s): return .int(s.unicodeScalars.count)
        case .list(let x), .tuple(let x): return .int(x.count)
        case .dict(let d): return .int(d.count)
        case .object(let o) where o is JinjaNamespace: throw JinjaError.type("object of type 'Namespace' has no len()")
        default: throw JinjaError.type("object of type '\(v.typeName)' has no len()")
        }
    }

    static let defaultFilter: Filter = { _, v, a in
        let b = try a.bind(["default_value", "boolean"], "default")
        let dflt = b[0] ?? .string("")
        if v.isUndefined || ((b[1]?.truthy ?? false) && !v.truthy) { return dflt }
        return v
    }

    static let escape: Filter = { _, v, a in
        _ = try a.bind([], "escape")
        if case .markup = v { return v }
        return .markup(htmlEscape(v.str))
    }

    static func ignoreCase(_ v: JinjaValue) -> JinjaValue {
        if let s = v.stringValue { return .string(StringOps.lower(s)) }
        return v
    }

    /// jinja2's make_attrgetter: "a.b.0" looks up item by item (`environment.getitem`), an undefined
    /// result replaced by `dflt` when given.
    static func attrGetter(_ attribute: JinjaValue, _ dflt: JinjaValue?) -> (Interpreter, JinjaValue) throws -> JinjaValue {
        var parts: [JinjaValue] = []
        if let s = attribute.stringValue {
            parts = s.split(separator: ".", omittingEmptySubsequences: false).map { p in
                let part = String(p)
                if !part.isEmpty, part.unicodeScalars.allSatisfy({ $0.properties.numericType == .decimal }), let i = Int(part) {
                    return .int(i)
                }
                return .string(part)
            }
        } else if !attribute.isNone {
            parts = [attribute]
        }
        return { interp, item in
            var x = item
            for p in parts {
                x = try interp.getItem(x, p)
                if let d = dflt, !d.isNone, x.isUndefined { x = d }
            }
            return x
        }
    }

    static func selectOrReject(_ interp: Interpreter, _ v: JinjaValue, _ a: Arguments, attr: Bool, keep: Bool) throws -> JinjaValue {
        guard v.truthy else { return .iterator(JinjaIterator([])) }
        var off = 0
        var transform: (Interpreter, JinjaValue) throws -> JinjaValue = { _, x in x }
        if attr {
            guard let name = a.positional.first else {
                throw JinjaError("FilterArgumentError", "Missing parameter for attribute name")
            }
            transform = attrGetter(name, nil)
            off = 1
        }
        var test: ((Interpreter, JinjaValue) throws -> Bool) = { _, x in x.truthy }
        if a.positional.count > off {
            guard let name = a.positional[off].stringValue else { throw JinjaError.type("test name must be a string") }
            guard let t = Tests.table[name] else { throw JinjaError.runtime("No test named '\(name)'.") }
            let rest = Arguments(Array(a.positional.dropFirst(off + 1)), a.keywords)
            test = { interp, x in try t(interp, x, rest) }
        }
        var out: [JinjaValue] = []
        for item in try interp.iterate(v) where try test(interp, try transform(interp, item)) == keep {
            out.append(item)
        }
        return .iterator(JinjaIterator(out))
    }

    static func aggregate(_ interp: Interpreter, _ v: JinjaValue, _ a: Arguments, _ which: String) throws -> JinjaValue {
        let b = try a.bind(["case_sensitive", "attribute"], which)
        let caseSensitive = b[0]?.truthy ?? false
        let getter = attrGetter(b[1] ?? .none, nil)
        let items = try interp.iterate(v)
        guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
        func key(_ x: JinjaValue) throws -> JinjaValue {
            let k = try getter(interp, x)
            return caseSensitive ? k : ignoreCase(k)
        }
        var bestKey = try key(best)
        for item in items.dropFirst() {
            let k = try key(item)
            if which == "max" ? try Operators.less(bestKey, k, ">") : try Operators.less(k, bestKey, "<") {
                best = item
                bestKey = k
            }
        }
        return best
    }

    /// Python's sorted(items, key=key, reverse=reverse): stable, raising on incomparable keys.
    static func stableSort<T>(_ items: [T], reverse: Bool, key: (T) throws -> JinjaValue) throws -> [T] {
        let keys = try items.map(key)
        var idx = Array(items.indices)
        // Merge sort on indices, comparing with Python's <.
        func less(_ i: Int, _ j: Int) throws -> Bool {
            reverse ? try Operators.less(keys[j], keys[i]) : try Operators.less(keys[i], keys[j])
        }
        var tmp = idx
        var width = 1
        while width < idx.count {
            var lo = 0
            while lo < idx.count {
                let mid = min(lo + width, idx.count), hi = min(lo + 2 * width, idx.count)
                var i = lo, j = mid, k = lo
                while i < mid && j < hi {
                    if try less(idx[j], idx[i]) { tmp[k] = idx[j]; j += 1 } else { tmp[k] = idx[i]; i += 1 }
                    k += 1
                }
                while i < mid { tmp[k] = idx[i]; i += 1; k += 1 }
                while j < hi { tmp[k] = idx[j]; j += 1; k += 1 }
                lo = hi
            }
            swap(&idx, &tmp)
            width *= 2
        }
        return idx.map { items[$0] }
    }

    /// Python's float(): numbers, and strings as float() parses them.
    static func pyFloat(_ v: JinjaValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .bool(let b): return b ? 1 : 0
        case .float(let d): return d
        case .string(let s), .markup(let s):
            let t = StringOps.strip(s, nil, left: true, right: true).lowercased()
            switch t {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            case "nan", "+nan", "-nan": return .nan
            default: break
            }
            guard !t.isEmpty, t.unicodeScalars.allSatisfy({ "0123456789+-.e_".unicodeScalars.contains($0) }),
                  !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__") else { return nil }
            return Double(t.replacingUnderscores())
        default: return nil
        }
    }

    /// Python's int(s, base) for a string.
    static func pyInt(_ s: String, base: Int) -> Int? {
        var t = StringOps.strip(s, nil, left: true, right: true).lowercased()
        var negative = false
        if t.hasPrefix("+") || t.hasPrefix("-") { negative = t.hasPrefix("-"); t.removeFirst() }
        var radix = base
        if base == 16 && t.hasPrefix("0x") { t.removeFirst(2) }
        else if base == 8 && t.hasPrefix("0o") { t.removeFirst(2) }
        else if base == 2 && t.hasPrefix("0b") { t.removeFirst(2) }
        else if base == 0 {
            if t.hasPrefix("0x") { radix = 16; t.removeFirst(2) }
            else if t.hasPrefix("0o") { radix = 8; t.removeFirst(2) }
            else if t.hasPrefix("0b") { radix = 2; t.removeFirst(2) }
            else { radix = 10 }
        }
        guard !t.isEmpty, !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__"), (2...36).contains(radix) else { return nil }
        guard let m = Int(t.replacingUnderscores(), radix: radix) else { return nil }
        return negative ? -m : m
    }

    /// Python's round(x, n) for a float: correctly rounded, ties to even.
    static func pyRound(_ x: Double, _ n: Int) -> Double {
        guard x.isFinite else { return x }
        if n >= 0 {
            if n > 300 { return x }
            return Double(PyFormat.cFormat("%.*f", n, x)) ?? x
        }
        let scale = pow(10.0, Double(-n))
        return (x / scale).rounded(.toNearestOrEven) * scale
    }
}

/// Python's urllib.parse.quote (safe "/" outside query strings, where spaces become "+").
func urlQuote(_ s: String, forQuery: Bool) -> String {
    var out = ""
    for byte in s.utf8 {
        let c = Unicode.Scalar(byte)
        if (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || "_.-~".unicodeScalars.contains(c)
            || (!forQuery && c == "/") {
            out.unicodeScalars.append(c)
        } else if forQuery && c == " " {
            out += "+"
        } else {
            out += "%" + hex(UInt32(byte), 2).uppercased()
        }
    }
    return out
}

/// html.unescape for the common entities (named ones of markup, decimal and hex references).
func htmlUnescape(_ s: String) -> String {
    let named: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}"]
    let a = s.scalars
    var out = String.UnicodeScalarView()
    var i = 0
    while i < a.count {
        if a[i] == "&", let semi = a[(i + 1)...].prefix(12).firstIndex(of: ";") {
            let body = String(scalars: a[(i + 1)..<semi])
            var rep: String? = named[body]
            if rep == nil, body.hasPrefix("#") {
                let num = body.dropFirst()
                let v = num.hasPrefix("x") || num.hasPrefix("X") ? UInt32(num.dropFirst(), radix: 16) : UInt32(num)
                rep = v.flatMap { Unicode.Scalar($0) }.map { String($0) }
            }
            if let r = rep {
                out.append(contentsOf: r.unicodeScalars)
                i = semi + 1
                continue
            }
        }
        out.append(a[i])
        i += 1
    }
    return String(out)
}

extension String {
    func replacingUnderscores() -> String { String(scalars: unicodeScalars.filter { $0 != "_" }) }
}
