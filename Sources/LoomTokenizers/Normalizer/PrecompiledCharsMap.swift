import LoomCore

/// SentencePiece's compiled normalization rules (`precompiled_charsmap`): a little-endian u32
/// byte count, that many bytes of XOR-compressed double-array trie (XCDA) units, then the
/// replacement strings, each ended by NUL. The trie maps UTF-8 input prefixes to the offset of
/// their replacement.
///
/// Two readers use it differently, and both are reproduced:
/// - HF tokenizers' `Precompiled` normalizer (spm_precompiled): grapheme by grapheme, the
///   shortest rule matching the start of the grapheme (graphemes of 6+ bytes, or without a
///   rule, character by character).
/// - llama.cpp's UGM tokenizer: the longest rule matching at the current byte
///   (`longestMatch`, see `LlamaUnigramEncoder`).
///
/// Malformed maps never trap: a walk off the array or a bad replacement offset throws.
struct PrecompiledCharsMap: Sendable {
    /// Where the map comes from; the two readers lay the blob out and check it differently.
    enum Reader {
        /// HF: units are the whole u32s of the trie part; the strings follow them and must be UTF-8.
        case hf
        /// llama.cpp: the strings start right after the declared trie size, which must leave
        /// at least one byte.
        case llama
    }

    let units: [UInt32]
    let strings: [UInt8]
    let reader: Reader
    /// Lead bytes that start some rule: other bytes (most of ASCII) skip the trie walk.
    let startsRule: [Bool]

    init(_ blob: [UInt8], reader: Reader) throws {
        guard blob.count >= 4 else { throw LoomError.format("precompiled_charsmap is shorter than its header") }
        let trieBytes = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        let unitCount = trieBytes / 4
        let stringsStart: Int
        switch reader {
        case .hf:
            guard 4 + unitCount * 4 <= blob.count else { throw LoomError.format("precompiled_charsmap: trie runs past the end") }
            stringsStart = 4 + unitCount * 4
        case .llama:
            guard trieBytes + 4 < blob.count else { throw LoomError.format("precompiled_charsmap: trie runs past the end") }
            stringsStart = 4 + trieBytes
        }
        var units = [UInt32](repeating: 0, count: unitCount)
        for k in 0..<unitCount {
            let p = 4 + 4 * k
            units[k] = UInt32(blob[p]) | UInt32(blob[p + 1]) << 8 | UInt32(blob[p + 2]) << 16 | UInt32(blob[p + 3]) << 24
        }
        let strings = Array(blob[stringsStart...])
        if reader == .hf, !UTF8Coding.isValid(strings) {
            throw LoomError.format("precompiled_charsmap: replacement strings are not UTF-8")
        }
        self.units = units
        self.strings = strings
        self.reader = reader
        var starts = [Bool](repeating: false, count: 256)
        if !units.isEmpty {
            let root = Int(Self.offset(units[0]))
            for b in 1..<256 {
                let node = root ^ b
                if node < units.count, Self.label(units[node]) == UInt32(b) { starts[b] = true }
            }
        }
        startsRule = starts
    }

    /// tokenizer.json's base64 `precompiled_charsmap`.
    init(base64: String) throws {
        guard let blob = Base64.decode(base64) else { throw LoomError.format("precompiled_charsmap is not base64") }
        try self.init(blob, reader: .hf)
    }

    // MARK: unit fields (Kanda's XCDA packing, as SentencePiece writes it)

