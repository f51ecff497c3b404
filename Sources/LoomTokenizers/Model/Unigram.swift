import LoomCore

/// HF tokenizers' `Unigram` model over one pre-tokenized word: the Viterbi best segmentation
/// (`UnigramViterbi`) over a trie of all vocabulary pieces, with HF's handling of what the
/// vocabulary does not cover:
/// - a character no single piece covers scores min(score) − 10 and is unknown;
/// - consecutive unknown segments (and matches of the unk piece itself) fuse into one string,
///   which is looked up as a piece; if it is none, it becomes its `<0xXX>` byte tokens (with
///   byte_fallback, when all of them exist) or the unk token. Without an unk token HF fails on
///   such text; here it is dropped.
/// A class: the pipeline hands the model to every word, and a reference costs one retain where a
/// struct of tables would cost one per table.
final class UnigramModel: WordModel, Sendable {
    let trie: PieceTrie
    /// Piece → id (the last of duplicate pieces, as HF's map).
    let pieces: ByteStringTable
    let unk: Int32?
    let unknownScore: Double
    let byteFallback: Bool
    /// `<0xXX>` piece ids by byte, -1 where missing.
    let byteIDs: [Int32]

    typealias Scratch = UnigramViterbi.Scratch

    func makeScratch() -> Scratch { Scratch() }

    /// - Parameter vocab: pieces with scores, the index being the id.
    init(vocab: [(piece: String, score: Double)], unk: Int32?, byteFallback: Bool) throws {
        if let unk {
            guard !vocab.isEmpty else { throw LoomError.format("Unigram: the vocabulary is empty but an unk_id is set") }
            guard unk >= 0, Int(unk) < vocab.count else { throw LoomError.format("Unigram: unk_id \(unk) is outside the vocabulary") }
        }
        var table = ByteStringTable(expectedCount: vocab.count)
        var entries: [PieceTrie.Entry] = []
        entries.reserveCapacity(vocab.count)
        var minScore = Double.infinity
        for (i, v) in vocab.enumerated() {
            table.insert(v.piece, Int32(i))
            if v.score < minScore { minScore = v.score }
        }
        // The trie's id for a piece is the map's (last duplicate), with that entry's score.
        for (i, v) in vocab.enumerated() where table.lookup(v.piece) == Int32(i) {
            entries.append(.init(bytes: Array(v.piece.utf8), id: Int32(i), score: v.score))
        }
        trie = try PieceTrie(entries)
        pieces = table
        self.unk = unk
        unknownScore = minScore - 10
        self.byteFallback = byteFallback
        let hex = Array("0123456789ABCDEF".utf8)
        byteIDs = (0..<256).map { b in
            table.lookup([0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]) ?? -1  // "<0xXX>"
        }
    }

    /// tokenizer.json's Unigram model: `vocab` as [[piece, score], ...], `unk_id`, `byte_fallback`.
    convenience init(json model: JSONValue) throws {
        guard let list = model["vocab"]?.array else { throw LoomError.format("tokenizer.json: Unigram model without a vocab list") }
        guard list.count < Tokenizer.maxTokenID else { throw LoomError.format("tokenizer.json: Unigram vocabulary too large") }
        var vocab: [(piece: String, score: Double)] = []
        vocab.reserveCapacity(list.count)
        for (i, entry) in list.enumerated() {
            guard let pair = entry.array, pair.count == 2, let piece = pair[0].string, let score = pair[1].double else {
                throw LoomError.format("tokenizer.json: Unigram vocab entry \(i) is not [piece, score]")
            }
            vocab.append((piece, score))
        }
        var unk: Int32? = nil
        if let u = model["unk_id"], !u.isNull {
            guard let id = u.int, id >= 0, id < Tokenizer.maxTokenID else { throw LoomError.format("tokenizer.json: invalid Unigram unk_id") }
            unk = Int32(id)
        }
        try self.init(vocab: vocab, unk: unk, byteFallback: model["byte_fallback"]?.bool ?? false)
    }

    func encode(_ word: UnsafeBufferPointer<UInt8>, scratch s: inout Scratch, into out: inout [Int32]) {
        trie.withView { view in
            UnigramViterbi.search(word, view, unknownScore: unknownScore, start: .anyOffer, scratch: &s)
        }
        let count = s.pathEnds.count
        var k = 0
        var begin = 0
        while k < count {
            let token = s.pathTokens[k]
            if token != UnigramViterbi.unknown && token != unk {
                out.append(token)
                begin = s.pathEnds[k]
                k += 1
                continue
            }
            // A run of unknown segments becomes one string.
            var end = s.pathEnds[k]
            k += 1
            while k < count && (s.pathTokens[k] == UnigramViterbi.unknown || s.pathTokens[k] == unk) {
                end = s.pathEnds[k]
                k += 1
            }
            appendUnknown(UnsafeBufferPointer(rebasing: word[begin..<end]), &out)
            begin = end
        }
    }

    private func appendUnknown(_ text: UnsafeBufferPointer<UInt8>, _ out: inout [Int32]) {
        if let base = text.baseAddress, let id = pieces.lookup(base, text.count) {
            out.append(id)
            return
        }
        if byteFallback && text.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
            for b in text { out.append(byteIDs[Int(b)]) }
            return
        }
        if let unk { out.append(unk) }
    }
}
