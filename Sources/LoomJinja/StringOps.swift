/// Python str operations on code points (Swift's String compares and counts by grapheme and
/// canonical equivalence; Python by code point).
typealias Scalars = [Unicode.Scalar]

extension String {
    var scalars: Scalars { Array(unicodeScalars) }
    init(scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }
}

enum StringOps {
    /// First index of needle in hay[from..<to]. Linear in hay.count + needle.count (Knuth–Morris–Pratt
    /// for longer needles), so a long needle cannot make a template quadratic within its work limit.
    static func find<T: Equatable>(_ hay: [T], _ needle: [T], from: Int, to: Int? = nil) -> Int? {
        let end = min(to ?? hay.count, hay.count)
        let start = max(0, from)
        if needle.isEmpty { return from <= end ? start : nil }
        guard end - needle.count >= start else { return nil }
        if needle.count <= shortNeedle {
            var i = start
            while i <= end - needle.count {
                if hay[i] == needle[0] {
                    var ok = true
                    for k in 1..<needle.count where hay[i + k] != needle[k] { ok = false; break }
                    if ok { return i }
                }
                i += 1
            }
            return nil
        }
        let fail = failureTable(needle)
        var k = 0
        var i = start
        while i < end {
            while k > 0 && hay[i] != needle[k] { k = fail[k - 1] }
            if hay[i] == needle[k] { k += 1 }
            if k == needle.count { return i - k + 1 }
            i += 1
        }
        return nil
    }

    /// Last index of needle in hay[from..<to], also linear: `find` on the reversed sequences.
    static func rfind<T: Equatable>(_ hay: [T], _ needle: [T], from: Int = 0, to: Int? = nil) -> Int? {
        let end = min(to ?? hay.count, hay.count)
        let start = max(0, from)
        guard end - needle.count >= start else { return nil }
        if needle.isEmpty { return end }
        let reversedHay = Array(hay[start..<end].reversed())
        guard let r = find(reversedHay, Array(needle.reversed()), from: 0) else { return nil }
        return end - r - needle.count
    }

    /// Needles up to this length are searched naively (at most this many comparisons per position).
    private static let shortNeedle = 8

