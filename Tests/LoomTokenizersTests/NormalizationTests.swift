import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// Unicode normalization against Python 3.11's unicodedata (Unicode 14.0), through the fixture
/// that scripts/gen-unicode-normalization.py writes along with the tables.
final class NormalizationTests: XCTestCase {
    typealias Form = UnicodeNormalization.Form
    static let forms: [(name: String, form: Form)] = [("NFD", .nfd), ("NFC", .nfc), ("NFKD", .nfkd), ("NFKC", .nfkc)]

    private func codePoints(_ hex: String) -> [UInt32] {
        hex.split(separator: " ").compactMap { UInt32($0, radix: 16) }
    }

    private func hex(_ cps: [UInt32]) -> String {
        cps.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    func testAgainstUnicodedata() throws {
        let json = try TestData.json(TestData.fixture("unicode-normalization-cases.json"))
        XCTAssertEqual(json["unicode_version"]?.string, NormalizationData.unicodeVersion)
        var cases = 0
        var mismatches = 0
        for group in ["single_code_points", "strings", "random_strings"] {
            let rows = json[group]?.array ?? []
            XCTAssertFalse(rows.isEmpty, group)
            for row in rows {
                guard let fields = row.array?.compactMap(\.string), fields.count == 5 else {
                    XCTFail("\(group): malformed case \(row)")
                    continue
                }
                cases += 1
                let input = codePoints(fields[0])
                for (k, entry) in Self.forms.enumerated() {
                    // An empty field means "unchanged".
                    let expected = fields[k + 1].isEmpty ? input : codePoints(fields[k + 1])
                    let got = UnicodeNormalization.normalize(input, entry.form)
                    let exact = UnicodeNormalization.isNormalized(input, entry.form)
                    let idempotent = UnicodeNormalization.normalize(expected, entry.form)
                    if got != expected || exact != (expected == input) || idempotent != expected {
                        mismatches += 1
                        if mismatches <= 20 {
                            XCTFail("\(entry.name)(\(fields[0])): got \(hex(got)), expected \(hex(expected)); "
                                    + "isNormalized \(exact); again \(hex(idempotent))")
                        }
                    }
                }
            }
        }
        print("NormalizationTests: \(cases) cases x 4 forms against unicodedata, \(mismatches) mismatches")
        XCTAssertGreaterThan(cases, 6000)
        XCTAssertEqual(mismatches, 0)
    }

    func testASCIIIsUnchanged() {
        let ascii = (0..<0x80).map { UInt32($0) } + Array("The quick brown fox jumps over the lazy dog.\n".unicodeScalars.map(\.value))
        for entry in Self.forms {
            XCTAssertEqual(UnicodeNormalization.normalize(ascii, entry.form), ascii, entry.name)
            XCTAssertTrue(UnicodeNormalization.isNormalized(ascii, entry.form), entry.name)
            XCTAssertEqual(UnicodeNormalization.normalize([], entry.form), [], entry.name)
        }
    }

    func testAlreadyNormalizedTextIsUnchanged() {
        let text = UTF8Coding.scalars("Ünïcödé café, Tiếng Việt, Ελληνικά, Русский, 日本語 カタカナ, 한국어, नमस्ते, 👨‍👩‍👧‍👦 🇯🇵")
        XCTAssertEqual(UnicodeNormalization.normalize(text, .nfc), text)
        XCTAssertEqual(UnicodeNormalization.normalize(text, .nfkc), text)
        XCTAssertTrue(UnicodeNormalization.isNormalized(text, .nfc))
        XCTAssertFalse(UnicodeNormalization.isNormalized(text, .nfd))

        // Random text from many scripts: whatever NFx gives back is stable, and the four forms
        // relate as canonical and compatibility equivalence say they must.
        var rng = SplitMix64(seed: 7)
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x24F, 0x300...0x36F, 0x370...0x52F, 0x591...0x5F4, 0x900...0xDFF,
                                             0xF00...0xFBC, 0x1100...0x11FF, 0x1E00...0x1FFF, 0x2000...0x2BFF, 0x3000...0x33FF,
                                             0xAC00...0xD7A3, 0xF900...0xFFEF, 0x1D100...0x1D7FF, 0x1F300...0x1F9FF, 0x2F800...0x2FA1F]
        for _ in 0..<300 {
            let length = Int(rng.next() % 40)
            let text: [UInt32] = (0..<length).map { _ in
                let r = ranges[Int(rng.next() % UInt64(ranges.count))]
                return r.lowerBound + UInt32(rng.next() % UInt64(r.upperBound - r.lowerBound + 1))
            }
            let nfd = UnicodeNormalization.normalize(text, .nfd)
            let nfc = UnicodeNormalization.normalize(text, .nfc)
            let nfkd = UnicodeNormalization.normalize(text, .nfkd)
            let nfkc = UnicodeNormalization.normalize(text, .nfkc)
            for (normalized, form) in [(nfd, Form.nfd), (nfc, .nfc), (nfkd, .nfkd), (nfkc, .nfkc)] {
                XCTAssertEqual(UnicodeNormalization.normalize(normalized, form), normalized, hex(text))
                XCTAssertTrue(UnicodeNormalization.isNormalized(normalized, form), hex(text))
            }
            XCTAssertEqual(UnicodeNormalization.normalize(nfc, .nfd), nfd, hex(text))
            XCTAssertEqual(UnicodeNormalization.normalize(nfd, .nfc), nfc, hex(text))
            XCTAssertEqual(UnicodeNormalization.normalize(nfc, .nfkd), nfkd, hex(text))
            XCTAssertEqual(UnicodeNormalization.normalize(nfkd, .nfkc), nfkc, hex(text))
            XCTAssertEqual(UnicodeNormalization.normalize(nfkc, .nfc), nfkc, hex(text))
        }
    }

