import LoomCore

/// How HF's Split pre-tokenizer treats the delimiters it finds.
enum SplitBehavior: Sendable {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous

    init?(_ name: String) {
        switch name.lowercased() {
        case "removed": self = .removed
        case "isolated": self = .isolated
        case "mergedwithprevious": self = .mergedWithPrevious
        case "mergedwithnext": self = .mergedWithNext
        case "contiguous": self = .contiguous
        default: return nil
        }
    }
}

/// Pre-tokenization: cuts normalized text (code points) into the words BPE works on. A list of
/// steps, each refining the pieces of the previous one (like llama.cpp's successive regexes and
/// HF's Sequence).
struct PreTokenizer: Sendable {
    enum Step: Sendable {
        /// llama.cpp's `unicode_regex_split` with a general regex: matches and the gaps between
        /// them become pieces.
        case llamaRegex(Regex)
        /// A hand-written splitter for a known regex (llama.cpp's custom ones; exact).
        case fast(FastSplitter, foldCase: Bool)
        /// HF `Split` with a regex (or a literal, when `regex` is nil).
        case split(Regex?, literal: [UInt32], behavior: SplitBehavior, invert: Bool)
        /// HF `Digits`.
        case digits(individual: Bool)
        /// HF `ByteLevel`: a space before pieces that do not start with one, then (optionally)
        /// the GPT-2 split.
        case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
        /// HF `WhitespaceSplit`: runs of non-white-space.
        case whitespaceSplit
        /// HF `BertPreTokenizer`, `Whitespace` and `Punctuation` (BertSplitters.swift).
        case bert
        case whitespace
        case punctuation(SplitBehavior)
        /// HF `Metaspace` (Metaspace.swift; needs the fragment's position).
        case metaspace(Metaspace)
    }

    var steps: [Step]

    /// Pieces as [start, end) pairs into `text`, which a step may rebuild (prefix spaces).
    struct Pieces {
        var text: [UInt32]
        var bounds: [Int]  // start0, end0, start1, end1, ...
    }

    func run(_ text: [UInt32], position: FragmentPosition = FragmentPosition(index: 0, atInputStart: true, afterSpecialToken: true)) throws -> Pieces {
        var p = Pieces(text: text, bounds: text.isEmpty ? [] : [0, text.count])
        for step in steps {
            if p.bounds.isEmpty { break }
            if case .metaspace(let m) = step {
                m.apply(&p, position: position)
                continue
            }
            try apply(step, &p)
        }
        return p
    }