    @inline(__always) private static func offset(_ u: UInt32) -> UInt32 { (u >> 10) << ((u & (1 << 9)) >> 6) }
    @inline(__always) private static func label(_ u: UInt32) -> UInt32 { u & (1 << 31 | 0xFF) }
    @inline(__always) private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ u: UInt32) -> Int { Int(u & (1 << 31 - 1)) }

    @inline(__always)
    private func unit(_ index: Int, _ u: UnsafeBufferPointer<UInt32>) throws -> UInt32 {
        guard index < u.count else { throw LoomError.format("precompiled_charsmap: trie index \(index) is out of bounds") }
        return u[index]
    }

    /// Walks the trie along `key` (stopping at a NUL byte), calling `body(length, stringOffset)` at
    /// every rule that matches a prefix, shortest first; `body` returns false to stop.
    @inline(__always)
    private func walk(_ key: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Bool) throws {
        guard let first = key.first, startsRule[Int(first)] else { return }
        try units.withUnsafeBufferPointer { u in
            var node = Int(Self.offset(try unit(0, u)))
            for k in 0..<key.count {
                let c = key[k]
                if c == 0 { return }
                node ^= Int(c)
                let x = try unit(node, u)
                if Self.label(x) != UInt32(c) { return }
                node ^= Int(Self.offset(x))
                if Self.hasLeaf(x) {
                    if !body(k + 1, Self.value(try unit(node, u))) { return }
                }
            }
        }
    }

    /// llama.cpp: the longest rule matching the start of `key`: (matched length, string offset).
    func longestMatch(_ key: UnsafeBufferPointer<UInt8>) throws -> (length: Int, offset: Int)? {
        var best: (Int, Int)? = nil
        try walk(key) { length, offset in
            best = (length, offset)
            return true
        }
        return best
    }

    /// spm_precompiled's `transform`: the replacement of the shortest rule matching the start of
    /// `key`, as a range of `strings`.
    func firstMatch(_ key: UnsafeBufferPointer<UInt8>) throws -> Range<Int>? {
        var found: Int? = nil
        try walk(key) { _, offset in
            found = offset
            return false
        }
        guard let found else { return nil }
        return try replacement(at: found)
    }

    /// The replacement string at `offset` (without its NUL). HF: up to a NUL or the end of the
    /// strings, from a character boundary; llama.cpp: inside the strings and NUL-terminated.
    func replacement(at offset: Int) throws -> Range<Int> {
        switch reader {
        case .hf:
            guard offset <= strings.count, offset == strings.count || strings[offset] & 0xC0 != 0x80 else {
                throw LoomError.format("precompiled_charsmap: replacement offset \(offset) is invalid")
            }
            var end = offset
            while end < strings.count && strings[end] != 0 { end += 1 }
            return offset..<end
        case .llama:
            guard offset < strings.count else {
                throw LoomError.format("precompiled_charsmap: replacement offset \(offset) is out of bounds")
            }
            var end = offset
            while end < strings.count && strings[end] != 0 { end += 1 }
            guard end < strings.count else { throw LoomError.format("precompiled_charsmap: unterminated replacement string") }
            return offset..<end
        }
    }

    // MARK: HF's Precompiled normalizer

    /// HF tokenizers' `Precompiled` normalizer over code points.
    func normalize(_ text: [UInt32]) throws -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count + 8)
        var changed = false
        try text.withUnsafeBufferPointer { t in
            try strings.withUnsafeBytes { s in
                try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { key in
                    // One code point: its rule (grapheme and character rules are the same then).
                    func transform(_ c: UInt32) throws {
                        let lead = c < 0x80 ? Int(c) : Self.leadByte(c)
                        if startsRule[lead], let r = try firstMatch(Self.encode(c, key)) {
                            UTF8Coding.decode(UnsafeRawBufferPointer(rebasing: s[r]), into: &out)
                            changed = true
                        } else {
                            out.append(c)
                        }
                    }
                    let n = t.count
                    var i = 0
                    while i < n {
                        // Most code points are graphemes of their own.
                        if i + 1 == n || GraphemeClusters.quickBoundary(t[i], t[i + 1]) {
                            try transform(t[i])
                            i += 1
                            continue
                        }
                        var end = i + 1
                        while end < n && !GraphemeClusters.quickBoundary(t[end - 1], t[end]) { end += 1 }
                        try GraphemeClusters.forEach(UnsafeBufferPointer(rebasing: t[i..<end])) { a, b in
                            var length = 0
                            for k in a..<b { length += Self.utf8Length(t[i + k]) }
                            // A grapheme under 6 bytes takes the first rule matching its start, whole.
                            if b > a + 1 && length < 6 {
                                var filled = 0
                                for k in a..<b {
                                    filled += Self.encode(t[i + k], UnsafeMutableBufferPointer(rebasing: key[filled...])).count
                                }
                                if let r = try firstMatch(UnsafeBufferPointer(rebasing: key[..<filled])) {
                                    UTF8Coding.decode(UnsafeRawBufferPointer(rebasing: s[r]), into: &out)
                                    changed = true
                                    return
                                }
                            }
                            for k in a..<b { try transform(t[i + k]) }
                        }
                        i = end
                    }
                }
            }
        }
        return changed ? out : text
    }

    /// Writes the UTF-8 bytes of `c` (as `UTF8Coding.append`) at the start of `buffer` (4 bytes
    /// or more) and returns them.
    @inline(__always)
    private static func encode(_ c: UInt32, _ buffer: UnsafeMutableBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var n = 0
        if c < 0x80 {
            buffer[0] = UInt8(c); n = 1
        } else if c < 0x800 {
            buffer[0] = UInt8(0xC0 | (c >> 6)); buffer[1] = UInt8(0x80 | (c & 0x3F)); n = 2
        } else if c < 0x10000 {
            buffer[0] = UInt8(0xE0 | (c >> 12)); buffer[1] = UInt8(0x80 | ((c >> 6) & 0x3F)); buffer[2] = UInt8(0x80 | (c & 0x3F)); n = 3
        } else if c <= 0x10FFFF {
            buffer[0] = UInt8(0xF0 | (c >> 18)); buffer[1] = UInt8(0x80 | ((c >> 12) & 0x3F))
            buffer[2] = UInt8(0x80 | ((c >> 6) & 0x3F)); buffer[3] = UInt8(0x80 | (c & 0x3F)); n = 4
        } else {
            buffer[0] = 0xEF; buffer[1] = 0xBF; buffer[2] = 0xBD; n = 3
        }
        return UnsafeBufferPointer(rebasing: buffer[..<n])
    }

    @inline(__always)
    private static func utf8Length(_ c: UInt32) -> Int {
        c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : c <= 0x10FFFF ? 4 : 3
    }

    /// The first UTF-8 byte of a non-ASCII code point (as `UTF8Coding.append` writes it).
    @inline(__always)
    private static func leadByte(_ c: UInt32) -> Int {
        if c < 0x800 { return Int(0xC0 | (c >> 6)) }
        if c < 0x10000 { return Int(0xE0 | (c >> 12)) }
        if c <= 0x10FFFF { return Int(0xF0 | (c >> 18)) }
        return 0xEF
    }
}

/// Standard base64 (RFC 4648, with or without padding).
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            values[Int(c)] = UInt8(i)
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 4 * 3)
        var acc: UInt32 = 0
        var bits = 0
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            let v = values[Int(c)]
            guard v != 0xFF, padding == 0 else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        guard padding <= 2, bits < 6 else { return nil }
        return out
    }
}
