import LoomCore

/// Byte-pair encoding over symbol ids. Symbols are vocabulary ids, plus "synthetic" ids (at and
/// above `vocabCount`) for strings that merges produce or consume but the vocabulary lacks, so
/// that merging follows the merge list exactly even then (llama.cpp merges by text, not by id).
///
/// Merge order: lowest rank first, leftmost on ties (llama.cpp's and HF's priority queues agree).
/// Immutable once built; `encode` takes per-call scratch space.
final class BPEModel: @unchecked Sendable {
    /// What to do with a final symbol that is not a vocabulary token.
    enum Fallback {
        /// llama.cpp: look each byte of the symbol's text up as a one-byte token; drop misses.
        case llamaBytes
        /// HF: unknown characters become `unk` (merged runs when `fuseUnk`), or `<0xXX>` byte
        /// tokens with `byteFallback`, or are dropped.
        case hf(unk: Int32?, fuseUnk: Bool, byteFallback: Bool)
    }

    let vocabCount: Int
    /// Text (as stored in the vocabulary, UTF-8) → id, vocabulary and synthetic.
    let textTable: ByteStringTable
    /// Texts of synthetic symbols, indexed by id - vocabCount.
    let syntheticTexts: [[UInt8]]
    let merges: PairTable
    /// Byte-level mode: words are raw bytes and each byte starts as the symbol of its GPT-2 code
    /// point. Otherwise words are UTF-8 and each character starts as its own symbol.
    let byteLevel: Bool
    /// Symbol id of each byte's code point (byte-level mode), -1 if none.
    let byteSymbols: [Int32]
    /// Raw bytes → vocabulary id, for `ignoreMerges` (byte-level) lookups.
    let rawTable: ByteStringTable
    let ignoreMerges: Bool
    let fallback: Fallback
    /// `<0xXX>` token ids for HF byte fallback, -1 where missing.
    let byteFallbackIDs: [Int32]
    /// Character-level mode: (last character of a merge's left part, first character of its right
    /// part) for every merge. Between neighbours that are no such pair no merge can ever apply,
    /// so long words (SentencePiece-style pipelines have no pre-tokenizer) are merged in
    /// independent segments with the same result.
    let junctions: Set<UInt64>
    /// ASCII characters that are tokens by themselves.
    let asciiKnown: [Bool]

