import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

final class RegexTests: XCTestCase {
    func matches(_ pattern: String, _ text: String, _ flavor: RegexFlavor = .oniguruma) throws -> [String] {
        let re = try Regex(pattern, flavor: flavor)
        let s = UTF8Coding.scalars(text)
        return try re.allMatches(in: s).map { r in
            String(String.UnicodeScalarView(s[r].compactMap(Unicode.Scalar.init)))
        }
    }

    func testBasics() throws {
        XCTAssertEqual(try matches("a+", "caaab aa"), ["aaa", "aa"])
        XCTAssertEqual(try matches("a+?", "aaa"), ["a", "a", "a"])
        XCTAssertEqual(try matches("a{2}", "aaaaa"), ["aa", "aa"])
        XCTAssertEqual(try matches("a{2,3}", "aaaaaaa"), ["aaa", "aaa"])
        XCTAssertEqual(try matches("a{,2}b", "aaab"), ["aab"])
        XCTAssertEqual(try matches("(?:ab)+", "ababxab"), ["abab", "ab"])
        XCTAssertEqual(try matches("ab|a", "abaa"), ["ab", "a", "a"])
        XCTAssertEqual(try matches("a|ab", "ab"), ["a"])
        XCTAssertEqual(try matches("[^a-c]+", "abxyzc"), ["xyz"])
        XCTAssertEqual(try matches("[\\d.]+", "x3.14y"), ["3.14"])
        XCTAssertEqual(try matches("\\s+(?!\\S)", "a   b"), ["  "])
        XCTAssertEqual(try matches("\\w+(?=!)", "hi! yo"), ["hi"])
        XCTAssertEqual(try matches("(?<=x)\\d", "x1y2x3"), ["1", "3"])
        XCTAssertEqual(try matches("(?i:hello)", "HeLLo hello"), ["HeLLo", "hello"])
        XCTAssertEqual(try matches("(?i)'s", "'S 's"), ["'S", "'s"])
        XCTAssertEqual(try matches("\\p{Lu}\\p{Ll}+", "Hello World"), ["Hello", "World"])
        XCTAssertEqual(try matches("\\p{N}+", "x١٢٣y²"), ["١٢٣", "²"])
        XCTAssertEqual(try matches("\\P{L}+", "ab12cd"), ["12"])
        XCTAssertEqual(try matches("^a", "aa\na"), ["a", "a"])
        XCTAssertEqual(try matches("^a", "aa\na", .llamaCpp), ["a"])
        XCTAssertEqual(try matches("\\s+$", "a  \nb  ", .llamaCpp), ["  "])
        XCTAssertEqual(try matches("\\bab\\b", "ab cab ab"), ["ab", "ab"])
        XCTAssertEqual(try matches("a++a", "aaaa"), [])
        XCTAssertEqual(try matches("(?>a+)b", "aaab"), ["aaab"])
        XCTAssertEqual(try matches("[\\p{P}\\$\\+<=>\\^~\\|`]+", "a+b!!c$"), ["+", "!!", "$"])
        XCTAssertEqual(try matches("\\x41\\u0042\\x{43}", "ABC"), ["ABC"])
        // llama.cpp flavour: \p{Lu} is any letter, \d and \w are ASCII.
        XCTAssertEqual(try matches("\\p{Lu}+", "abC", .llamaCpp), ["abC"])
        XCTAssertEqual(try matches("\\d+", "12٣", .llamaCpp), ["12"])
        XCTAssertEqual(try matches("\\d+", "12٣", .oniguruma), ["12٣"])
    }

    func testErrors() {
        for p in ["(a", "a)", "[a", "a{2,1}", "\\1", "(?<name", "*a", "(a*)*"] {
            XCTAssertThrowsError(try Regex(p, flavor: .oniguruma), p)
        }
    }

    /// The fast splitters against the general regex engine on random text.
    func testFastSplittersMatchRegex() throws {
        let alphabet: [UInt32] = Array("aZsStTrReEvVmMlLdD'' \t\n\r0123456789.,!?-_()[]{}$+<=>^~|`\"/\\".unicodeScalars.map(\.value))
            + [0xE9, 0xC5, 0x3B1, 0x416, 0x4E2D, 0x3042, 0x17F, 0x212A, 0x301, 0x20DD, 0x660, 0xB2, 0x2153, 0x2160,
               0xA0, 0x3000, 0x2028, 0x85, 0xB, 0xC, 0x378, 0xE000, 0x1F680, 0x200D, 0xFE0F, 0x2014, 0xAB, 0x20AC, 0xFFFD, 0x1B, 0x0]
        let patterns = [LlamaPreType.gpt2, LlamaPreType.gpt2 + "|\\s+", LlamaPreType.llama3, LlamaPreType.qwen2, LlamaPreType.qwen35,
                        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"]
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for pattern in patterns {
            let fast = try XCTUnwrap(FastSplitter.recognise(pattern), pattern)
            for flavor in [RegexFlavor.llamaCpp, .oniguruma] {
                // llama.cpp never runs "(?i:" patterns as regexes (its splitter lowercases).
                if flavor == .llamaCpp && pattern.hasPrefix("(?i:") { continue }
                let foldCase = flavor == .oniguruma && pattern.hasPrefix("(?i:")
                let re = try Regex(pattern, flavor: flavor)
                for _ in 0..<1000 {
                    let n = Int.random(in: 0..<40, using: &rng)
                    var text = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
                    if flavor == .llamaCpp {
                        // llama.cpp sees non-ASCII white space as U+000B (see PreTokenizer).
                        text = text.map { $0 > 0x7F && CharInfo.isWhitespace($0) ? 0x0B : $0 }
                    }
                    // Regex: matches and gaps.
                    var expected: [Int] = []
                    var prev = 0
                    for m in try re.allMatches(in: text) {
                        if m.lowerBound > prev { expected.append(m.lowerBound) }
                        if !m.isEmpty { expected.append(m.upperBound) }
                        prev = m.upperBound
                    }
                    if prev < text.count { expected.append(text.count) }
                    var got: [Int] = []
                    text.withUnsafeBufferPointer { fast.split($0, 0, text.count, foldCase: foldCase, into: &got) }
                    XCTAssertEqual(got, expected, "\(pattern) \(flavor) on \(text.map { String($0, radix: 16) })")
                    checked += 1
                }
            }
        }
        print("fast splitters vs regex engine: \(checked)/\(checked) random texts checked")
    }
}
