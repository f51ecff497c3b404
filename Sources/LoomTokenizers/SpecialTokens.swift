/// Splitting input text on special / added tokens before pre-tokenization.
///
/// Two rule sets:
/// - llama.cpp (`tokenizer_st_partition`): tokens are tried one at a time, longest text first;
///   each splits every remaining text fragment at all its (non-overlapping, left-to-right)
///   occurrences. LSTRIP/RSTRIP drop ASCII white space next to the token. With parse_special
///   off, CONTROL and UNKNOWN tokens are skipped but USER_DEFINED ones still match.
/// - HF tokenizers (`AddedVocabulary`): leftmost-longest matching, first of the tokens that match
///   the raw text (normalized=false), then of those that match normalized text; single_word,
///   lstrip and rstrip use Unicode word characters and white space. With parse_special off,
///   tokens marked special are not matched (HF's `split_special_tokens`).
enum Fragment: Equatable {
    case text(Int, Int)  // byte range [start, end)
    case token(Int32)
}

struct SpecialTokenMatcher: Sendable {
    struct Entry: Sendable {
        let bytes: [UInt8]
        let id: Int32
        let lstrip: Bool
        let rstrip: Bool
        let singleWord: Bool
        /// Matched only when parse_special is on.
        let needsParseSpecial: Bool
        /// HF: matched against normalized text (second pass).
        let normalized: Bool
    }

    /// A byte trie; terminal nodes list entry indices.
    struct Trie: Sendable {
        var first = [Bool](repeating: false, count: 256)
        var edges: [[(UInt8, Int32)]] = [[]]
        var terminals: [[Int32]] = [[]]

        init() {}

        init(_ entries: [Entry], where include: (Entry) -> Bool) {
            for (k, e) in entries.enumerated() where include(e) && !e.bytes.isEmpty {
                var node = 0
                for b in e.bytes {
                    if let nx = edges[node].first(where: { $0.0 == b })?.1 {
                        node = Int(nx)
                    } else {
                        edges.append([])
                        terminals.append([])
                        let nx = Int32(edges.count - 1)
                        edges[node].append((b, nx))
                        node = Int(nx)
                    }
                }
                terminals[node].append(Int32(k))
                first[Int(e.bytes[0])] = true
            }
        }

        var isEmpty: Bool { edges.count == 1 }

        /// Calls `body(entry, length)` for every entry whose text starts at `p`.
        @inline(__always)
        func matches(_ bytes: UnsafeRawBufferPointer, at p: Int, end: Int, _ body: (Int32, Int) -> Void) {
            var node = 0
            var i = p
            while i < end {
                let b = bytes[i]
                var found: Int32 = -1
                for (eb, nx) in edges[node] where eb == b { found = nx; break }
                if found < 0 { return }
                node = Int(found)
                i += 1
                for t in terminals[node] { body(t, i - p) }
            }
        }
    }

    let llamaRules: Bool
    /// llama.cpp: entries sorted by text length, longest first (stable by id).
    let entries: [Entry]
    private let trieAll: Trie
    private let trieNoSpecial: Trie
    /// HF second pass (normalized tokens).
    private let trieNormAll: Trie
    private let trieNormNoSpecial: Trie

    init(entries rawEntries: [Entry], llamaRules: Bool) {
        self.llamaRules = llamaRules
        if llamaRules {
            entries = rawEntries.enumerated().sorted {
                $0.element.bytes.count != $1.element.bytes.count ? $0.element.bytes.count > $1.element.bytes.count : $0.offset < $1.offset
            }.map(\.element)
            trieAll = Trie(entries) { _ in true }
            trieNoSpecial = Trie(entries) { !$0.needsParseSpecial }
            trieNormAll = Trie()
            trieNormNoSpecial = Trie()
        } else {
            entries = rawEntries
            trieAll = Trie(entries) { !$0.normalized }
            trieNoSpecial = Trie(entries) { !$0.normalized && !$0.needsParseSpecial }
            trieNormAll = Trie(entries) { $0.normalized }
            trieNormNoSpecial = Trie(entries) { $0.normalized && !$0.needsParseSpecial }
        }
    }

    func partition(_ bytes: UnsafeRawBufferPointer, parseSpecial: Bool) -> [Fragment] {
        let n = bytes.count
        if n == 0 { return [] }
        if llamaRules {
            let trie = parseSpecial ? trieAll : trieNoSpecial
            if trie.isEmpty { return [.text(0, n)] }
            return partitionLlama(bytes, trie)
        }
        var frags: [Fragment] = [.text(0, n)]
        let t1 = parseSpecial ? trieAll : trieNoSpecial
        if !t1.isEmpty { frags = partitionHF(bytes, frags, t1) }
        let t2 = parseSpecial ? trieNormAll : trieNormNoSpecial
        if !t2.isEmpty { frags = partitionHF(bytes, frags, t2) }
        return frags
    }

    // MARK: llama.cpp

