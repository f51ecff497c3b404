import LoomCore

/// HF tokenizers' WordPiece model: greedy longest-match-first over one pre-tokenized word. The
/// first piece is looked up as is, later pieces with `continuing_subword_prefix` in front; a word
/// with a part no token covers, or longer than `max_input_chars_per_word` characters, becomes
/// the unknown token as a whole.
///
/// Prefixed lookups need no string building: tokens that start with the prefix also sit in a
/// second table keyed without it, so "##" + piece is found by looking the piece's bytes up there.
/// Immutable; `encode` allocates nothing. A class, so that the per-word call does not copy (and
/// retain) the tables.
final class WordPieceModel: WordModel, Sendable {
    /// The model's vocabulary, text → id.
    let vocabulary: ByteStringTable
    /// Tokens that start with the prefix, keyed by the rest of their text.
    let continuations: ByteStringTable
    /// Longest key of each table in bytes: longer candidates cannot match, so the search starts there.
    let maxWordStartLength: Int
    let maxContinuationLength: Int
    let unk: Int32?
    let maxInputChars: Int

    /// - Parameters:
    ///   - texts: the vocabulary by id ("" for ids the model does not have).
    ///   - table: text → id of the same vocabulary.
    init(texts: [String], table: ByteStringTable, prefix: String, unk: Int32?, maxInputChars: Int) {
        vocabulary = table
        self.unk = unk
        self.maxInputChars = maxInputChars
        var maxStart = 0
        for t in texts { maxStart = max(maxStart, t.utf8.count) }
        maxWordStartLength = maxStart
        let prefixBytes = Array(prefix.utf8)
        guard !prefixBytes.isEmpty else {
            continuations = table
            maxContinuationLength = maxStart
            return
        }
        var rest = ByteStringTable(expectedCount: texts.count / 4)
        var maxRest = 0
        for (id, t) in texts.enumerated() {
            let bytes = Array(t.utf8)
            guard bytes.count > prefixBytes.count, bytes.starts(with: prefixBytes) else { continue }
            bytes.withUnsafeBufferPointer { rest.insert(UnsafeBufferPointer(rebasing: $0[prefixBytes.count...]), Int32(id)) }
            maxRest = max(maxRest, bytes.count - prefixBytes.count)
        }
        continuations = rest
        maxContinuationLength = maxRest
    }

    struct Scratch {}

    func makeScratch() -> Scratch { Scratch() }

    func encode(_ word: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into out: inout [Int32]) {
        let n = word.count
        guard n > 0, let base = word.baseAddress else { return }
        if n > maxInputChars && Self.characterCount(base, n) > maxInputChars {
            if let unk { out.append(unk) }
            return
        }
        let firstPiece = out.count
        var start = 0
        while start < n {
            let isStart = start == 0
            // Candidates end on character boundaries, longest first.
            var end = min(n, start + (isStart ? maxWordStartLength : maxContinuationLength))
            while end > start && end < n && Self.isContinuationByte(base[end]) { end -= 1 }
            var found: Int32? = nil
            while end > start {
                let id = isStart ? vocabulary.lookup(base, end) : continuations.lookup(base + start, end - start)
                if let id {
                    found = id
                    break
                }
                end -= 1
                while end > start && Self.isContinuationByte(base[end]) { end -= 1 }
            }
            guard let id = found else {
                // HF fails when the vocabulary lacks the unknown token; nothing is emitted here.
                out.removeSubrange(firstPiece...)
                if let unk { out.append(unk) }
                return
            }
            out.append(id)
            start = end
        }
    }

    @inline(__always)
    static func isContinuationByte(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }

    static func characterCount(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        var count = 0
        for i in 0..<n where !isContinuationByte(p[i]) { count += 1 }
        return count
    }
}

extension WordPieceModel {
    /// tokenizer.json's WordPiece: `unk_token` ("[UNK]"), `continuing_subword_prefix` ("##"),
    /// `max_input_chars_per_word` (100).
    convenience init(json model: JSONValue, texts: [String], table: ByteStringTable) throws {
        let maxChars = model["max_input_chars_per_word"]?.int ?? 100
        guard maxChars >= 0 else { throw LoomError.format("tokenizer.json: WordPiece max_input_chars_per_word is negative") }
        let unkText = model["unk_token"]?.string ?? "[UNK]"
        self.init(texts: texts, table: table, prefix: model["continuing_subword_prefix"]?.string ?? "##",
                  unk: table.lookup(unkText), maxInputChars: maxChars)
    }
}
