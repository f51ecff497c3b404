import Foundation
import LoomCore
@testable import LoomTokenizers
import XCTest

/// Small pieces checked on their own.
final class UnitTests: XCTestCase {
    func testLlamaCleanSpaces() {
        let input = "Hello , world ! It 's me . I 'm here ' ok ' and they 're , 've 'd 't 'll"
        let out = String(decoding: CleanUp.llama.apply(Array(input.utf8)), as: UTF8.self)
        // Output of llama.cpp's own clean-up code on the same input.
        XCTAssertEqual(out, "Hello, world! It's me. I'm here'ok'and they're,'ve 'd 't 'll")
        for (a, b) in [("a ' b", "a'b"), (" ' ", "'"), ("x ,y ' 's", "x,y''s"), ("' s 'm", "' s'm"),
                       (" 'll 're 've 'd 't 's 'm", " 'll're've 'd 't's'm"), ("?? ! , . ?", "??!,.?"), (" '", " '")] {
            XCTAssertEqual(String(decoding: CleanUp.llama.apply(Array(a.utf8)), as: UTF8.self), b, a)
        }
        XCTAssertEqual(CleanUp.llama.apply([]), [])
        XCTAssertEqual(CleanUp.llama.apply([0x20]), [0x20])
    }

    func testByteLevelMap() {
        XCTAssertEqual(ByteLevel.byteToScalar[0x20], 0x120)  // "Ġ"
        XCTAssertEqual(ByteLevel.byteToScalar[0x0A], 0x10A)  // "Ċ"
        XCTAssertEqual(ByteLevel.byteToScalar[0x41], 0x41)
        for b in 0..<256 { XCTAssertEqual(ByteLevel.byte(for: ByteLevel.byteToScalar[b]), UInt8(b)) }
        XCTAssertEqual(ByteLevel.decode("Ġhello"), Array(" hello".utf8))
        XCTAssertNil(ByteLevel.decode("a b"))
    }

    func testLlamaUTF8Decoding() {
        // Invalid bytes become U+FFFD one byte at a time; surrogates and overlongs pass (llama.cpp).
        XCTAssertEqual(UTF8Coding.decode([0xE2, 0x82]), [0xFFFD, 0xFFFD])
        XCTAssertEqual(UTF8Coding.decode([0x80, 0x41]), [0xFFFD, 0x41])
        XCTAssertEqual(UTF8Coding.decode([0xED, 0xA0, 0x80]), [0xD800])
        XCTAssertEqual(UTF8Coding.decode([0xC0, 0xAF]), [0x2F])
        XCTAssertEqual(UTF8Coding.decode([0xF4, 0x90, 0x80, 0x80]), [0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD])
        XCTAssertEqual(UTF8Coding.decode(Array("é🚀".utf8)), [0xE9, 0x1F680])
    }

    func testStreamingPrefix() {
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x41, 0xE2, 0x82]), 1)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x41, 0xE2, 0x82, 0xAC]), 4)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0xF0, 0x9F]), 0)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x80]), 1)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([]), 0)
    }

    func testPreTypesCompile() throws {
        for name in ["default", "llama-bpe", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2",
                     "refact", "command-r", "qwen2", "qwen35", "stablelm2", "poro-chat", "bloom", "viking", "smollm", "gpt-4o", "tekken",
                     "chatglm-bpe", "glm4", "exaone", "minerva-7b"] {
            let t = try LlamaPreType.named(name)
            _ = try t.preTokenizer()
        }
        XCTAssertThrowsError(try LlamaPreType.named("no-such-type"))
    }
}