    /// - Parameters:
    ///   - tokens: vocabulary texts by id (empty strings for holes).
    ///   - merges: merge pairs in rank order.
    ///   - textToID: vocabulary lookup (last duplicate wins, as both llama.cpp and HF do).
    ///   - keepFirstMerge: for a pair listed twice, keep the first rank (llama.cpp) or the last (HF).
    ///   - mergesNeedVocabResult: drop merges whose result is not in the vocabulary (HF), instead of
    ///     giving the result a synthetic id (llama.cpp).
    init(tokens: [String], textToID: ByteStringTable, merges mergeList: [(String, String)], byteLevel: Bool,
         ignoreMerges: Bool, fallback: Fallback, keepFirstMerge: Bool, mergesNeedVocabResult: Bool) throws {
        vocabCount = tokens.count
        self.byteLevel = byteLevel
        self.ignoreMerges = ignoreMerges
        self.fallback = fallback
        var table = textToID
        var synthetic: [[UInt8]] = []
        let vocabCount = tokens.count

        func idFor(_ bytes: UnsafeBufferPointer<UInt8>, create: Bool) -> Int32? {
            if let base = bytes.baseAddress, let id = table.lookup(base, bytes.count) { return id }
            if bytes.count == 0, let id = table.lookup([]) { return id }
            guard create else { return nil }
            let id = Int32(vocabCount + synthetic.count)
            synthetic.append(Array(bytes))
            table.insert(bytes, id)
            return id
        }

        // Initial symbols of byte-level words.
        var byteSyms = [Int32](repeating: -1, count: 256)
        if byteLevel {
            for b in 0..<256 {
                byteSyms[b] = ByteLevel.byteToUTF8[b].withUnsafeBufferPointer { idFor($0, create: !mergesNeedVocabResult) } ?? -1
            }
        }

        // Merges: "a" + "b" in one buffer, looked up by pointer. In llama.cpp mode every merge
        // result gets an id first, so that merges listed before the merge that creates their
        // operands still resolve.
        var buf: [UInt8] = []
        buf.reserveCapacity(256)
        func fill(_ a: String, _ b: String) -> Int {
            buf.removeAll(keepingCapacity: true)
            buf.append(contentsOf: a.utf8)
            let la = buf.count
            buf.append(contentsOf: b.utf8)
            return la
        }
        if !mergesNeedVocabResult {
            for (a, b) in mergeList {
                _ = fill(a, b)
                _ = buf.withUnsafeBufferPointer { idFor($0, create: true) }
            }
        }
        var pairs = PairTable(expectedCount: mergeList.count)
        guard mergeList.count < Int(Int32.max) else { throw LoomError.format("too many merges") }
        var junctions = Set<UInt64>()
        for (rank, (a, b)) in mergeList.enumerated() {
            if !byteLevel, let x = a.unicodeScalars.last, let y = b.unicodeScalars.first {
                junctions.insert(UInt64(x.value) << 32 | UInt64(y.value))
            }
            let la = fill(a, b)
            let ids: (Int32, Int32, Int32)? = buf.withUnsafeBufferPointer { p in
                guard let ia = idFor(UnsafeBufferPointer(rebasing: p[..<la]), create: false),
                      let ib = idFor(UnsafeBufferPointer(rebasing: p[la...]), create: false),
                      let ir = idFor(p, create: false) else { return nil }
                return (ia, ib, ir)
            }
            guard let (ia, ib, ir) = ids else { continue }
            if mergesNeedVocabResult && ir >= Int32(vocabCount) { continue }
            pairs.insert(ia, ib, rank: Int32(rank), result: ir, keepFirst: keepFirstMerge)
        }
        guard vocabCount + synthetic.count < Int(Int32.max) else { throw LoomError.format("vocabulary too large") }
        self.merges = pairs
        self.junctions = junctions
        self.textTable = table
        self.syntheticTexts = synthetic
        self.byteSymbols = byteSyms

        // Raw-byte lookup of byte-level tokens (only needed for ignore_merges).
        var raw = ByteStringTable(expectedCount: byteLevel && ignoreMerges ? tokens.count : 0)
        if byteLevel && ignoreMerges {
            var bytes: [UInt8] = []
            for (id, t) in tokens.enumerated() where !t.isEmpty {
                bytes.removeAll(keepingCapacity: true)
                var ok = true
                for s in t.unicodeScalars {
                    guard let b = ByteLevel.byte(for: s.value) else { ok = false; break }
                    bytes.append(b)
                }
                if ok && textToID.lookup(t) == Int32(id) {
                    bytes.withUnsafeBufferPointer { raw.insert($0, Int32(id)) }
                }
            }
        }
        rawTable = raw

        var fb = [Int32](repeating: -1, count: 256)
        if case .hf(_, _, true) = fallback {
            let hex = Array("0123456789ABCDEF".utf8)
            for b in 0..<256 {
                let name: [UInt8] = Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
                if let id = textToID.lookup(name) { fb[b] = id }
            }
        }
        byteFallbackIDs = fb
        asciiKnown = (0..<128).map { b in
            var byte = UInt8(b)
            return textToID.lookup(&byte, 1).map { $0 < Int32(tokens.count) } ?? false
        }
    }

    /// Per-call working memory (never shared between threads).
    struct Scratch {
        var ids: [Int32] = []
        var ranks: [UInt64] = []
        var queue = PairMergeQueue()
        var cache = WordCache()
    }

    /// A per-call memo of word → ids (text repeats words a lot). Lives in one call's scratch, so
    /// it is never shared between threads.
    struct WordCache {
        private var slots = [Int32](repeating: 0, count: 1 << 12)
        private var keyStart: [Int32] = []
        private var keyLength: [Int32] = []
        private var valueStart: [Int32] = []
        private var valueLength: [Int32] = []
        private var keys: [UInt8] = []
        private var values: [Int32] = []
        static let maxEntries = 1 << 16
        static let maxWordLength = 48

