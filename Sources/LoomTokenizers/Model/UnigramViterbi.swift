/// The best segmentation of a text into vocabulary pieces under a unigram language model:
/// SentencePiece's optimized Viterbi, which HF tokenizers and llama.cpp both run the same way.
///
/// Moving one UTF-8 character at a time, every piece that starts at the character (a walk down
/// the trie) offers the best score so far plus its own score to the position where it ends; a
/// higher offer replaces the standing one (ties keep the first: shorter pieces come first). A
/// character that no single piece covers exactly is also offered as an unknown piece with
/// `unknownScore`. The path is then read back from the end.
enum UnigramViterbi {
    /// Token id of unknown-character segments on the path.
    static let unknown: Int32 = -1

    /// Per-call working memory, reused between calls.
    struct Scratch {
        var best: [Double] = []
        var from: [Int] = []
        var token: [Int32] = []
        /// The path in text order: segment k spans [pathEnds[k - 1] (or 0), pathEnds[k]).
        var pathEnds: [Int] = []
        var pathTokens: [Int32] = []
    }

    /// How a position that no piece has reached yet takes an offer.
    enum Start {
        /// HF: any first offer is taken.
        case anyOffer
        /// llama.cpp: positions start at -Double.greatestFiniteMagnitude, so only a higher offer
        /// is taken.
        case lowestFinite
    }

    /// Fills `scratch.pathEnds` / `scratch.pathTokens` with the best path through `text`.
    static func search(_ text: UnsafeBufferPointer<UInt8>, _ trie: PieceTrie.View, unknownScore: Double, start: Start,
                       scratch s: inout Scratch) {
        s.pathEnds.removeAll(keepingCapacity: true)
        s.pathTokens.removeAll(keepingCapacity: true)
        let n = text.count
        guard n > 0 else { return }
        s.best.removeAll(keepingCapacity: true)
        s.from.removeAll(keepingCapacity: true)
        s.token.removeAll(keepingCapacity: true)
        switch start {
        case .anyOffer:
            s.best.append(contentsOf: repeatElement(-Double.infinity, count: n + 1))
            s.from.append(contentsOf: repeatElement(-1, count: n + 1))
        case .lowestFinite:
            s.best.append(contentsOf: repeatElement(-Double.greatestFiniteMagnitude, count: n + 1))
            s.from.append(contentsOf: repeatElement(0, count: n + 1))
        }
        s.token.append(contentsOf: repeatElement(unknown, count: n + 1))
        s.best[0] = 0

        s.best.withUnsafeMutableBufferPointer { best in
            s.from.withUnsafeMutableBufferPointer { from in
                s.token.withUnsafeMutableBufferPointer { token in
                    var pos = 0
                    while pos < n {
                        let charLength = min(utf8Length(text[pos]), n - pos)
                        let base = best[pos]
                        var coversCharacter = false
                        var node = 0
                        var k = pos
                        while k < n {
                            node = trie.child(node, text[k])
                            if node == 0 { break }
                            k += 1
                            let id = trie.nodeToken[node]
                            if id >= 0 {
                                if k - pos == charLength { coversCharacter = true }
                                let offer = base + trie.nodeScore[node]
                                if offer > best[k] || from[k] < 0 {
                                    best[k] = offer
                                    from[k] = pos
                                    token[k] = id
                                }
                            }
                        }
                        if !coversCharacter {
                            let end = pos + charLength
                            let offer = base + unknownScore
                            if offer > best[end] || from[end] < 0 {
                                best[end] = offer
                                from[end] = pos
                                token[end] = unknown
                            }
                        }
                        pos += charLength
                    }
                }
            }
        }

        // Back from the end; every step moves left (a position is only reached from its left).
        var end = n
        while end > 0 {
            let begin = s.from[end]
            guard begin >= 0, begin < end else { break }
            s.pathEnds.append(end)
            s.pathTokens.append(s.token[end])
            end = begin
        }
        s.pathEnds.reverse()
        s.pathTokens.reverse()
    }

    /// Length of the UTF-8 sequence a byte starts (continuation and invalid bytes count as 1),
    /// as llama.cpp's `unicode_len_utf8`.
    @inline(__always)
    static func utf8Length(_ b: UInt8) -> Int {
        switch b >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
