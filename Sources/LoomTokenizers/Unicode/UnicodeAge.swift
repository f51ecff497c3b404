/// The Swift runtime's Unicode data is newer than the references': llama.cpp's tables
/// (unicode-data.cpp) are Unicode 15.1, the Rust regex crate in HF tokenizers 0.23.3 is 16.0.
/// A code point assigned later is unassigned there: no letter, mark, number, punctuation,
/// white space or control flags. One bit per code point and version below `limit`, built once on
/// first use (planes 4–16 hold nothing new).
enum UnicodeAge {
    static let limit: UInt32 = 0x40000

    private struct Bits: @unchecked Sendable {
        let after15_1: UnsafePointer<UInt64>
        let after16_0: UnsafePointer<UInt64>
    }

    private static let bits: Bits = {
        let words = Int(limit) / 64
        let a = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        let b = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        a.initialize(repeating: 0, count: words)
        b.initialize(repeating: 0, count: words)
        let table = CharInfo.table
        let unassigned = GeneralCategory.cn.rawValue
        for cp in UInt32(0x80)..<limit {
            // Only assigned code points have an age.
            guard CharInfo.raw(cp, table) & 0x1F != unassigned, let s = Unicode.Scalar(cp),
                  let age = s.properties.age else { continue }
            let bit: UInt64 = 1 << UInt64(cp & 63)
            if age.major > 15 || (age.major == 15 && age.minor > 1) { a[Int(cp >> 6)] |= bit }
            if age.major > 16 || (age.major == 16 && age.minor > 0) { b[Int(cp >> 6)] |= bit }
        }
        return Bits(after15_1: UnsafePointer(a), after16_0: UnsafePointer(b))
    }()

    /// Assigned after Unicode 15.1 (unknown to llama.cpp's tables).
    @inline(__always)
    static func isAfter15_1(_ cp: UInt32) -> Bool {
        cp >= 0x80 && cp < limit && bits.after15_1[Int(cp >> 6)] & (1 << UInt64(cp & 63)) != 0
    }

    /// Assigned after Unicode 16.0 (unknown to HF tokenizers' Rust regex classes).
    @inline(__always)
    static func isAfter16_0(_ cp: UInt32) -> Bool {
        cp >= 0x80 && cp < limit && bits.after16_0[Int(cp >> 6)] & (1 << UInt64(cp & 63)) != 0
    }
}
