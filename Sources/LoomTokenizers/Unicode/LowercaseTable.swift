/// Lowercase mappings from the Swift runtime's Unicode data, tabulated once on first use (no
/// String per character on the hot path). The full mapping is Rust's `char::to_lowercase` (HF's
/// Lowercase and BertNormalizer); its first code point is UnicodeData's simple mapping, which
/// llama.cpp's `unicode_tolower` uses (only U+0130 has a longer full mapping: "i" + U+0307).
enum LowercaseTable {
    /// No code point at or above this changes when lowercased.
    static let limit: UInt32 = 0x1F000

    private struct Tables: @unchecked Sendable {
        /// One bit per code point below `limit`: changes when lowercased.
        let changes: UnsafePointer<UInt64>
        let first: [UInt32: UInt32]
        /// The rest of the mappings longer than one code point.
        let rest: [UInt32: [UInt32]]
    }

    private static let tables: Tables = {
        let words = Int(limit) / 64
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bits.initialize(repeating: 0, count: words)
        var first: [UInt32: UInt32] = [:]
        var rest: [UInt32: [UInt32]] = [:]
        for cp in 0x41..<limit {
            guard let s = Unicode.Scalar(cp), s.properties.changesWhenLowercased else { continue }
            let mapped = s.properties.lowercaseMapping.unicodeScalars.map(\.value)
            guard let head = mapped.first, mapped != [cp] else { continue }
            bits[Int(cp >> 6)] |= 1 << UInt64(cp & 63)
            first[cp] = head
            if mapped.count > 1 { rest[cp] = Array(mapped.dropFirst()) }
        }
        return Tables(changes: UnsafePointer(bits), first: first, rest: rest)
    }()

    @inline(__always)
    private static func changes(_ cp: UInt32) -> Bool {
        cp < limit && tables.changes[Int(cp >> 6)] & (1 << UInt64(cp & 63)) != 0
    }

    /// The simple (one code point) lowercase of `cp`.
    @inline(__always)
    static func simple(_ cp: UInt32) -> UInt32 {
        if cp < 0x80 { return cp &- 0x41 < 26 ? cp + 0x20 : cp }
        guard changes(cp) else { return cp }
        return tables.first[cp] ?? cp
    }

    /// Appends the full lowercase of `cp` to `out`.
    @inline(__always)
    static func appendFull(_ cp: UInt32, to out: inout [UInt32]) {
        if cp < 0x80 {
            out.append(cp &- 0x41 < 26 ? cp + 0x20 : cp)
            return
        }
        guard changes(cp) else {
            out.append(cp)
            return
        }
        let t = tables
        out.append(t.first[cp] ?? cp)
        if let more = t.rest[cp] { out.append(contentsOf: more) }
    }
}
