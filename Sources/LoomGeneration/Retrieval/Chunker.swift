import LoomCore

/// How long documents become passages for a retrieval index.
///
/// A document is cut into sentences: a sentence ends after `.`, `!` or `?` (and any closing quotes or
/// brackets right after it) followed by whitespace, and at every line break. Leading and trailing
/// whitespace is not part of a sentence. A sentence longer than `maxTokens` is cut further at
/// whitespace into runs of words of at most `maxTokens` tokens (a single longer word stays whole; the
/// encoder then truncates it). Sentences are then packed in order into passages of at most `maxTokens`
/// tokens (a passage always takes at least one piece). Each next passage starts with the last pieces
/// of the previous one that together hold at most `overlapTokens` tokens — but it always starts
/// after the previous passage's start, so every piece is covered and the process ends.
///
/// Tokens are counted with the encoder's tokenizer, without special tokens, piece by piece (the sum
/// over a passage's pieces). A passage is the document's text from its first piece's start to its
/// last piece's end (whitespace between pieces kept), as a range of UTF-8 bytes of the document.
public struct ChunkingParams: Sendable, Equatable {
    /// Most tokens per passage (before the encoder's special tokens). Default 128.
    public var maxTokens: Int
    /// Tokens a passage shares with the one before it (whole pieces only). Default 32.
    public var overlapTokens: Int

    public init(maxTokens: Int = 128, overlapTokens: Int = 32) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
    }

    public func validate() throws {
        guard maxTokens >= 1, maxTokens <= 1 << 16 else {
            throw LoomError.invalidArgument("chunk max tokens must be in 1...65536, got \(maxTokens)")
        }
        guard overlapTokens >= 0, overlapTokens < maxTokens else {
            throw LoomError.invalidArgument("chunk overlap must be in 0..<max tokens (\(maxTokens)), got \(overlapTokens)")
        }
    }
}

public enum Chunker {
    /// Byte ranges of the sentences of `text` (UTF-8), whitespace trimmed, in order.
    public static func sentences(_ bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        func emit(_ lo: Int, _ hi: Int) {
            var a = lo, b = hi
            while a < b, isSpace(bytes[a]) { a += 1 }
            while b > a, isSpace(bytes[b - 1]) { b -= 1 }
            if a < b { out.append(a..<b) }
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0A || c == 0x0D {                       // line break
                emit(start, i)
                start = i + 1
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "!") || c == UInt8(ascii: "?") {
                var j = i + 1
                while j < bytes.count, isCloser(bytes[j]) { j += 1 }
                if j == bytes.count || isSpace(bytes[j]) {
                    emit(start, j)
                    start = j
                    i = j
                    continue
                }
            }
            i += 1
        }
        emit(start, bytes.count)
        return out
    }

    /// Word runs of `range` (cut at whitespace) of at most `maxTokens` tokens each.
    static func splitLong(_ bytes: [UInt8], _ range: Range<Int>, maxTokens: Int,
                          count: (Range<Int>) throws -> Int) throws -> [(Range<Int>, Int)] {
        var words: [Range<Int>] = []
        var i = range.lowerBound
        while i < range.upperBound {
            while i < range.upperBound, isSpace(bytes[i]) { i += 1 }
            let s = i
            while i < range.upperBound, !isSpace(bytes[i]) { i += 1 }
            if s < i { words.append(s..<i) }
        }
        var out: [(Range<Int>, Int)] = []
        var lo: Int? = nil, hi = 0, total = 0
        for w in words {
            let n = try count(w)
            if let l = lo, total + n > maxTokens {
                out.append((l..<hi, total))
                lo = nil
                total = 0
            }
            if lo == nil { lo = w.lowerBound }
            hi = w.upperBound
            total += n
        }
        if let l = lo { out.append((l..<hi, total)) }
        return out
    }

    /// The passages of `text` as byte ranges of its UTF-8 (see `ChunkingParams`). `countTokens` counts
    /// the tokens of a piece of text.
    public static func chunk(_ text: String, params: ChunkingParams,
                             countTokens: (String) throws -> Int) throws -> [Range<Int>] {
        try params.validate()
        let bytes = Array(text.utf8)
        func count(_ r: Range<Int>) throws -> Int {
            try countTokens(String(decoding: bytes[r], as: UTF8.self))
        }
        var pieces: [(Range<Int>, Int)] = []
        for s in sentences(bytes) {
            let n = try count(s)
            if n <= params.maxTokens {
                pieces.append((s, n))
            } else {
                pieces += try splitLong(bytes, s, maxTokens: params.maxTokens, count: count)
            }
        }
        var passages: [Range<Int>] = []
        var i = 0
        while i < pieces.count {
            var j = i, total = 0
            while j < pieces.count, j == i || total + pieces[j].1 <= params.maxTokens {
                total += pieces[j].1
                j += 1
            }
            passages.append(pieces[i].0.lowerBound..<pieces[j - 1].0.upperBound)
            if j == pieces.count { break }
            var k = j, shared = 0
            while k - 1 > i, shared + pieces[k - 1].1 <= params.overlapTokens {
                shared += pieces[k - 1].1
                k -= 1
            }
            i = k
        }
        return passages
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C }
    private static func isCloser(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: ")") || c == UInt8(ascii: "]")
    }
}