        /// Appends the cached ids of `word` to `out` and returns true, or returns false.
        mutating func lookup(_ word: UnsafePointer<UInt8>, _ n: Int, _ hash: UInt64, into out: inout [Int32]) -> Bool {
            let mask = slots.count - 1
            var s = Int(truncatingIfNeeded: hash) & mask
            while true {
                let e1 = Int(slots[s])
                if e1 == 0 { return false }
                let e = e1 - 1
                if Int(keyLength[e]) == n {
                    let same = keys.withUnsafeBufferPointer { memcmpEqual($0.baseAddress! + Int(keyStart[e]), word, n) }
                    if same {
                        let a = Int(valueStart[e]), l = Int(valueLength[e])
                        // Through a buffer pointer: a slice would retain `values` on every hit.
                        values.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[a..<(a + l)])) }
                        return true
                    }
                }
                s = (s + 1) & mask
            }
        }

        mutating func insert(_ word: UnsafePointer<UInt8>, _ n: Int, _ hash: UInt64, _ ids: ArraySlice<Int32>) {
            guard keyStart.count < Self.maxEntries else { return }
            if (keyStart.count + 1) * 2 > slots.count { grow() }
            let mask = slots.count - 1
            var s = Int(truncatingIfNeeded: hash) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            keyStart.append(Int32(keys.count))
            keyLength.append(Int32(n))
            keys.append(contentsOf: UnsafeBufferPointer(start: word, count: n))
            valueStart.append(Int32(values.count))
            valueLength.append(Int32(ids.count))
            values.append(contentsOf: ids)
            slots[s] = Int32(keyStart.count)
        }

        private mutating func grow() {
            slots = [Int32](repeating: 0, count: slots.count * 2)
            let mask = slots.count - 1
            keys.withUnsafeBufferPointer { k in
                for e in 0..<keyStart.count {
                    let h = ByteStringTable.hash(k.baseAddress! + Int(keyStart[e]), Int(keyLength[e]))
                    var s = Int(truncatingIfNeeded: h) & mask
                    while slots[s] != 0 { s = (s + 1) & mask }
                    slots[s] = Int32(e + 1)
                }
            }
        }
    }

    /// Encodes one pre-tokenized word (raw bytes in byte-level mode, UTF-8 otherwise) and
    /// appends its token ids to `out`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into out: inout [Int32]) {
        let n = word.count
        guard n > 0, let wbase = word.baseAddress else { return }
        if byteLevel && n == 1 {
            if ignoreMerges, let id = rawTable.lookup(wbase, 1) {
                out.append(id)
            } else {
                emit(byteSymbols[Int(wbase[0])], into: &out)
            }
            return
        }
        if !byteLevel && !ignoreMerges && n > Self.segmentMinimum && isHF {
            encodeSegments(word, &scratch, &out)
            return
        }
        encodeWord(wbase, n, &scratch, &out)
    }

    /// Words from this many bytes on are cut at junction-free boundaries (character-level mode).
    static let segmentMinimum = 64

    private func encodeWord(_ wbase: UnsafePointer<UInt8>, _ n: Int, _ scratch: inout Scratch, _ out: inout [Int32]) {
        let cacheable = n <= WordCache.maxWordLength
        var hash: UInt64 = 0
        if cacheable {
            hash = ByteStringTable.hash(wbase, n)
            if scratch.cache.lookup(wbase, n, hash, into: &out) { return }
        }
        let start = out.count
        encodeUncached(wbase, n, &scratch, &out)
        if cacheable { scratch.cache.insert(wbase, n, hash, out[start...]) }
    }

    /// Character-level words cut where no merge can join the neighbours. Cuts never touch a
    /// character without its own token (unknown or byte-fallback: HF fuses unknowns across them).
    private func encodeSegments(_ word: UnsafeBufferPointer<UInt8>, _ scratch: inout Scratch, _ out: inout [Int32]) {
        guard let base = word.baseAddress else { return }
        let n = word.count
        var segmentStart = 0
        var previous: UInt32 = 0
        var previousKnown = false
        var i = 0
        while i < n {
            let b0 = base[i]
            let len = min(b0 < 0x80 ? 1 : (b0 < 0xE0 ? 2 : (b0 < 0xF0 ? 3 : 4)), n - i)
            var c = UInt32(b0)
            if len > 1 {
                c = UInt32(b0) & (0xFF >> (len + 1))
                for k in 1..<len { c = c << 6 | UInt32(base[i + k] & 0x3F) }
            }
            let known = len == 1 ? asciiKnown[Int(b0)] : (textTable.lookup(base + i, len).map { $0 < Int32(vocabCount) } ?? false)
            if i > segmentStart && known && previousKnown && !junctions.contains(UInt64(previous) << 32 | UInt64(c)) {
                encodeWord(base + segmentStart, i - segmentStart, &scratch, &out)
                segmentStart = i
            }
            previous = c
            previousKnown = known
            i += len
        }
        if n > segmentStart { encodeWord(base + segmentStart, n - segmentStart, &scratch, &out) }
    }

    private func encodeUncached(_ wbase: UnsafePointer<UInt8>, _ n: Int, _ scratch: inout Scratch, _ out: inout [Int32]) {
        if byteLevel {
            if ignoreMerges, let id = rawTable.lookup(wbase, n) {
                out.append(id)
                return
            }
            scratch.ids.removeAll(keepingCapacity: true)
            for i in 0..<n {
                let s = byteSymbols[Int(wbase[i])]
                if s >= 0 {
                    scratch.ids.append(s)
                } else if case .hf(let unk?, _, _) = fallback {
                    scratch.ids.append(unk)
                }
            }
        } else {
            if ignoreMerges, let id = textTable.lookup(wbase, n), id < Int32(vocabCount) {
                out.append(id)
                return
            }
            initialCharSymbols(UnsafeBufferPointer(start: wbase, count: n), into: &scratch.ids)
        }
        mergeAll(&scratch)
        for id in scratch.ids { emit(id, into: &out) }
    }

    /// Character-level start: one symbol per UTF-8 character, with HF's unknown handling.
    private func initialCharSymbols(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        ids.removeAll(keepingCapacity: true)
        let n = word.count
        let base = word.baseAddress!
        var i = 0
        var pendingUnk = false
        while i < n {
            let b0 = base[i]
            var len = b0 < 0x80 ? 1 : (b0 < 0xE0 ? 2 : (b0 < 0xF0 ? 3 : 4))
            len = min(len, n - i)
            if let id = textTable.lookup(base + i, len), id < Int32(vocabCount) || !isHF {
                if pendingUnk, case .hf(let unk?, _, _) = fallback { ids.append(unk) }
                pendingUnk = false
                ids.append(id)
            } else {
                switch fallback {
                case .llamaBytes:
                    // llama.cpp keeps the character as a symbol; at the end it becomes byte tokens.
                    var text = Array(UnsafeBufferPointer(start: base + i, count: len))
                    if let id = textTable.lookup(&text, len) { ids.append(id) }
                case .hf(let unk, let fuse, let byteFallback):
                    var done = false
                    if byteFallback {
                        var all = true
                        for k in 0..<len where byteFallbackIDs[Int(base[i + k])] < 0 { all = false }
                        if all {
                            if pendingUnk, let unk { ids.append(unk) }
                            pendingUnk = false
                            for k in 0..<len { ids.append(byteFallbackIDs[Int(base[i + k])]) }
                            done = true
                        }
                    }
                    if !done, let unk {
                        if pendingUnk && !fuse { ids.append(unk) }
                        pendingUnk = true
                    }
                }
            }
            i += len
        }
        if pendingUnk, case .hf(let unk?, _, _) = fallback { ids.append(unk) }
    }

    private var isHF: Bool {
        if case .hf = fallback { return true }
        return false
    }

    @inline(__always)
    private func emit(_ id: Int32, into out: inout [Int32]) {
        if id >= 0 && id < Int32(vocabCount) {
            out.append(id)
            return
        }
        guard id >= Int32(vocabCount), case .llamaBytes = fallback else { return }
        // llama.cpp: a symbol without a token is spelled out one byte at a time.
        let k = Int(id) - vocabCount
        guard k < syntheticTexts.count else { return }
        for var b in syntheticTexts[k] {
            if let t = textTable.lookup(&b, 1), t < Int32(vocabCount) { out.append(t) }
        }
    }

    // MARK: merging

    private func mergeAll(_ s: inout Scratch) {
        let n = s.ids.count
        if n < 2 { return }
        if n <= 64 { mergeSmall(&s.ids, &s.ranks) } else { mergeLarge(&s.ids, &s.queue) }
    }

    /// O(n²) with cached pair ranks: fastest for ordinary words.
    private func mergeSmall(_ idArray: inout [Int32], _ rankArray: inout [UInt64]) {
        var n = idArray.count
        rankArray.removeAll(keepingCapacity: true)
        rankArray.reserveCapacity(n)
        merges.withView { view in
            for i in 0..<(n - 1) { rankArray.append(view.lookup(idArray[i], idArray[i + 1])) }
            idArray.withUnsafeMutableBufferPointer { ids in
                rankArray.withUnsafeMutableBufferPointer { ranks in
                    while n > 1 {
                        // Packed values compare by rank first (rank is the high half); the first
                        // minimum is the leftmost. UInt64.max: no merge.
                        var best = 0
                        var bestRank = ranks[0]
                        var i = 1
                        while i < n - 1 {
                            if ranks[i] < bestRank { best = i; bestRank = ranks[i] }
                            i += 1
                        }
                        if bestRank == UInt64.max { break }
                        ids[best] = Int32(truncatingIfNeeded: bestRank & 0xFFFF_FFFF)
                        // Drop symbol best+1 and the pair slot best+1 (slot best is recomputed).
                        var j = best + 1
                        while j < n - 1 { ids[j] = ids[j + 1]; j += 1 }
                        j = best + 1
                        while j < n - 2 { ranks[j] = ranks[j + 1]; j += 1 }
                        n -= 1
                        if best > 0 { ranks[best - 1] = view.lookup(ids[best - 1], ids[best]) }
                        if best < n - 1 { ranks[best] = view.lookup(ids[best], ids[best + 1]) }
                    }
                }
            }
        }
        idArray.removeSubrange(n...)
    }

    /// The heap-based merge (PairMergeQueue) for long words.
    private func mergeLarge(_ ids: inout [Int32], _ queue: inout PairMergeQueue) {
        let n = ids.count
        let kept = merges.withView { view in
            ids.withUnsafeMutableBufferPointer { queue.merge($0, count: n, lookup: { view.lookup($0, $1) }) }
        }
        ids.removeSubrange(kept...)
    }
}
