/// Pair merging over a linked list of symbols with a binary heap, for long words: lowest rank
/// first, leftmost on ties (llama.cpp's and HF's order), O(n log n). Stale entries — a side merged
/// since — are recognised by the symbol ids they were made for. Shared by `BPEModel` and
/// `SentencePieceBPE`, which differ only in how a pair's rank and result are looked up.
/// Working memory reused across calls; one queue per call's scratch (never shared between threads).
struct PairMergeQueue {
    struct Entry {
        var rank: UInt32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        var result: Int32

        @inline(__always)
        static func < (a: Entry, b: Entry) -> Bool {
            a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
        }
    }

    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var heap: [Entry] = []

    /// Merges `ids[0..<n]` in place and returns how many symbols are left (moved to the front, in
    /// order). `lookup(a, b)` gives `rank << 32 | result` for a mergeable pair, `UInt64.max` otherwise;
    /// `moved(to, from)` lets the caller move data kept beside the ids. Symbol ids are ≥ 0.
    @inline(__always)
    mutating func merge(_ ids: UnsafeMutableBufferPointer<Int32>, count n: Int, lookup: (Int32, Int32) -> UInt64,
                        moved: (Int, Int) -> Void = { _, _ in }) -> Int {
        guard n >= 2, n <= ids.count else { return min(n, ids.count) }
        if next.count < n {
            next = [Int32](repeating: 0, count: n)
            prev = [Int32](repeating: 0, count: n)
        }
        // At most n - 1 initial pairs plus two per merge (at most n - 1 merges).
        let capacity = 3 * n
        if heap.count < capacity {
            heap = [Entry](repeating: Entry(rank: 0, left: 0, right: 0, leftID: 0, rightID: 0, result: 0), count: capacity)
        }
        let dead = Int32.min
        var kept = 0
        next.withUnsafeMutableBufferPointer { next in
            prev.withUnsafeMutableBufferPointer { prev in
                heap.withUnsafeMutableBufferPointer { heap in
                    for k in 0..<n {
                        next[k] = k + 1 < n ? Int32(k + 1) : -1
                        prev[k] = Int32(k) - 1
                    }
                    var count = 0
                    func push(_ l: Int32, _ r: Int32) {
                        guard l >= 0, r >= 0, count < heap.count else { return }
                        let v = lookup(ids[Int(l)], ids[Int(r)])
                        if v == UInt64.max { return }
                        let e = Entry(rank: UInt32(truncatingIfNeeded: v >> 32), left: l, right: r, leftID: ids[Int(l)],
                                      rightID: ids[Int(r)], result: Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
                        var c = count
                        count += 1
                        while c > 0 {
                            let p = (c - 1) >> 1
                            if e < heap[p] { heap[c] = heap[p]; c = p } else { break }
                        }
                        heap[c] = e
                    }
                    func pop() -> Entry {
                        let top = heap[0]
                        count -= 1
                        if count > 0 {
                            let last = heap[count]
                            var p = 0
                            while true {
                                let l = 2 * p + 1
                                if l >= count { break }
                                var m = l
                                if l + 1 < count && heap[l + 1] < heap[l] { m = l + 1 }
                                if heap[m] < last { heap[p] = heap[m]; p = m } else { break }
                            }
                            heap[p] = last
                        }
                        return top
                    }
                    for k in 0..<(n - 1) { push(Int32(k), Int32(k + 1)) }
                    while count > 0 {
                        let e = pop()
                        let l = Int(e.left), r = Int(e.right)
                        guard ids[l] == e.leftID, ids[r] == e.rightID, next[l] == e.right else { continue }
                        ids[l] = e.result
                        ids[r] = dead
                        let after = next[r]
                        next[l] = after
                        if after >= 0 { prev[Int(after)] = Int32(l) }
                        push(prev[l], Int32(l))
                        push(Int32(l), after)
                    }
                    var k = 0
                    while k >= 0 && k < n {
                        ids[kept] = ids[k]
                        moved(kept, k)
                        kept += 1
                        k = Int(next[k])
                    }
                }
            }
        }
        return kept
    }
}
