/// GPT-2's reversible byte ↔ printable-code-point map: the bytes of visible Latin-1 characters
/// map to themselves, the other 68 (controls, space, soft hyphen, …) to U+0100 … U+0143 in byte
/// order. Byte-level BPE vocabularies spell tokens in these code points ("Ġ" is a space).
enum ByteLevel {
    /// Code point for each byte.
    static let byteToScalar: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                map[b] = UInt32(b)
            } else {
                map[b] = 256 + n
                n += 1
            }
        }
        return map
    }()

    /// Byte for each code point below 0x144, or -1 where there is none.
    static let scalarToByte: [Int16] = {
        var rev = [Int16](repeating: -1, count: 0x144)
        for (b, cp) in byteToScalar.enumerated() { rev[Int(cp)] = Int16(b) }
        return rev
    }()

    /// The UTF-8 bytes of each byte's code point (one or two bytes).
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { UTF8Coding.encode([$0]) }

    @inline(__always)
    static func byte(for cp: UInt32) -> UInt8? {
        guard cp < 0x144 else { return nil }
        let b = scalarToByte[Int(cp)]
        return b < 0 ? nil : UInt8(b)
    }

    /// Maps the code points of a byte-level string back to raw bytes; nil if any code point is
    /// outside the map.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard let b = byte(for: s.value) else { return nil }
            out.append(b)
        }
        return out
    }

    /// Byte-level spelling (as UTF-8) of raw bytes.
    static func encode(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return out
    }
}
