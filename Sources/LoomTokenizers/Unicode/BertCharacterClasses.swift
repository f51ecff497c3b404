/// Character classes of HF tokenizers' BERT pieces (BertNormalizer, BertPreTokenizer,
/// Punctuation): one flag byte per code point, from the measured tables in
/// BertCharacterClassData (HF's Unicode 8.0 categories) plus White_Space and the CJK blocks.
/// Built once, on first use (Swift's global initialisation is thread-safe), never written after.
enum BertCharacterClasses {
    /// Removed by clean_text.
    static let control: UInt8 = 1
    /// Isolated by BertPreTokenizer / Punctuation.
    static let punctuation: UInt8 = 2
    /// Removed by strip_accents (after NFD).
    static let nonspacingMark: UInt8 = 4
    /// Padded with spaces by handle_chinese_chars (also llama.cpp's WPM `is_chinese_char`).
    static let chinese: UInt8 = 8
    /// White_Space (Rust's `char::is_whitespace`).
    static let whitespace: UInt8 = 16

    /// Code points below this bound are tabulated; above it only a few control ranges (tags,
    /// private use planes) and the variation selectors supplement (marks) have flags.
    static let tableLimit: UInt32 = 0x30000

    static let table: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(tableLimit))
        t.initialize(repeating: 0, count: Int(tableLimit))
        for (ranges, flag) in [(controlRanges, control), (punctuationRanges, punctuation), (markRanges, nonspacingMark)] {
            var k = 0
            while k + 1 < ranges.count {
                let lo = ranges[k], hi = min(ranges[k + 1], tableLimit - 1)
                if lo <= hi { for cp in lo...hi { t[Int(cp)] |= flag } }
                k += 2
            }
        }
        for cp in 0..<tableLimit where isChinese(cp) { t[Int(cp)] |= chinese }
        for cp in whiteSpace { t[Int(cp)] |= whitespace }
        return UnsafePointer(t)
    }()

    @inline(__always)
    static func flags(_ cp: UInt32) -> UInt8 {
        cp < tableLimit ? table[Int(cp)] : flagsAboveTable(cp)
    }

    private static func flagsAboveTable(_ cp: UInt32) -> UInt8 {
        var f: UInt8 = 0
        if contains(controlRanges, cp) { f |= control }
        if contains(markRanges, cp) { f |= nonspacingMark }
        if contains(punctuationRanges, cp) { f |= punctuation }
        return f
    }

    /// The CJK Unified Ideographs blocks as BERT defines them (with its 0x2B920 start, not 0x2B820).
    @inline(__always)
    static func isChinese(_ cp: UInt32) -> Bool {
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
            || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
            || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F)
    }

    /// Unicode's White_Space property (stable since Unicode 6.3).
    private static let whiteSpace: [UInt32] = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002,
                                               0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029,
                                               0x202F, 0x205F, 0x3000]

    // Sorted [first, last] pairs, flattened.
    private static let controlRanges = parseRanges(BertCharacterClassData.control) + [0xD800, 0xDFFF]
    private static let punctuationRanges = parseRanges(BertCharacterClassData.punctuation)
    private static let markRanges = parseRanges(BertCharacterClassData.nonspacingMarks)

    private static func contains(_ ranges: [UInt32], _ cp: UInt32) -> Bool {
        var k = 0
        while k + 1 < ranges.count {
            if cp >= ranges[k] && cp <= ranges[k + 1] { return true }
            k += 2
        }
        return false
    }

    /// "first[-last]" hexadecimal tokens separated by white space → flattened pairs.
    private static func parseRanges(_ text: StaticString) -> [UInt32] {
        var out: [UInt32] = []
        text.withUTF8Buffer { bytes in
            var first: UInt32 = 0, value: UInt32 = 0
            var inToken = false, sawDash = false
            func finish() {
                guard inToken else { return }
                out.append(sawDash ? first : value)
                out.append(value)
                inToken = false
                sawDash = false
                value = 0
            }
            for b in bytes {
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    value = value &<< 4 | UInt32(b - UInt8(ascii: "0"))
                    inToken = true
                case UInt8(ascii: "A")...UInt8(ascii: "F"):
                    value = value &<< 4 | UInt32(b - UInt8(ascii: "A") + 10)
                    inToken = true
                case UInt8(ascii: "-"):
                    first = value
                    value = 0
                    sawDash = true
                default:
                    finish()
                }
            }
            finish()
        }
        return out
    }
}
