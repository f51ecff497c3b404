import LoomCore

/// Where a text fragment sits in the input, for steps that treat the start of the text
/// differently (SentencePiece's space prefix, HF Metaspace `prepend_scheme: first`).
struct FragmentPosition: Sendable {
    /// Index among the fragments of the input (text and special tokens), from 0.
    var index: Int
    /// The fragment starts at byte 0 of the input.
    var atInputStart: Bool
    /// The fragment follows a special / added token (or starts the input).
    var afterSpecialToken: Bool
}

/// Everything after special-token partitioning: text fragments → ids. Implementations are
/// immutable and keep their working memory per call, so one instance serves many threads.
protocol TextEncoder: Sendable {
    /// Encodes `fragments` of `utf8` in order, appending ids to `out` (token fragments as is).
    func encode(_ utf8: UnsafeRawBufferPointer, _ fragments: [Fragment], parseSpecial: Bool,
                into out: inout [Int32]) throws
}

/// A subword model over one pre-tokenized word: BPE, Unigram, WordPiece, WordLevel.
protocol WordModel: Sendable {
    associatedtype Scratch
    func makeScratch() -> Scratch
    /// Appends the ids of `word` (UTF-8; raw bytes for byte-level BPE) to `out`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into out: inout [Int32])
}

/// HF tokenizers' pipeline (and llama.cpp's BPE path): per text fragment, normalizer → added
/// tokens marked `normalized` (matched in the normalized text, as HF does) → pre-tokenizer → word
/// model. Generic over the model; `@_specialize` keeps the per-word call direct when the encoder is
/// used through `any TextEncoder`.
struct PipelineEncoder<Model: WordModel>: TextEncoder {
    let normalizer: Normalizer
    let preTokenizer: PreTokenizer
    /// Added tokens whose content was normalized, matched after normalization (nil: none).
    let addedInNormalized: SpecialTokenMatcher?
    let model: Model

    struct Scratch {
        var scalars: [UInt32] = []
        var normalizedBytes: [UInt8] = []
        var pieceScalars: [UInt32] = []
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        var model: Model.Scratch
    }

    @_specialize(where Model == BPEModel)
    @_specialize(where Model == UnigramModel)
    @_specialize(where Model == WordPieceModel)
    @_specialize(where Model == WordLevelModel)
    func encode(_ utf8: UnsafeRawBufferPointer, _ fragments: [Fragment], parseSpecial: Bool,
                into out: inout [Int32]) throws {
        var s = Scratch(model: model.makeScratch())
        var afterSpecial = true
        for (k, f) in fragments.enumerated() {
            switch f {
            case .token(let id):
                out.append(id)
                afterSpecial = true
            case .text(let a, let b):
                let position = FragmentPosition(index: k, atInputStart: a == 0, afterSpecialToken: afterSpecial)
                try encodeText(UnsafeRawBufferPointer(rebasing: utf8[a..<b]), position, parseSpecial, &s, &out)
                afterSpecial = false
            }
        }
    }

    private func encodeText(_ raw: UnsafeRawBufferPointer, _ position: FragmentPosition, _ parseSpecial: Bool,
                            _ s: inout Scratch, _ out: inout [Int32]) throws {
        s.scalars.removeAll(keepingCapacity: true)
        UTF8Coding.decode(raw, into: &s.scalars)
        let text = normalizer.isIdentity ? s.scalars : try normalizer.apply(s.scalars)
        guard let added = addedInNormalized else {
            try encodeNormalized(text, position, &s, &out)
            return
        }
        // Added tokens in the normalized text: each remaining piece is a split of its own.
        s.normalizedBytes.removeAll(keepingCapacity: true)
        for c in text { UTF8Coding.append(c, to: &s.normalizedBytes) }
        let bytes = s.normalizedBytes
        try bytes.withUnsafeBytes { nb in
            for f in added.partition(nb, parseSpecial: parseSpecial) {
                switch f {
                case .token(let id):
                    out.append(id)
                case .text(let a, let b):
                    s.pieceScalars.removeAll(keepingCapacity: true)
                    UTF8Coding.decode(UnsafeRawBufferPointer(rebasing: nb[a..<b]), into: &s.pieceScalars)
                    var p = position
                    p.atInputStart = position.atInputStart && a == 0
                    let piece = s.pieceScalars
                    try encodeNormalized(piece, p, &s, &out)
                }
            }
        }
    }

    /// Pre-tokenizes normalized text and runs the model over each word.
    private func encodeNormalized(_ text: [UInt32], _ position: FragmentPosition, _ s: inout Scratch,
                                  _ out: inout [Int32]) throws {
        let pieces = try preTokenizer.run(text, position: position)
        // Re-encode the (possibly rebuilt) text as UTF-8, remembering where each code point starts.
        s.bytes.removeAll(keepingCapacity: true)
        s.offsets.removeAll(keepingCapacity: true)
        s.bytes.reserveCapacity(pieces.text.count + 8)
        s.offsets.reserveCapacity(pieces.text.count + 1)
        for c in pieces.text {
            s.offsets.append(s.bytes.count)
            UTF8Coding.append(c, to: &s.bytes)
        }
        s.offsets.append(s.bytes.count)
        let bounds = pieces.bounds
        let offsets = s.offsets
        try s.bytes.withUnsafeBufferPointer { bytes in
            var k = 0
            while k + 1 < bounds.count {
                let a = offsets[bounds[k]], b = offsets[bounds[k + 1]]
                guard a <= b, b <= bytes.count else { throw LoomError(.internal, "pre-tokenizer produced a bad piece") }
                model.encode(UnsafeBufferPointer(rebasing: bytes[a..<b]), scratch: &s.model, into: &out)
                k += 2
            }
        }
    }
}

extension BPEModel: WordModel {
    func makeScratch() -> Scratch { Scratch() }
}
