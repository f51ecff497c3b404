import LoomCore

/// HF tokenizers' WordLevel model: each pre-tokenized word is one token, or the unknown token.
/// (Character-level tokenizers are this model over a pre-tokenizer that splits characters.)
/// A class, so that the per-word call does not copy (and retain) the table.
final class WordLevelModel: WordModel, Sendable {
    let vocabulary: ByteStringTable
    let unk: Int32?

    init(vocabulary: ByteStringTable, unk: Int32?) {
        self.vocabulary = vocabulary
        self.unk = unk
    }

    struct Scratch {}

    func makeScratch() -> Scratch { Scratch() }

    func encode(_ word: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into out: inout [Int32]) {
        guard let base = word.baseAddress, word.count > 0 else { return }
        if let id = vocabulary.lookup(base, word.count) {
            out.append(id)
        } else if let unk {
            // HF fails when the vocabulary lacks the unknown token; nothing is emitted here.
            out.append(unk)
        }
    }
}

extension WordLevelModel {
    /// tokenizer.json's WordLevel: `vocab` and `unk_token` ("<unk>").
    convenience init(json model: JSONValue, table: ByteStringTable) {
        self.init(vocabulary: table, unk: table.lookup(model["unk_token"]?.string ?? "<unk>"))
    }
}