    private func apply(_ step: Step, _ p: inout Pieces) throws {
        var out: [Int] = []
        out.reserveCapacity(p.bounds.count * 2)
        switch step {
        case .fast(let splitter, let fold):
            var ends: [Int] = []
            p.text.withUnsafeBufferPointer { t in
                var k = 0
                while k < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    ends.removeAll(keepingCapacity: true)
                    splitter.split(t, a, b, foldCase: fold, into: &ends)
                    var s = a
                    for e in ends { out.append(s); out.append(e); s = e }
                    k += 2
                }
            }
        case .llamaRegex(let re):
            // llama.cpp matches with non-ASCII white space rewritten to U+000B.
            var view = p.text
            if view.contains(where: { $0 > 0x7F && CharInfo.isWhitespace($0) }) {
                for i in view.indices where view[i] > 0x7F && CharInfo.isWhitespace(view[i]) { view[i] = 0x0B }
            }
            try view.withUnsafeBufferPointer { t in
                var scratch = Regex.Scratch()
                var matches: [Range<Int>] = []
                var k = 0
                while k < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    var prev = a
                    matches.removeAll(keepingCapacity: true)
                    try re.appendMatches(in: t, range: a..<b, into: &matches, scratch: &scratch)
                    for m in matches {
                        if m.lowerBound > prev { out.append(prev); out.append(m.lowerBound) }
                        if !m.isEmpty { out.append(m.lowerBound); out.append(m.upperBound) }
                        prev = m.upperBound
                    }
                    if prev < b { out.append(prev); out.append(b) }
                    k += 2
                }
            }
        case .split(let re, let literal, let behavior, let invert):
            try p.text.withUnsafeBufferPointer { t in
                var scratch = Regex.Scratch()
                var matches: [Range<Int>] = []
                var k = 0
                while k < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    matches.removeAll(keepingCapacity: true)
                    if let re {
                        try re.appendMatches(in: t, range: a..<b, into: &matches, scratch: &scratch)
                    } else if !literal.isEmpty {
                        var i = a
                        while i + literal.count <= b {
                            if t[i] == literal[0] && (0..<literal.count).allSatisfy({ t[i + $0] == literal[$0] }) {
                                matches.append(i..<(i + literal.count))
                                i += literal.count
                            } else { i += 1 }
                        }
                    } else {
                        // An empty pattern matches (emptily) before every character and at the end, as in HF.
                        for i in a...b { matches.append(i..<i) }
                    }
                    var marked: [(Int, Int, Bool)] = []
                    var prev = a
                    for m in matches {
                        if prev != m.lowerBound { marked.append((prev, m.lowerBound, false)) }
                        marked.append((m.lowerBound, m.upperBound, true))
                        prev = m.upperBound
                    }
                    if prev != b { marked.append((prev, b, false)) }
                    if invert { marked = marked.map { ($0.0, $0.1, !$0.2) } }
                    for (s, e) in Self.applyBehavior(marked, behavior) where e > s {
                        out.append(s)
                        out.append(e)
                    }
                    k += 2
                }
            }
        case .digits(let individual):
            // HF Digits: number characters isolated (or grouped in runs), the rest in runs.
            let table = CharInfo.table
            p.text.withUnsafeBufferPointer { t in
                var k = 0
                while k < p.bounds.count {
                    let a = p.bounds[k], b = p.bounds[k + 1]
                    var runStart = a
                    var runIsNumber = false
                    var i = a
                    while i < b {
                        let c = t[i]
                        let isNumber: Bool
                        if c < 0x80 {
                            isNumber = c >= 0x30 && c <= 0x39
                        } else {
                            isNumber = CategoryMask.number & (1 << UInt32(CharInfo.raw(c, table) & 0x1F)) != 0
                        }
                        if i > runStart && (isNumber != runIsNumber || (isNumber && individual)) {
                            out.append(runStart)
                            out.append(i)
                            runStart = i
                        }
                        if i == runStart { runIsNumber = isNumber }
                        i += 1
                    }
                    if b > runStart { out.append(runStart); out.append(b) }
                    k += 2
                }
            }
        case .bert:
            Self.splitBert(p, into: &out)
        case .whitespace:
            Self.splitWhitespaceRegex(p, into: &out)
        case .punctuation(let behavior):
            Self.splitPunctuation(p, behavior: behavior, into: &out)
        case .metaspace:
            return  // applied in `run`, which knows the fragment's position
        case .whitespaceSplit:
            var k = 0
            while k < p.bounds.count {
                let a = p.bounds[k], b = p.bounds[k + 1]
                var i = a
                while i < b {
                    while i < b && CharInfo.isWhitespace(p.text[i]) { i += 1 }
                    let s = i
                    while i < b && !CharInfo.isWhitespace(p.text[i]) { i += 1 }
                    if i > s { out.append(s); out.append(i) }
                }
                k += 2
            }
        case .byteLevel(let addPrefixSpace, let useRegex):
            if addPrefixSpace {
                var needs = false
                var k = 0
                while k < p.bounds.count {
                    if p.text[p.bounds[k]] != 0x20 { needs = true; break }
                    k += 2
                }
                if needs {
                    var text: [UInt32] = []
                    text.reserveCapacity(p.text.count + p.bounds.count / 2)
                    var bounds: [Int] = []
                    bounds.reserveCapacity(p.bounds.count)
                    k = 0
                    while k < p.bounds.count {
                        let a = p.bounds[k], b = p.bounds[k + 1]
                        let s = text.count
                        if p.text[a] != 0x20 { text.append(0x20) }
                        text.append(contentsOf: p.text[a..<b])
                        bounds.append(s)
                        bounds.append(text.count)
                        k += 2
                    }
                    p = Pieces(text: text, bounds: bounds)
                }
            }
            if useRegex {
                try apply(.fast(.gpt2, foldCase: false), &p)
            }
            return
        }
        p.bounds = out
    }

    /// HF's `SplitDelimiterBehavior` over (start, end, isMatch) pieces covering a span.
    static func applyBehavior(_ marked: [(Int, Int, Bool)], _ behavior: SplitBehavior) -> [(Int, Int)] {
        switch behavior {
        case .isolated:
            return marked.map { ($0.0, $0.1) }
        case .removed:
            return marked.filter { !$0.2 }.map { ($0.0, $0.1) }
        case .contiguous:
            var acc: [(Int, Int)] = []
            var previousMatch = false
            for (k, m) in marked.enumerated() {
                if k > 0 && m.2 == previousMatch, !acc.isEmpty {
                    acc[acc.count - 1].1 = m.1
                } else {
                    acc.append((m.0, m.1))
                }
                previousMatch = m.2
            }
            return acc
        case .mergedWithPrevious:
            var acc: [(Int, Int)] = []
            var previousMatch = false
            for m in marked {
                if m.2 && !previousMatch, !acc.isEmpty {
                    acc[acc.count - 1].1 = m.1
                } else {
                    acc.append((m.0, m.1))
                }
                previousMatch = m.2
            }
            return acc
        case .mergedWithNext:
            var acc: [(Int, Int)] = []
            var previousMatch = false
            for m in marked.reversed() {
                if m.2 && !previousMatch, !acc.isEmpty {
                    acc[acc.count - 1].0 = m.0
                } else {
                    acc.append((m.0, m.1))
                }
                previousMatch = m.2
            }
            return acc.reversed()
        }
    }
}
