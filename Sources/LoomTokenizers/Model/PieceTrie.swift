import LoomCore

/// A byte trie over vocabulary pieces, for Unigram's search of every piece starting at a position.
///
/// Laid out breadth-first in flat arrays: node 0 is the root, the children of a node are
/// contiguous and sorted by byte, and edge k leads to node k + 1, so only edge bytes are stored.
/// The nodes a search visits most (near the root) sit together at the front.
struct PieceTrie: Sendable {
    struct Entry {
        var bytes: [UInt8]
        var id: Int32
        var score: Double
    }

    /// Edges of node v: edgeStart[v] ..< edgeStart[v + 1].
    private let edgeStart: [Int32]
    private let edgeByte: [UInt8]
    /// The piece ending at each node (-1: none) and its score.
    private let nodeToken: [Int32]
    private let nodeScore: [Double]
    /// Root children by byte (0: none), the first step of every search.
    private let rootChild: [Int32]

    var nodeCount: Int { nodeToken.count }

    /// Empty pieces are left out. For a piece listed twice, the later entry wins.
    init(_ entries: [Entry]) throws {
        // All pieces in one arena.
        var arena: [UInt8] = []
        var start: [Int] = []
        start.reserveCapacity(entries.count + 1)
        for e in entries {
            start.append(arena.count)
            arena.append(contentsOf: e.bytes)
        }
        start.append(arena.count)
        // Node and edge numbers are Int32.
        guard arena.count < Int(Int32.max) - 1 else { throw LoomError.format("vocabulary pieces are too large for a trie") }
        var edgeStart: [Int32] = []
        var edgeByte: [UInt8] = []
        var nodeToken: [Int32] = [-1]
        var nodeScore: [Double] = [0]
        arena.withUnsafeBufferPointer { a in
            // Entries sorted by bytes, then by position (so the later duplicate comes last): by
            // their first 8 bytes packed big-endian, then by the rest.
            var keys: [(prefix: UInt64, entry: Int32)] = []
            keys.reserveCapacity(entries.count)
            for k in entries.indices where start[k + 1] > start[k] {
                var prefix: UInt64 = 0
                for i in 0..<8 {
                    let p = start[k] + i
                    prefix = prefix << 8 | UInt64(p < start[k + 1] ? a[p] : 0)
                }
                keys.append((prefix, Int32(k)))
            }
            keys.sort { x, y in
                if x.prefix != y.prefix { return x.prefix < y.prefix }
                let p = Int(x.entry), q = Int(y.entry)
                let lp = start[p + 1] - start[p], lq = start[q + 1] - start[q]
                var i = 8
                while i < lp && i < lq {
                    let u = a[start[p] + i], w = a[start[q] + i]
                    if u != w { return u < w }
                    i += 1
                }
                return lp != lq ? lp < lq : p < q
            }
            let order = keys.map { Int($0.entry) }
            // Breadth-first: node v covers order[lo[v] ..< hi[v]], all sharing their first depth[v] bytes.
            var lo: [Int32] = [0], hi: [Int32] = [Int32(order.count)], depth: [Int32] = [0]
            var v = 0
            while v < nodeToken.count {
                edgeStart.append(Int32(edgeByte.count))
                var i = Int(lo[v])
                let end = Int(hi[v]), d = Int(depth[v])
                // Pieces that end here come first; the last of them wins.
                while i < end && start[order[i] + 1] - start[order[i]] == d {
                    nodeToken[v] = entries[order[i]].id
                    nodeScore[v] = entries[order[i]].score
                    i += 1
                }
                while i < end {
                    let b = a[start[order[i]] + d]
                    var j = i + 1
                    while j < end && a[start[order[j]] + d] == b { j += 1 }
                    edgeByte.append(b)
                    nodeToken.append(-1)
                    nodeScore.append(0)
                    lo.append(Int32(i))
                    hi.append(Int32(j))
                    depth.append(Int32(d + 1))
                    i = j
                }
                v += 1
            }
        }
        edgeStart.append(Int32(edgeByte.count))
        edgeByte.append(0)  // past every child list: keeps the array non-empty for `withView`
        var root = [Int32](repeating: 0, count: 256)
        for e in Int(edgeStart[0])..<Int(edgeStart[1]) { root[Int(edgeByte[e])] = Int32(e + 1) }
        self.edgeStart = edgeStart
        self.edgeByte = edgeByte
        self.nodeToken = nodeToken
        self.nodeScore = nodeScore
        self.rootChild = root
    }

    /// Read-only pointers for hot loops.
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try edgeStart.withUnsafeBufferPointer { es in
            try edgeByte.withUnsafeBufferPointer { eb in
                try nodeToken.withUnsafeBufferPointer { nt in
                    try nodeScore.withUnsafeBufferPointer { ns in
                        try rootChild.withUnsafeBufferPointer { rc in
                            // None of these is ever empty (the root always exists), so the base addresses exist.
                            try body(View(edgeStart: es.baseAddress!, edgeByte: eb.baseAddress!, nodeToken: nt.baseAddress!,
                                          nodeScore: ns.baseAddress!, rootChild: rc.baseAddress!))
                        }
                    }
                }
            }
        }
    }

    struct View {
        let edgeStart: UnsafePointer<Int32>
        let edgeByte: UnsafePointer<UInt8>
        let nodeToken: UnsafePointer<Int32>
        let nodeScore: UnsafePointer<Double>
        let rootChild: UnsafePointer<Int32>

        /// The child of `node` along byte `b`, or 0 when there is none.
        @inline(__always)
        func child(_ node: Int, _ b: UInt8) -> Int {
            if node == 0 { return Int(rootChild[Int(b)]) }
            let end = Int(edgeStart[node + 1])
            var lo = Int(edgeStart[node]), hi = end
            // Long child lists are narrowed by bisection (lo never passes the first byte >= b),
            // then scanned.
            while hi - lo > 8 {
                let mid = (lo + hi) >> 1
                if edgeByte[mid] < b { lo = mid + 1 } else { hi = mid }
            }
            while lo < end {
                let e = edgeByte[lo]
                if e == b { return lo + 1 }
                if e > b { return 0 }
                lo += 1
            }
            return 0
        }
    }
}