    func testInvalidValuesPassThrough() {
        let invalid: [UInt32] = [0xD800, 0xDFFF, 0x110000, 0x7FFF_FFFF, 0xFFFF_FFFF]
        for entry in Self.forms {
            XCTAssertEqual(UnicodeNormalization.normalize(invalid, entry.form), invalid, entry.name)
            // An invalid value is a starter: it blocks, and marks after it are still ordered.
            XCTAssertEqual(UnicodeNormalization.normalize([0x61, 0xFFFF_FFFF, 0x301], entry.form), [0x61, 0xFFFF_FFFF, 0x301])
            XCTAssertEqual(UnicodeNormalization.normalize([0xFFFF_FFFF, 0x301, 0x316], entry.form), [0xFFFF_FFFF, 0x316, 0x301])
            XCTAssertEqual(UnicodeNormalization.normalize([0x301, 0xFFFF_FFFF], entry.form), [0x301, 0xFFFF_FFFF])
        }
        XCTAssertEqual(UnicodeNormalization.normalize([0x110000, 0x1161, 0x11A8], .nfc), [0x110000, 0x1161, 0x11A8])
    }

    func testAppendingAndStripAccents() {
        var out: [UInt32] = [0x5B]
        let text = UTF8Coding.scalars("Crème brûlée ﬁ")
        text.withUnsafeBufferPointer { UnicodeNormalization.appendNormalized($0, .nfkd, to: &out) }
        XCTAssertEqual(out, [0x5B] + UTF8Coding.scalars("Cre\u{300}me bru\u{302}le\u{301}e fi"))
        // BertNormalizer's strip_accents: NFD, then drop nonspacing marks.
        let stripped = UnicodeNormalization.normalize(text, .nfd).filter { CharInfo.category($0) != GeneralCategory.mn.rawValue }
        XCTAssertEqual(stripped, UTF8Coding.scalars("Creme brulee ﬁ"))
    }

    func testLongCombiningRunsStaySortedAndFast() {
        // 100 000 marks of classes 230 and 220 alternating: a stable sort puts every 220 first
        // (after "x", which composes with neither).
        let marks = (0..<100_000).map { $0 % 2 == 0 ? UInt32(0x301) : UInt32(0x316) }
        for entry in Self.forms {
            let out = UnicodeNormalization.normalize([0x78] + marks, entry.form)
            XCTAssertEqual(out.count, marks.count + 1, entry.name)
            XCTAssertEqual(out.first, 0x78, entry.name)
            XCTAssertTrue(out.dropFirst().prefix(50_000).allSatisfy { $0 == 0x316 }, entry.name)
            XCTAssertTrue(out.dropFirst(50_001).allSatisfy { $0 == 0x301 }, entry.name)
        }
        // Many short segments (decomposed Vietnamese) recompose.
        let nfd = UnicodeNormalization.normalize(UTF8Coding.scalars(String(repeating: "Tiếng Việt ", count: 10_000)), .nfd)
        XCTAssertEqual(UnicodeNormalization.normalize(nfd, .nfc), UTF8Coding.scalars(String(repeating: "Tiếng Việt ", count: 10_000)))
    }
}

/// A small deterministic generator, so that failures reproduce.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1330_11EB
        return z ^ (z >> 31)
    }
}