    @inline(__always)
    private static func isCSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    private func partitionLlama(_ bytes: UnsafeRawBufferPointer, _ trie: Trie) -> [Fragment] {
        let n = bytes.count
        // All occurrences of all candidate tokens, grouped by token (in priority order).
        var occurrences: [Int32: [Int]] = [:]
        for p in 0..<n where trie.first[Int(bytes[p])] {
            trie.matches(bytes, at: p, end: n) { entry, _ in occurrences[entry, default: []].append(p) }
        }
        if occurrences.isEmpty { return [.text(0, n)] }
        var frags: [Fragment] = [.text(0, n)]
        for (k, occ) in occurrences.sorted(by: { $0.key < $1.key }) {
            let e = entries[Int(k)]
            let len = e.bytes.count
            var out: [Fragment] = []
            out.reserveCapacity(frags.count + 2)
            var oi = 0
            for f in frags {
                guard case .text(let a, let b) = f else { out.append(f); continue }
                var off = a
                var matched = false
                while true {
                    while oi < occ.count && occ[oi] < off { oi += 1 }
                    guard oi < occ.count, occ[oi] + len <= b else { break }
                    let m = occ[oi]
                    matched = true
                    if m > off {
                        var leftEnd = m
                        if e.lstrip { while leftEnd > off && Self.isCSpace(bytes[leftEnd - 1]) { leftEnd -= 1 } }
                        if leftEnd > off { out.append(.text(off, leftEnd)) }
                    }
                    out.append(.token(e.id))
                    off = m + len
                    if e.rstrip { while off < b && Self.isCSpace(bytes[off]) { off += 1 } }
                    if off >= b { break }
                }
                if !matched {
                    out.append(f)
                } else if off < b {
                    out.append(.text(off, b))
                }
            }
            frags = out
        }
        return frags
    }

    // MARK: HF tokenizers

    /// Decodes the code point ending just before byte `i` (for word / space checks).
    private static func scalarBefore(_ bytes: UnsafeRawBufferPointer, _ i: Int, _ lower: Int) -> (UInt32, Int)? {
        guard i > lower else { return nil }
        var s = i - 1
        while s > lower && bytes[s] & 0xC0 == 0x80 && i - s < 4 { s -= 1 }
        var cps: [UInt32] = []
        UTF8Coding.decode(UnsafeRawBufferPointer(rebasing: bytes[s..<i]), into: &cps)
        guard let last = cps.last else { return nil }
        // Length of the last code point's encoding.
        var enc: [UInt8] = []
        UTF8Coding.append(last, to: &enc)
        return (last, min(enc.count, i - s))
    }

    private static func scalarAt(_ bytes: UnsafeRawBufferPointer, _ i: Int, _ upper: Int) -> (UInt32, Int)? {
        guard i < upper else { return nil }
        var cps: [UInt32] = []
        let end = min(upper, i + 4)
        UTF8Coding.decode(UnsafeRawBufferPointer(rebasing: bytes[i..<end]), into: &cps)
        guard let first = cps.first else { return nil }
        var enc: [UInt8] = []
        UTF8Coding.append(first, to: &enc)
        return (first, first == UTF8Coding.replacement && bytes[i] != 0xEF ? 1 : enc.count)
    }

    /// Rust regex's `\w` (HF checks single_word with it).
    private static func isWordChar(_ c: UInt32) -> Bool { CharInfo.isWordCharacter(c, joinControl: true) }

    private func partitionHF(_ bytes: UnsafeRawBufferPointer, _ frags: [Fragment], _ trie: Trie) -> [Fragment] {
        var out: [Fragment] = []
        for f in frags {
            guard case .text(let a, let b) = f else { out.append(f); continue }
            var startOffset = a
            var p = a
            while p < b {
                guard trie.first[Int(bytes[p])] else { p += 1; continue }
                var best: Int32 = -1
                var bestLen = 0
                trie.matches(bytes, at: p, end: b) { entry, len in
                    if len > bestLen { best = entry; bestLen = len }
                }
                guard best >= 0 else { p += 1; continue }
                let e = entries[Int(best)]
                var start = p
                var stop = p + bestLen
                if e.singleWord {
                    let before = Self.scalarBefore(bytes, start, a).map { Self.isWordChar($0.0) } ?? false
                    let after = Self.scalarAt(bytes, stop, b).map { Self.isWordChar($0.0) } ?? false
                    if before || after {
                        p = stop  // the automaton moves past a discarded match
                        continue
                    }
                }
                if e.lstrip {
                    var s = start
                    while let (c, l) = Self.scalarBefore(bytes, s, a), CharInfo.isWhitespace(c) { s -= l }
                    start = max(s, startOffset)
                }
                if e.rstrip {
                    while let (c, l) = Self.scalarAt(bytes, stop, b), CharInfo.isWhitespace(c) { stop += l }
                }
                if startOffset < start { out.append(.text(startOffset, start)) }
                out.append(.token(e.id))
                startOffset = stop
                p = max(stop, p + bestLen)
            }
            if startOffset < b { out.append(.text(startOffset, b)) }
        }
        return out
    }
}
