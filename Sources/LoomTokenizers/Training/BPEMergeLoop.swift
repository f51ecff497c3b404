/// The merge phase of BPE training, step for step as HF tokenizers' `BpeTrainer::do_train` does it, so
/// that the merges come out identical:
///  - pair counts are sums of word counts; each queue entry carries the words it was counted in;
///  - the queue pops the highest count, ties to the smallest (left id, right id);
///  - a popped entry whose count is stale goes back with the current count;
///  - a merge rewrites only the words of its entry, left to right, and reports the pairs it broke
///    (-1) and made (+1); pairs it made go back on the queue with the words they were made in.
/// (Counts of the merged pair itself are not decreased, as in HF; they are never looked at again
/// unless the same pair is made anew.)
struct BPEMergeLoop {
    /// All words' symbols back to back; word w is symbols[wordStart[w] ..< wordStart[w] + wordLength[w]]
    /// (merging shortens words in place).
    private var symbols: [Int32]
    private let wordStart: [Int32]
    private var wordLength: [Int32]
    private let wordCount: [Int]

    /// Pair (left << 32 | right) → dense pair index.
    private var pairIndex = PairIndex()
    private var pairKey: [UInt64] = []
    private var pairCount: [Int] = []
    /// Words where a pair was made during the current merge (HF's `where_to_update`), by pair index.
    private var madeIn: [[Int32]] = []
    private var touched: [Int] = []

    private var heap = MergeHeap()
    /// Word sets of queue entries.
    private var positions: [[Int32]] = []

    init(symbols: [Int32], wordStart: [Int32], wordLength: [Int32], wordCount: [Int]) {
        self.symbols = symbols
        self.wordStart = wordStart
        self.wordLength = wordLength
        self.wordCount = wordCount
    }

    @inline(__always)
    private static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    private mutating func index(_ key: UInt64) -> Int {
        let (i, inserted) = pairIndex.findOrInsert(key, next: pairKey.count)
        if inserted {
            pairKey.append(key)
            pairCount.append(0)
            madeIn.append([])
        }
        return i
    }

    /// A count as the queue holds it. (HF keeps i32 counts; with under 2 GiB of text they never
    /// overflow, and they never go negative: every -1 undoes an earlier +1 or initial count.)
    @inline(__always)
    private static func queued(_ c: Int) -> UInt64 { UInt64(clamping: c) }

    /// Runs merges until the vocabulary holds `vocabSize` tokens, the queue is empty or the best pair
    /// is rarer than `minFrequency`. New tokens go into `vocab`; returns the merges in rank order
    /// as (left, right) ids, a pair merged twice listed once at its later rank.
    mutating func run(vocab: inout VocabBuilder, vocabSize: Int, minFrequency: Int) -> [(Int32, Int32)] {
        // Initial counts: every pair of every word, with the words it occurs in.
        for w in 0..<wordStart.count {
            let s = Int(wordStart[w]), n = Int(wordLength[w])
            guard n >= 2 else { continue }
            let c = wordCount[w]
            for j in s..<(s + n - 1) {
                let i = index(Self.key(symbols[j], symbols[j + 1]))
                pairCount[i] &+= c
                if madeIn[i].last != Int32(w) {
                    if madeIn[i].isEmpty { touched.append(i) }
                    madeIn[i].append(Int32(w))
                }
            }
        }
        flushMade()

        var merges: [(Int32, Int32)] = []
        while vocab.count < vocabSize, var top = heap.pop() {
            let current = Self.queued(pairCount[top.pair])
            if top.count != current {
                top.count = current
                heap.push(top)
                continue
            }
            if top.count < 1 || UInt64(minFrequency) > top.count { break }

            let key = pairKey[top.pair]
            let a = Int32(truncatingIfNeeded: key >> 32), b = Int32(truncatingIfNeeded: key & 0xFFFF_FFFF)
            let text = vocab.tokens[Int(a)] + vocab.tokens[Int(b)]
            let new = vocab.id(text) ?? vocab.add(text)
            merges.append((a, b))

            let words = positions[top.positions]
            positions[top.positions] = []
            for w in words { mergeWord(Int(w), a, b, new) }
            flushMade()
        }

        // As HF's map from pair to (rank, id): a repeated pair keeps its last rank.
        var last: [UInt64: Int] = [:]
        for (r, m) in merges.enumerated() { last[Self.key(m.0, m.1)] = r }
        if last.count == merges.count { return merges }
        return merges.enumerated().filter { last[Self.key($0.element.0, $0.element.1)] == $0.offset }.map(\.element)
    }