    /// KMP: fail[i] = length of the longest proper prefix of needle[0...i] that is also its suffix.
    private static func failureTable<T: Equatable>(_ needle: [T]) -> [Int] {
        var fail = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in 1..<max(needle.count, 1) {
            while k > 0 && needle[i] != needle[k] { k = fail[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            fail[i] = k
        }
        return fail
    }

    static func count(_ hay: Scalars, _ needle: Scalars) -> Int {
        if needle.isEmpty { return hay.count + 1 }
        var n = 0
        var i = 0
        while let j = find(hay, needle, from: i) { n += 1; i = j + needle.count }
        return n
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
        var done = 0
        if old.isEmpty {
            let hay = s.scalars, n = new.scalars
            var out: Scalars = []
            // Python inserts `new` between every character (and at both ends).
            for (i, c) in hay.enumerated() {
                if count < 0 || done < count { out += n; done += 1 }
                out.append(c)
                _ = i
            }
            if count < 0 || done < count { out += n }
            return String(scalars: out)
        }
        // A UTF-8 match of a non-empty needle always starts on a code point boundary, so the bytes
        // give Python's code-point result without converting to scalars (several times faster).
        let h = Array(s.utf8), ob = Array(old.utf8), nb = Array(new.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(h.count)
        var i = 0
        while count < 0 || done < count, let j = find(h, ob, from: i) {
            bytes += h[i..<j]
            bytes += nb
            i = j + ob.count
            done += 1
        }
        bytes += h[i...]
        return String(decoding: bytes, as: UTF8.self)
    }

    static func strip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
        let a = s.scalars
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ u: Unicode.Scalar) -> Bool { set?.contains(u) ?? isPySpace(u) }
        var lo = 0, hi = a.count
        if left { while lo < hi, strippable(a[lo]) { lo += 1 } }
        if right { while hi > lo, strippable(a[hi - 1]) { hi -= 1 } }
        return String(scalars: a[lo..<hi])
    }

    /// str.split(sep, maxsplit).
    static func split(_ s: String, _ sep: String?, maxsplit: Int = -1) throws -> [String] {
        let a = s.scalars
        var out: [String] = []
        guard let sep = sep else {
            var i = 0
            var splits = 0
            while true {
                while i < a.count, isPySpace(a[i]) { i += 1 }
                if i >= a.count { break }
                if maxsplit >= 0 && splits >= maxsplit {
                    out.append(String(scalars: a[i...]))
                    break
                }
                var j = i
                while j < a.count, !isPySpace(a[j]) { j += 1 }
                out.append(String(scalars: a[i..<j]))
                splits += 1
                i = j
            }
            return out
        }
        let p = sep.scalars
        if p.isEmpty { throw JinjaError.value("empty separator") }
        var i = 0
        var splits = 0
        while maxsplit < 0 || splits < maxsplit, let j = find(a, p, from: i) {
            out.append(String(scalars: a[i..<j]))
            i = j + p.count
            splits += 1
        }
        out.append(String(scalars: a[i...]))
        return out
    }

    /// str.rsplit(sep, maxsplit).
    static func rsplit(_ s: String, _ sep: String?, maxsplit: Int = -1) throws -> [String] {
        if maxsplit < 0 { return try split(s, sep) }
        let a = s.scalars
        var out: [String] = []
        guard let sep = sep else {
            var i = a.count
            var splits = 0
            while true {
                while i > 0, isPySpace(a[i - 1]) { i -= 1 }
                if i <= 0 { break }
                if splits >= maxsplit {
                    out.append(String(scalars: a[0..<i]))
                    break
                }
                var j = i
                while j > 0, !isPySpace(a[j - 1]) { j -= 1 }
                out.append(String(scalars: a[j..<i]))
                splits += 1
                i = j
            }
            return out.reversed()
        }
        let p = sep.scalars
        if p.isEmpty { throw JinjaError.value("empty separator") }
        var end = a.count
        var splits = 0
        while splits < maxsplit, let j = rfind(a, p, to: end) {
            out.append(String(scalars: a[(j + p.count)..<end]))
            end = j
            splits += 1
        }
        out.append(String(scalars: a[0..<end]))
        return out.reversed()
    }

    static func isLineBreak(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// str.splitlines(keepends).
    static func splitlines(_ s: String, keepends: Bool = false) -> [String] {
        let a = s.scalars
        var out: [String] = []
        var i = 0
        var start = 0
        while i < a.count {
            if isLineBreak(a[i]) {
                var end = i + 1
                if a[i] == "\r", i + 1 < a.count, a[i + 1] == "\n" { end = i + 2 }
                out.append(String(scalars: a[start..<(keepends ? end : i)]))
                i = end
                start = end
            } else {
                i += 1
            }
        }
        if start < a.count { out.append(String(scalars: a[start...])) }
        return out
    }

    static func isCased(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x80 { return (u.value | 0x20) >= 0x61 && (u.value | 0x20) <= 0x7A }
        return u.properties.isUppercase || u.properties.isLowercase || u.properties.generalCategory == .titlecaseLetter
    }

    static func upper(_ s: String) -> String { s.uppercased() }
    static func lower(_ s: String) -> String { s.lowercased() }

    /// str.title(): a cased character after an uncased one starts a word.
    static func title(_ s: String) -> String {
        var out = ""
        var prevCased = false
        for u in s.unicodeScalars {
            if prevCased { appendLowercased(u, to: &out) } else { appendTitlecased(u, to: &out) }
            prevCased = isCased(u)
        }
        return out
    }

    /// str.capitalize(): first character title-cased, the rest lower-cased.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, u) in s.unicodeScalars.enumerated() {
            if i == 0 { appendTitlecased(u, to: &out) } else { appendLowercased(u, to: &out) }
        }
        return out
    }

    /// One code point lower-cased as Python does (ASCII directly: per-character Strings are slow).
    @inline(__always)
    static func appendLowercased(_ u: Unicode.Scalar, to out: inout String) {
        let v = u.value
        if v < 0x80 { out.unicodeScalars.append(Unicode.Scalar(UInt8(v >= 0x41 && v <= 0x5A ? v + 32 : v))); return }
        out += String(u).lowercased()
    }

    @inline(__always)
    static func appendUppercased(_ u: Unicode.Scalar, to out: inout String) {
        let v = u.value
        if v < 0x80 { out.unicodeScalars.append(Unicode.Scalar(UInt8(v >= 0x61 && v <= 0x7A ? v - 32 : v))); return }
        out += String(u).uppercased()
    }

    @inline(__always)
    static func appendTitlecased(_ u: Unicode.Scalar, to out: inout String) {
        if u.value < 0x80 { appendUppercased(u, to: &out); return }
        out += u.properties.titlecaseMapping
    }

    static func swapcase(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u.properties.isUppercase { out += String(u).lowercased() }
            else if u.properties.isLowercase { out += String(u).uppercased() }
            else { out.unicodeScalars.append(u) }
        }
        return out
    }

    /// str.center / ljust / rjust.
    static func pad(_ s: String, _ width: Int, _ fill: Unicode.Scalar, align: Character) throws -> String {
        try JinjaError.checkPadding(width, "width")
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let total = width - n
        let f = String(fill)
        switch align {
        case "<": return s + String(repeating: f, count: total)
        case ">": return String(repeating: f, count: total) + s
        default:
            // Python's center puts the extra character on the left when the string length is odd.
            let left = total / 2 + (total & width & 1)
            return String(repeating: f, count: left) + s + String(repeating: f, count: total - left)
        }
    }
}
