#if canImport(Glibc)
import Glibc
#endif

/// The global functions of the environment: jinja2's (range, dict, namespace, cycler, joiner)
/// and transformers' (raise_exception, strftime_now).
enum Globals {
    /// jinja2.sandbox.MAX_RANGE
    static let maxRange = 100_000

    static func make() -> [String: JinjaValue] {
        var g: [String: JinjaValue] = [:]
        g["range"] = .function(JinjaFunction("range") { interp, a in try range(interp, a) })
        g["dict"] = .function(JinjaFunction("dict") { interp, a in
            var d = JinjaDict()
            if let first = a.positional.first {
                guard a.positional.count == 1 else { throw JinjaError.type("dict expected at most 1 argument, got \(a.positional.count)") }
                if case .dict(let m) = first {
                    d = m
                } else {
                    for item in try interp.iterate(first) {
                        let kv = try interp.iterate(item)
                        guard kv.count == 2 else {
                            throw JinjaError.value("dictionary update sequence element has length \(kv.count); 2 is required")
                        }
                        try d.set(key: kv[0], kv[1])
                    }
                }
            }
            for (k, v) in a.keywords { d.set(k, v) }
            return .dict(d)
        })
        g["namespace"] = .function(JinjaFunction("namespace") { _, a in
            let ns = JinjaNamespace()
            if let first = a.positional.first {
                guard a.positional.count == 1 else { throw JinjaError.type("dict expected at most 1 argument") }
                guard case .dict(let m) = first else { throw JinjaError.type("namespace() argument must be a mapping") }
                ns.attrs = m
            }
            for (k, v) in a.keywords { ns.attrs.set(k, v) }
            return .object(ns)
        })
        g["cycler"] = .function(JinjaFunction("cycler") { _, a in
            guard !a.positional.isEmpty else { throw JinjaError.runtime("at least one item has to be provided") }
            return .object(CyclerObject(a.positional))
        })
        g["joiner"] = .function(JinjaFunction("joiner") { _, a in
            let b = try a.bind(["sep"], "joiner")
            return .object(JoinerObject(b[0]?.str ?? ", "))
        })
        g["raise_exception"] = .function(JinjaFunction("raise_exception") { _, a in
            let b = try a.bind(["message"], "raise_exception")
            guard let m = b[0] else { throw JinjaError.type("raise_exception() missing 1 required positional argument: 'message'") }
            throw JinjaError("TemplateError", m.isNone ? "None" : m.str)
        })
        g["strftime_now"] = .function(JinjaFunction("strftime_now") { interp, a in
            let b = try a.bind(["format"], "strftime_now")
            guard let f = b[0]?.stringValue else {
                throw JinjaError.type("strftime() argument 1 must be str, not \(b[0]?.typeName ?? "nothing")")
            }
            return .string(strftime(f, interp.now ?? localNow()))
        })
        return g
    }

    private static func range(_ interp: Interpreter, _ a: Arguments) throws -> JinjaValue {
        guard a.keywords.isEmpty else { throw JinjaError.type("range() takes no keyword arguments") }
        var ints: [Int] = []
        for v in a.positional {
            guard let i = v.indexValue else {
                throw JinjaError.type("'\(v.typeName)' object cannot be interpreted as an integer")
            }
            ints.append(i)
        }
        var start = 0, stop = 0, step = 1
        switch ints.count {
        case 1: stop = ints[0]
        case 2: start = ints[0]; stop = ints[1]
        case 3: start = ints[0]; stop = ints[1]; step = ints[2]
        default: throw JinjaError.type("range expected 1 to 3 arguments, got \(ints.count)")
        }
        if step == 0 { throw JinjaError.value("range() arg 3 must not be zero") }
        let count: Int
        if step > 0 { count = start < stop ? (stop - start - 1) / step + 1 : 0 }
        else { count = start > stop ? (start - stop - 1) / (-step) + 1 : 0 }
        if count > maxRange {
            throw JinjaError("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        try interp.checkSize(count)
        return .list((0..<count).map { .int(start + $0 * step) })
    }

    // MARK: Time

    static func localNow() -> JinjaDateTime {
        var t = time(nil)
        var tmv = tm()
        localtime_r(&t, &tmv)
        return JinjaDateTime(year: Int(tmv.tm_year) + 1900, month: Int(tmv.tm_mon) + 1, day: Int(tmv.tm_mday),
                             hour: Int(tmv.tm_hour), minute: Int(tmv.tm_min), second: Int(tmv.tm_sec))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// datetime.strftime for a naive datetime: %f, %z, %Z as Python handles them, the rest by the C
    /// library (in the C locale, as Python runs it unless the program sets a locale).
    static func strftime(_ format: String, _ t: JinjaDateTime) -> String {
        var fmt = ""
        var it = format.unicodeScalars.makeIterator()
        while let c = it.next() {
            guard c == "%" else { fmt.unicodeScalars.append(c); continue }
            guard let n = it.next() else { fmt += "%"; break }
            switch n {
            case "f": fmt += "000000"
            case "z", "Z": break
            default: fmt += "%" + String(n)
            }
        }
        let days = daysFromCivil(t.year, t.month, t.day)
        var tmv = tm()
        tmv.tm_year = Int32(t.year - 1900)
        tmv.tm_mon = Int32(t.month - 1)
        tmv.tm_mday = Int32(t.day)
        tmv.tm_hour = Int32(t.hour)
        tmv.tm_min = Int32(t.minute)
        tmv.tm_sec = Int32(t.second)
        tmv.tm_wday = Int32(((days % 7) + 11) % 7)   // 1970-01-01 was a Thursday (4)
        tmv.tm_yday = Int32(days - daysFromCivil(t.year, 1, 1))
        tmv.tm_isdst = -1
        // C (like Python) stops the format at a NUL. No conversion of the C locale writes more than
        // 64 bytes, so one buffer of that bound suffices and 0 means empty output (growing a buffer
        // up to 1 MB on every call made a loop over strftime_now('\0') take seconds; fuzz target).
        let format = fmt.prefix { $0 != "\0" }
        if format.isEmpty { return "" }
        let size = min(format.utf8.count * 64 + 64, JinjaError.maxPadding)
        var buf = [CChar](repeating: 0, count: size)
        let n = Glibc.strftime(&buf, size, String(format), &tmv)
        return n > 0 ? String(cString: buf) : ""
    }
}

/// cycler(): `.next()`, `.current`, `.reset()`.
final class CyclerObject: JinjaObject {
    let items: [JinjaValue]
    var pos = 0

    init(_ items: [JinjaValue]) { self.items = items }

    override var typeName: String { "Cycler" }

    override func attribute(_ name: String) -> JinjaValue? {
        switch name {
        case "current": return items[pos]
        case "next":
            return .function(JinjaFunction("next") { _, _ in
                let v = self.items[self.pos]
                self.pos = (self.pos + 1) % self.items.count
                return v
            })
        case "reset":
            return .function(JinjaFunction("reset") { _, _ in
                self.pos = 0
                return .none
            })
        case "items": return .list(items)
        default: return nil
        }
    }
}

/// joiner(sep): returns "" the first time it is called, then sep.
final class JoinerObject: JinjaObject {
    let sep: String
    var used = false

    init(_ sep: String) { self.sep = sep }

    override var typeName: String { "Joiner" }

    func call() -> String {
        if !used { used = true; return "" }
        return sep
    }
}
