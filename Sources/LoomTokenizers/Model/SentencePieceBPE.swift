import LoomCore

/// Merging over UTF-8 characters with `<0xXX>` byte fallback, as llama.cpp does it for
/// SentencePiece vocabularies (`llm_tokenizer_spm_session`: the adjacent pair whose joined text is
/// the best-scoring token merges first) and for SentencePiece-style BPE (Gemma 4: ranked merges
/// over raw UTF-8 instead of GPT-2 bytes). Symbols that end up without a token are spelled out as
/// byte tokens.
///
/// Symbols are ids: vocabulary ids, then synthetic ids for single characters and merge strings
/// the vocabulary lacks. One pair table gives (priority, result) for every pair that merges, so
/// the merge loop never builds or hashes strings. Priorities are ranks: lower merges first, the
/// leftmost pair on ties (llama.cpp's queues order both kinds this way; scores become ranks).
///
/// Text is cut into independent segments at boundaries no merge can ever cross: a boundary
/// between characters x and y is crossed only by a merge of a symbol ending in x with one starting
/// with y, and the `junctions` table lists those (x, y). Each segment merges on its own with the
/// same result as the whole run (merges in one segment never see another), which keeps the
/// working set small and lets repeated words come from a per-call cache.
///
/// Immutable once built; `encode` works in per-call scratch.
final class SentencePieceBPE: Sendable {
    /// Ids below this are vocabulary tokens; at or above, synthetic symbols.
    let vocabCount: Int
    /// Symbol text (UTF-8) → symbol id: the vocabulary (last duplicate wins), then synthetic ids.
    let symbols: ByteStringTable
    /// Symbol id of each ASCII character, -1 if none.
    let asciiSymbols: [Int32]
    /// Symbol id of "▁" (spaces become it, so it is looked up constantly), -1 if none.
    let metaSymbol: Int32
    /// (left, right) → rank << 32 | result.
    let merges: PairTable
    /// (last character of a left operand, first character of a right operand) of every merge.
    let junctions: PairTable
    /// Token for each byte of a symbol without a token, -1 to drop the byte.
    let byteTokens: [Int32]

    /// "▁" (U+2581), SentencePiece's visible space.
    static let meta: [UInt8] = [0xE2, 0x96, 0x81]

    private init(vocabCount: Int, builder: SymbolBuilder, merges: PairTable, junctions: PairTable, byteTokens: [Int32]) {
        self.vocabCount = vocabCount
        self.symbols = builder.table
        self.merges = merges
        self.junctions = junctions
        self.byteTokens = byteTokens
        var ascii = [Int32](repeating: -1, count: 128)
        for b in 0..<128 {
            var c = UInt8(b)
            ascii[b] = builder.table.lookup(&c, 1) ?? -1
        }
        asciiSymbols = ascii
        metaSymbol = builder.table.lookup(Self.meta) ?? -1
    }