    /// Merges every (a, b) in word w, left to right, into `new`, recording the pairs broken and made.
    private mutating func mergeWord(_ w: Int, _ a: Int32, _ b: Int32, _ new: Int32) {
        let s = Int(wordStart[w])
        let end = s + Int(wordLength[w])
        let c = wordCount[w]
        var r = s, out = s
        while r < end {
            if symbols[r] == a && r + 1 < end && symbols[r + 1] == b {
                if out > s {
                    let p = symbols[out - 1]
                    change(Self.key(p, a), -c, w)
                    change(Self.key(p, new), c, w)
                }
                if r + 2 < end {
                    let n = symbols[r + 2]
                    change(Self.key(b, n), -c, w)
                    change(Self.key(new, n), c, w)
                }
                symbols[out] = new
                out += 1
                r += 2
            } else {
                symbols[out] = symbols[r]
                out += 1
                r += 1
            }
        }
        wordLength[w] = Int32(out - s)
    }

    @inline(__always)
    private mutating func change(_ key: UInt64, _ delta: Int, _ w: Int) {
        let i = index(key)
        pairCount[i] &+= delta
        if delta > 0, madeIn[i].last != Int32(w) {
            if madeIn[i].isEmpty { touched.append(i) }
            madeIn[i].append(Int32(w))
        }
    }

    /// Queues the pairs made since the last flush that still occur (HF drains `where_to_update`).
    private mutating func flushMade() {
        for i in touched {
            let words = madeIn[i]
            madeIn[i] = []
            let c = pairCount[i]
            guard c > 0 else { continue }
            positions.append(words)
            heap.push(MergeHeap.Entry(count: Self.queued(c), key: pairKey[i], pair: i, positions: positions.count - 1))
        }
        touched.removeAll(keepingCapacity: true)
    }
}

/// Max-heap of queue entries: highest count first, then the smallest pair.
struct MergeHeap {
    struct Entry {
        var count: UInt64
        let key: UInt64
        let pair: Int
        let positions: Int
    }

    private var items: [Entry] = []

    @inline(__always)
    private static func before(_ x: Entry, _ y: Entry) -> Bool {
        x.count != y.count ? x.count > y.count : x.key < y.key
    }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard Self.before(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && Self.before(items[l], items[m]) { m = l }
            if r < n && Self.before(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}

/// Open-addressing map from a pair key to a dense index.
struct PairIndex {
    private var keys = [UInt64](repeating: PairIndex.empty, count: 1 << 12)
    private var values = [Int](repeating: 0, count: 1 << 12)
    private var used = 0
    /// No real key: ids are below 2^24.
    private static let empty = UInt64.max

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The index of `key`, inserting it with index `next` when absent.
    @inline(__always)
    mutating func findOrInsert(_ key: UInt64, next: Int) -> (Int, Bool) {
        let mask = keys.count - 1
        var s = Self.slot(key, mask)
        while true {
            let k = keys[s]
            if k == key { return (values[s], false) }
            if k == Self.empty { break }
            s = (s + 1) & mask
        }
        keys[s] = key
        values[s] = next
        used += 1
        if used * 2 > keys.count { grow() }
        return (next, true)
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        values = [Int](repeating: 0, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for (j, k) in oldKeys.enumerated() where k != Self.empty {
            var s = Self.slot(k, mask)
            while keys[s] != Self.empty { s = (s + 1) & mask }
            keys[s] = k
            values[s] = oldValues[j]
        }
    }
}
