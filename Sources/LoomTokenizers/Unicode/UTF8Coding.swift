/// UTF-8 to code points and back, the way llama.cpp's `unicode_cpts_from_utf8` does it: a lead
/// byte followed by the right number of continuation bytes decodes (overlong forms and surrogate
/// code points included, so their bytes survive a round trip); anything else yields U+FFFD and
/// advances one byte. Code points above U+10FFFF (5-to-8-bit payloads of F5–F7 leads), which
/// llama.cpp rejects later with an exception, also become U+FFFD here. Never traps.
enum UTF8Coding {
    static let replacement: UInt32 = 0xFFFD

    /// Decodes `bytes` and appends the code points to `out`.
    static func decode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32]) {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        out.reserveCapacity(out.count + n)
        var i = 0
        while i < n {
            let b0 = base[i]
            if b0 < 0x80 {
                // ASCII run.
                out.append(UInt32(b0))
                i += 1
                continue
            }
            if b0 & 0x40 == 0 { out.append(replacement); i += 1; continue }
            if b0 & 0x20 == 0 {
                if i + 1 < n, base[i + 1] & 0xC0 == 0x80 {
                    out.append(UInt32(b0 & 0x1F) << 6 | UInt32(base[i + 1] & 0x3F))
                    i += 2
                } else { out.append(replacement); i += 1 }
                continue
            }
            if b0 & 0x10 == 0 {
                if i + 2 < n, base[i + 1] & 0xC0 == 0x80, base[i + 2] & 0xC0 == 0x80 {
                    out.append(UInt32(b0 & 0x0F) << 12 | UInt32(base[i + 1] & 0x3F) << 6 | UInt32(base[i + 2] & 0x3F))
                    i += 3
                } else { out.append(replacement); i += 1 }
                continue
            }
            if b0 & 0x08 == 0 {
                if i + 3 < n, base[i + 1] & 0xC0 == 0x80, base[i + 2] & 0xC0 == 0x80, base[i + 3] & 0xC0 == 0x80 {
                    let cp = UInt32(b0 & 0x07) << 18 | UInt32(base[i + 1] & 0x3F) << 12
                        | UInt32(base[i + 2] & 0x3F) << 6 | UInt32(base[i + 3] & 0x3F)
                    if cp <= 0x10FFFF {
                        out.append(cp)
                        i += 4
                    } else { out.append(replacement); i += 1 }
                } else { out.append(replacement); i += 1 }
                continue
            }
            out.append(replacement)
            i += 1
        }
    }

    static func decode(_ bytes: [UInt8]) -> [UInt32] {
        var out: [UInt32] = []
        bytes.withUnsafeBytes { decode($0, into: &out) }
        return out
    }

    /// Appends the UTF-8 bytes of `cp` (surrogates are encoded as three bytes, like llama.cpp;
    /// values above U+10FFFF become U+FFFD).
    @inline(__always)
    static func append(_ cp: UInt32, to out: inout [UInt8]) {
        if cp < 0x80 {
            out.append(UInt8(cp))
        } else if cp < 0x800 {
            out.append(UInt8(0xC0 | (cp >> 6)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else if cp < 0x10000 {
            out.append(UInt8(0xE0 | (cp >> 12)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else if cp <= 0x10FFFF {
            out.append(UInt8(0xF0 | (cp >> 18)))
            out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else {
            out.append(0xEF); out.append(0xBF); out.append(0xBD)
        }
    }

    static func encode(_ cps: some Sequence<UInt32>) -> [UInt8] {
        var out: [UInt8] = []
        for c in cps { append(c, to: &out) }
        return out
    }

    /// Strict UTF-8 validity (no surrogates, no overlongs).
    static func isValid(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }

    /// The code points of a Swift string.
    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
}