    /// llama.cpp's SentencePiece merging: a pair merges into the token spelled by its joined
    /// text, the higher that token's score the earlier. Every split of every token into two
    /// possible symbols (tokens, or single characters) is such a pair.
    ///
    /// - Parameters:
    ///   - texts: vocabulary texts by id.
    ///   - scores: one per token.
    ///   - table: text → id (last duplicate wins).
    ///   - byteTokens: the token for each byte of a symbol without a token (-1: dropped).
    static func scored(texts: [String], scores: [Float], table: ByteStringTable, byteTokens: [Int32]) throws -> SentencePieceBPE {
        let n = texts.count
        guard scores.count >= n, byteTokens.count == 256 else { throw LoomError(.internal, "scores or byte tokens missing") }
        // Rank = position among distinct scores, highest first (NaN sorts last).
        let keys = (0..<n).map { scores[$0].isNaN ? -Float.infinity : scores[$0] }
        let order = (0..<n).sorted { keys[$0] > keys[$1] }
        var rankOf = [UInt32](repeating: 0, count: n)
        var rank: UInt32 = 0
        for (k, id) in order.enumerated() {
            if k > 0 && keys[id] != keys[order[k - 1]] { rank += 1 }
            rankOf[id] = rank
        }

        var builder = SymbolBuilder(table: table, vocabCount: n)
        var merges = PairTable(expectedCount: n * 2)
        var junctions = PairTable(expectedCount: n)
        var bounds: [Int] = []
        for id in 0..<n {
            var text = texts[id]
            try text.withUTF8 { u in
                guard u.count > 1, let base = u.baseAddress, table.lookup(base, u.count) == Int32(id) else { return }
                Self.characterBounds(u, into: &bounds)
                let chars = bounds.count - 1
                guard chars > 1 else { return }
                for k in 1..<chars {
                    let cut = bounds[k]
                    let left = UnsafeBufferPointer(rebasing: u[..<cut]), right = UnsafeBufferPointer(rebasing: u[cut...])
                    // Only tokens and single characters are ever symbols here.
                    guard let l = try builder.id(left, create: k == 1), let r = try builder.id(right, create: k == chars - 1) else { continue }
                    merges.insert(l, r, rank: Int32(bitPattern: rankOf[id]), result: Int32(id), keepFirst: true)
                    let x = try builder.id(UnsafeBufferPointer(rebasing: u[bounds[k - 1]..<cut]), create: true) ?? -1
                    let y = try builder.id(UnsafeBufferPointer(rebasing: u[cut..<bounds[k + 1]]), create: true) ?? -1
                    junctions.insert(x, y, rank: 0, result: 0, keepFirst: true)
                }
            }
        }
        return SentencePieceBPE(vocabCount: n, builder: builder, merges: merges, junctions: junctions, byteTokens: byteTokens)
    }

    /// Ranked merges over UTF-8 characters (llama.cpp's BPE session without byte encoding): the
    /// listed pairs, first listing of a pair kept; strings the vocabulary lacks get synthetic ids.
    static func ranked(vocabCount n: Int, merges mergeList: [(String, String)], table: ByteStringTable,
                       byteTokens: [Int32]) throws -> SentencePieceBPE {
        guard byteTokens.count == 256 else { throw LoomError(.internal, "byte tokens missing") }
        guard mergeList.count < Int(Int32.max) else { throw LoomError.format("too many merges") }
        var builder = SymbolBuilder(table: table, vocabCount: n)
        var merges = PairTable(expectedCount: mergeList.count)
        var junctions = PairTable(expectedCount: mergeList.count / 4)
        var joined: [UInt8] = []
        var bounds: [Int] = []
        for (rank, (a, b)) in mergeList.enumerated() where !a.isEmpty && !b.isEmpty {
            joined.removeAll(keepingCapacity: true)
            joined.append(contentsOf: a.utf8)
            let cut = joined.count
            joined.append(contentsOf: b.utf8)
            try joined.withUnsafeBufferPointer { u in
                guard let l = try builder.id(UnsafeBufferPointer(rebasing: u[..<cut]), create: true),
                      let r = try builder.id(UnsafeBufferPointer(rebasing: u[cut...]), create: true),
                      let result = try builder.id(u, create: true) else { return }
                merges.insert(l, r, rank: Int32(rank), result: result, keepFirst: true)
                // The characters either side of the cut (the operands themselves when single).
                Self.characterBounds(UnsafeBufferPointer(rebasing: u[..<cut]), into: &bounds)
                let lastStart = bounds.count >= 2 ? bounds[bounds.count - 2] : 0
                Self.characterBounds(UnsafeBufferPointer(rebasing: u[cut...]), into: &bounds)
                let firstEnd = cut + (bounds.count >= 2 ? bounds[1] : 0)
                let x = lastStart == 0 ? l : try builder.id(UnsafeBufferPointer(rebasing: u[lastStart..<cut]), create: true) ?? -1
                let y = firstEnd == u.count ? r : try builder.id(UnsafeBufferPointer(rebasing: u[cut..<firstEnd]), create: true) ?? -1
                junctions.insert(x, y, rank: 0, result: 0, keepFirst: true)
            }
        }
        return SentencePieceBPE(vocabCount: n, builder: builder, merges: merges, junctions: junctions, byteTokens: byteTokens)
    }

    /// Symbol ids for texts during construction: the vocabulary's, or new synthetic ones.
    private struct SymbolBuilder {
        var table: ByteStringTable
        let vocabCount: Int
        var synthetic = 0

        mutating func id(_ bytes: UnsafeBufferPointer<UInt8>, create: Bool) throws -> Int32? {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
            if let id = table.lookup(base, bytes.count) { return id }
            guard create else { return nil }
            guard vocabCount + synthetic < Int(Int32.max) else { throw LoomError.format("vocabulary too large") }
            let id = Int32(vocabCount + synthetic)
            synthetic += 1
            table.insert(bytes, id)
            return id
        }
    }

    /// UTF-8 length from the lead byte, as llama.cpp's `unicode_len_utf8` (continuation and
    /// invalid bytes count as one).
    @inline(__always)
    static func characterLength(_ lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : (lead < 0xE0 ? 2 : (lead < 0xF0 ? 3 : 4))
    }

    /// Start offsets of the characters of `u`, then its length (lengths clamped at the end).
    static func characterBounds(_ u: UnsafeBufferPointer<UInt8>, into bounds: inout [Int]) {
        bounds.removeAll(keepingCapacity: true)
        var i = 0
        while i < u.count {
            bounds.append(i)
            i += min(characterLength(u[i]), u.count - i)
        }
        bounds.append(u.count)
    }

    /// The vocabulary id of exactly these bytes, if any.
    func tokenID(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard let base = bytes.baseAddress, let id = symbols.lookup(base, bytes.count), id < Int32(vocabCount) else { return nil }
        return id
    }

    // MARK: encoding

    /// Per-call working memory (never shared between threads).
    struct Scratch {
        /// Symbol ids and byte offsets of the current segment (sized for the whole text).
        var ids: [Int32] = []
        var starts: [Int] = []
        var pairs: [UInt64] = []
        var queue = PairMergeQueue()
        /// Segment → ids, made for longer texts only (short ones rarely repeat a segment).
        var cache: BPEModel.WordCache?
    }

    /// Segments merged with the quadratic scan up to this many symbols; longer ones use the heap.
    private static let smallSegment = 48
    /// Texts from this many bytes on cache their segments.
    private static let cachedTextLength = 512

    /// Encodes `text` (UTF-8, spaces already "▁") as one merge run and appends the token ids.
    func encode(_ text: UnsafeBufferPointer<UInt8>, _ s: inout Scratch, into out: inout [Int32]) {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        // A segment has at most one symbol per byte. Left uninitialized: entries are written
        // before they are read, and segments are short, so only the first pages are touched.
        if s.ids.count < n {
            s.ids = [Int32](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
            s.starts = [Int](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
        }
        if n >= Self.cachedTextLength && s.cache == nil { s.cache = BPEModel.WordCache() }
        var ids = s.ids, starts = s.starts
        s.ids = []
        s.starts = []
        defer {
            s.ids = ids
            s.starts = starts
        }
        merges.withView { mergeView in
            junctions.withView { junctionView in
                asciiSymbols.withUnsafeBufferPointer { ascii in
                    ids.withUnsafeMutableBufferPointer { ids in
                        starts.withUnsafeMutableBufferPointer { starts in
                            var count = 0
                            var segmentStart = 0
                            var previous: Int32 = -1
                            var i = 0
                            while i < n {
                                let lead = base[i]
                                let length: Int
                                let id: Int32
                                if lead < 0x80 {
                                    length = 1
                                    id = ascii[Int(lead)]
                                } else {
                                    length = min(Self.characterLength(lead), n - i)
                                    if length == 3 && lead == 0xE2 && base[i + 1] == 0x96 && base[i + 2] == 0x81 {
                                        id = metaSymbol
                                    } else {
                                        id = symbols.lookup(base + i, length) ?? -1
                                    }
                                }
                                if count > 0 && (previous < 0 || id < 0 || junctionView.lookup(previous, id) == UInt64.max) {
                                    flushSegment(base, segmentStart, i, ids, starts, count, &s, &out, mergeView)
                                    count = 0
                                    segmentStart = i
                                }
                                ids[count] = id
                                starts[count] = i
                                count += 1
                                previous = id
                                i += length
                            }
                            flushSegment(base, segmentStart, n, ids, starts, count, &s, &out, mergeView)
                        }
                    }
                }
            }
        }
    }

    /// Merges the `count` symbols of [start, end) in `ids` / `starts` and appends their tokens.
    private func flushSegment(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ ids: UnsafeMutableBufferPointer<Int32>,
                              _ starts: UnsafeMutableBufferPointer<Int>, _ count: Int, _ s: inout Scratch,
                              _ out: inout [Int32], _ view: PairTableView) {
        if count == 0 { return }
        if count == 1 {
            emit(ids[0], base, start, end, &out)
            return
        }
        let length = end - start
        let cacheable = s.cache != nil && length <= BPEModel.WordCache.maxWordLength
        var hash: UInt64 = 0
        if cacheable {
            hash = ByteStringTable.hash(base + start, length)
            if s.cache?.lookup(base + start, length, hash, into: &out) == true { return }
        }
        let mark = out.count
        let final = count <= Self.smallSegment
            ? mergeSmall(ids, starts, count, &s.pairs, view)
            : mergeLarge(ids, starts, count, &s, view)
        for k in 0..<final {
            emit(ids[k], base, starts[k], k + 1 < final ? starts[k + 1] : end, &out)
        }
        if cacheable { s.cache?.insert(base + start, length, hash, out[mark...]) }
    }

    /// A final symbol: its token, or its bytes as byte tokens.
    @inline(__always)
    private func emit(_ id: Int32, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [Int32]) {
        if id >= 0 && id < Int32(vocabCount) {
            out.append(id)
            return
        }
        for i in start..<end {
            let t = byteTokens[Int(base[i])]
            if t >= 0 { out.append(t) }
        }
    }

    @inline(__always)
    private static func pairValue(_ a: Int32, _ b: Int32, _ view: PairTableView) -> UInt64 {
        a >= 0 && b >= 0 ? view.lookup(a, b) : UInt64.max
    }

    /// Repeatedly merges the best pair (lowest rank, leftmost) by scanning: fastest for short
    /// segments. Works in place; returns the number of symbols left.
    private func mergeSmall(_ ids: UnsafeMutableBufferPointer<Int32>, _ starts: UnsafeMutableBufferPointer<Int>, _ count: Int,
                            _ pairArray: inout [UInt64], _ view: PairTableView) -> Int {
        var n = count
        if pairArray.count < n { pairArray = [UInt64](repeating: 0, count: max(n, Self.smallSegment)) }
        return pairArray.withUnsafeMutableBufferPointer { pairs in
            for k in 0..<(n - 1) { pairs[k] = Self.pairValue(ids[k], ids[k + 1], view) }
            while n > 1 {
                // Compare ranks only: equal ranks may have different results (equal scores).
                var best = -1
                var bestRank: UInt64 = 0xFFFF_FFFF
                for k in 0..<(n - 1) where pairs[k] >> 32 < bestRank {
                    best = k
                    bestRank = pairs[k] >> 32
                }
                if best < 0 { break }
                ids[best] = Int32(truncatingIfNeeded: pairs[best] & 0xFFFF_FFFF)
                // Symbol best + 1 goes; so does pair slot best + 1 (slot best is recomputed).
                var j = best + 1
                while j < n - 1 {
                    ids[j] = ids[j + 1]
                    starts[j] = starts[j + 1]
                    j += 1
                }
                j = best + 1
                while j < n - 2 {
                    pairs[j] = pairs[j + 1]
                    j += 1
                }
                n -= 1
                if best > 0 { pairs[best - 1] = Self.pairValue(ids[best - 1], ids[best], view) }
                if best < n - 1 { pairs[best] = Self.pairValue(ids[best], ids[best + 1], view) }
            }
            return n
        }
    }

    /// The heap-based merge (PairMergeQueue) for long segments; byte offsets move with the ids.
    private func mergeLarge(_ ids: UnsafeMutableBufferPointer<Int32>, _ starts: UnsafeMutableBufferPointer<Int>, _ n: Int,
                            _ s: inout Scratch, _ view: PairTableView) -> Int {
        s.queue.merge(ids, count: n, lookup: { Self.pairValue($0, $1, view) }, moved: { starts[$0] = starts[$1] })
    }
}
