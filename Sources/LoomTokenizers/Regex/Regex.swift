import LoomCore

/// A compiled regular expression over Unicode code points: compile once, match from any number
/// of threads (the object is immutable; each search uses its own backtracking stack).
///
/// Semantics are those of backtracking engines (Perl, Oniguruma, ECMAScript): the leftmost match
/// wins, alternatives are tried in order, quantifiers are greedy unless lazy (`?`) or possessive
/// (`+`). Supported: literals and escapes, classes with ranges, negation and nesting, `.`,
/// `\s \S \d \D \w \W \h`, `\p{..}`/`\P{..}` general categories (and `Han`), groups `( )`,
/// `(?: )`, `(?i: )`, `(?i)`, `(?> )`, lookahead `(?= )` `(?! )`, fixed-length lookbehind,
/// quantifiers `? * + {m} {m,} {m,n}` (lazy and possessive forms), anchors `^ $ \A \z \Z \b \B`.
/// Backreferences, conditionals and class intersection are rejected with `.unsupported`.
final class Regex: @unchecked Sendable {
    let pattern: String
    let flavor: RegexFlavor
    fileprivate let program: UnsafeMutablePointer<Instruction>
    fileprivate let programCount: Int
    /// Classes; the last one is the first-character set when `firstSet` >= 0.
    fileprivate let sets: [CharClass]
    /// Membership bitmaps of the classes over the BMP (1024 words each), so that matching needs
    /// no reference counting; code points above U+FFFF ask the class itself.
    fileprivate let setBits: UnsafeMutablePointer<UInt64>
    /// Index of the set of code points that can start a match, or -1 (the pattern may match
    /// empty or starts with an assertion, so every position must be tried).
    fileprivate let firstSet: Int

    static let bmpWords = 1024

    init(_ pattern: String, flavor: RegexFlavor) throws {
        self.pattern = pattern
        self.flavor = flavor
        let (node, parsedSets) = try RegexParser.parse(pattern, flavor: flavor)
        var compiler = RegexCompiler(sets: parsedSets)
        try compiler.emit(node)
        compiler.append(Instruction(.match))
        var sets = compiler.sets
        if let items = Regex.firstItems(node, sets: sets) {
            sets.append(CharClass(items: items))
            firstSet = sets.count - 1
        } else {
            firstSet = -1
        }
        self.sets = sets
        programCount = compiler.program.count
        program = UnsafeMutablePointer<Instruction>.allocate(capacity: programCount)
        program.initialize(from: compiler.program, count: programCount)
        setBits = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, sets.count) * Regex.bmpWords)
        setBits.initialize(repeating: 0, count: max(1, sets.count) * Regex.bmpWords)
        for (k, set) in sets.enumerated() { set.fillBMP(setBits + k * Regex.bmpWords) }
    }

    deinit {
        program.deallocate()
        setBits.deallocate()
    }

    // MARK: searching

    /// The first match at or after `from` inside `text[range]` (the range's ends act as the text's
    /// ends for anchors and look-around). Throws if matching runs away (catastrophic backtracking).
    func firstMatch(in text: UnsafeBufferPointer<UInt32>, range: Range<Int>, from: Int) throws -> Range<Int>? {
        try Regex.checkSize(text)
        var stack: [Backtrack] = []
        var m = Matcher(regex: self, text: text, lower: range.lowerBound, upper: range.upperBound)
        return try m.search(from: from, stack: &stack)
    }

    /// All non-overlapping matches in `text[range]`, left to right (an empty match advances the
    /// search by one code point, as Oniguruma does).
    func allMatches(in text: UnsafeBufferPointer<UInt32>, range: Range<Int>) throws -> [Range<Int>] {
        var out: [Range<Int>] = []
        var scratch = Scratch()
        try appendMatches(in: text, range: range, into: &out, scratch: &scratch)
        return out
    }

    /// Reusable working memory for `appendMatches`.
    struct Scratch {
        fileprivate var stack: [Backtrack] = []
        init() {}
    }

    /// Appends all non-overlapping matches in `text[range]` to `out`.
    func appendMatches(in text: UnsafeBufferPointer<UInt32>, range: Range<Int>, into out: inout [Range<Int>],
                       scratch: inout Scratch) throws {
        try Regex.checkSize(text)
        var m = Matcher(regex: self, text: text, lower: range.lowerBound, upper: range.upperBound)
        var pos = range.lowerBound
        while pos <= range.upperBound {
            guard let r = try m.search(from: pos, stack: &scratch.stack) else { break }
            out.append(r)
            pos = r.isEmpty ? r.upperBound + 1 : r.upperBound
        }
    }

    func allMatches(in scalars: [UInt32]) throws -> [Range<Int>] {
        try scalars.withUnsafeBufferPointer { try allMatches(in: $0, range: 0..<$0.count) }
    }

    private static func checkSize(_ text: UnsafeBufferPointer<UInt32>) throws {
        guard text.count < Int(Int32.max) else { throw LoomError.outOfRange("text longer than 2^31 code points") }
    }

    // MARK: first-character analysis

    /// Items of a class covering every code point a match can start with, or nil if unknown.
    private static func firstItems(_ node: RegexNode, sets: [CharClass]) -> [CharClass.Item]? {
        let (items, nullable) = first(node, sets: sets)
        guard let items, !nullable else { return nil }
        return items
    }

    /// (first-char items or nil if unknown, can match empty)
    private static func first(_ node: RegexNode, sets: [CharClass]) -> ([CharClass.Item]?, Bool) {
        switch node {
        case .empty: return ([], true)
        case .char(let c): return ([.range(c, c)], false)
        case .charFold(let f):
            var items: [CharClass.Item] = [.range(f, f)]
            for v in [CaseMapping.upper(f), CaseMapping.lower(f)] where v != f { items.append(.range(v, v)) }
            // Other code points folding to f (ſ, K) are rare; be safe and give up for non-ASCII.
            if f == 0x73 || f == 0x6B || f >= 0x80 { return (nil, false) }
            return (items, false)
        case .set(let i): return ([.nested(CharClassBox(sets[i]))], false)
        case .concat(let nodes):
            var acc: [CharClass.Item] = []
            for n in nodes {
                let (items, nullable) = first(n, sets: sets)
                guard let items else { return (nil, false) }
                acc += items
                if !nullable { return (acc, false) }
            }
            return (acc, true)
        case .alternation(let nodes):
            var acc: [CharClass.Item] = []
            var anyNullable = false
            for n in nodes {
                let (items, nullable) = first(n, sets: sets)
                guard let items else { return (nil, false) }
                acc += items
                anyNullable = anyNullable || nullable
            }
            return (acc, anyNullable)
        case .repetition(let n, let minC, _, _):
            let (items, nullable) = first(n, sets: sets)
            return (items, nullable || minC == 0)
        case .atomic(let n):
            return first(n, sets: sets)
        case .lookaround, .assertion:
            return (nil, true)
        }
    }
}

// MARK: - program

fileprivate struct Instruction {
    enum Op: UInt8 {
        case char, charFold, set, split, jump, repeatSet, lookahead, lookbehind, atomic, assert, match
    }
    var op: Op
    var a: Int32 = 0
    var b: Int32 = 0
    var c: Int32 = 0
    var d: Int32 = 0

    init(_ op: Op, _ a: Int32 = 0, _ b: Int32 = 0, _ c: Int32 = 0, _ d: Int32 = 0) {
        self.op = op
        self.a = a
        self.b = b
        self.c = c
        self.d = d
    }
}

/// repeatSet: a = set, b = min, c = max (-1 = unbounded), d = mode (0 greedy, 1 lazy, 2 possessive)
/// split: a = preferred pc, b = alternative pc
/// lookahead/lookbehind: a = pc after the body, b = negative (0/1), c = body length (lookbehind)
/// atomic: a = pc after the body
/// assert: a = RegexAssertion index
fileprivate struct RegexCompiler {
    var program: [Instruction] = []
    var sets: [CharClass]
    static let maxProgram = 200_000

    init(sets: [CharClass]) { self.sets = sets }

    mutating func append(_ i: Instruction) { program.append(i) }

    var pc: Int32 { Int32(program.count) }

    mutating func emit(_ node: RegexNode) throws {
        guard program.count < Self.maxProgram else { throw LoomError.unsupported("regex too large once compiled") }
        switch node {
        case .empty:
            break
        case .char(let c):
            append(Instruction(.char, Int32(bitPattern: c)))
        case .charFold(let f):
            append(Instruction(.charFold, Int32(bitPattern: f)))
        case .set(let i):
            append(Instruction(.set, Int32(i)))
        case .concat(let nodes):
            for n in nodes { try emit(n) }
        case .alternation(let nodes):
            var jumps: [Int] = []
            for (k, n) in nodes.enumerated() {
                if k < nodes.count - 1 {
                    let split = program.count
                    append(Instruction(.split, pc + 1, 0))
                    try emit(n)
                    jumps.append(program.count)
                    append(Instruction(.jump))
                    program[split].b = pc
                } else {
                    try emit(n)
                }
            }
            for j in jumps { program[j].a = pc }
        case .repetition(let body, let minC, let maxC, let mode):
            try emitRepetition(body, minC, maxC, mode)
        case .lookaround(let body, let behind, let negative):
            if behind {
                guard let len = fixedLength(body) else {
                    throw LoomError.unsupported("variable-length lookbehind")
                }
                let at = program.count
                append(Instruction(.lookbehind, 0, negative ? 1 : 0, Int32(len)))
                try emit(body)
                append(Instruction(.match))
                program[at].a = pc
            } else {
                let at = program.count
                append(Instruction(.lookahead, 0, negative ? 1 : 0))
                try emit(body)
                append(Instruction(.match))
                program[at].a = pc
            }
        case .atomic(let body):
            let at = program.count
            append(Instruction(.atomic))
            try emit(body)
            append(Instruction(.match))
            program[at].a = pc
        case .assertion(let a):
            let code: Int32
            switch a {
            case .lineStart: code = 0
            case .lineEnd: code = 1
            case .textStart: code = 2
            case .textEnd: code = 3
            case .textEndOrFinalNewline: code = 4
            case .wordBoundary: code = 5
            case .notWordBoundary: code = 6
            }
            append(Instruction(.assert, code))
        }
    }

    /// The set a single-character node matches, if it is one.
    private mutating func singleCharSet(_ node: RegexNode) -> Int32? {
        switch node {
        case .set(let i): return Int32(i)
        case .char(let c):
            sets.append(CharClass(items: [.range(c, c)]))
            return Int32(sets.count - 1)
        case .charFold(let f):
            sets.append(CharClass(items: [.range(f, f)], caseInsensitive: true))
            return Int32(sets.count - 1)
        default: return nil
        }
    }

    private mutating func emitRepetition(_ body: RegexNode, _ minC: Int, _ maxC: Int?, _ mode: QuantifierMode) throws {
        if let s = singleCharSet(body) {
            let modeCode: Int32 = mode == .greedy ? 0 : (mode == .lazy ? 1 : 2)
            append(Instruction(.repeatSet, s, Int32(min(minC, Int(Int32.max))), maxC.map { Int32(min($0, Int(Int32.max))) } ?? -1, modeCode))
            return
        }
        if mode == .possessive {
            try emit(.atomic(.repetition(body, min: minC, max: maxC, mode: .greedy)))
            return
        }
        guard minC <= 1000, (maxC ?? 0) <= 1000 else { throw LoomError.unsupported("counted repetition above 1000 of a group") }
        for _ in 0..<minC { try emit(body) }
        let greedy = mode == .greedy
        if let maxC {
            // Nested optionals: x{0,3} = (x(x(x)?)?)?
            var splits: [Int] = []
            for _ in minC..<maxC {
                splits.append(program.count)
                append(Instruction(.split))
                let bodyStart = pc
                try emit(body)
                let at = splits[splits.count - 1]
                if greedy { program[at].a = bodyStart } else { program[at].b = bodyStart }
            }
            for at in splits {
                if greedy { program[at].b = pc } else { program[at].a = pc }
            }
        } else {
            guard !nullable(body) else { throw LoomError.unsupported("unbounded repetition of a sub-pattern that can match empty") }
            let loop = program.count
            append(Instruction(.split))
            let bodyStart = pc
            try emit(body)
            append(Instruction(.jump, Int32(loop)))
            if greedy {
                program[loop].a = bodyStart
                program[loop].b = pc
            } else {
                program[loop].a = pc
                program[loop].b = bodyStart
            }
        }
    }

    private func nullable(_ node: RegexNode) -> Bool {
        switch node {
        case .empty, .lookaround, .assertion: return true
        case .char, .charFold, .set: return false
        case .concat(let ns): return ns.allSatisfy(nullable)
        case .alternation(let ns): return ns.contains(where: nullable)
        case .repetition(let n, let minC, _, _): return minC == 0 || nullable(n)
        case .atomic(let n): return nullable(n)
        }
    }

    private func fixedLength(_ node: RegexNode) -> Int? {
        switch node {
        case .empty, .lookaround, .assertion: return 0
        case .char, .charFold, .set: return 1
        case .concat(let ns):
            var t = 0
            for n in ns { guard let l = fixedLength(n) else { return nil }; t += l }
            return t
        case .alternation(let ns):
            guard let f = ns.first, let l = fixedLength(f) else { return 0 }
            for n in ns.dropFirst() where fixedLength(n) != l { return nil }
            return l
        case .repetition(let n, let minC, let maxC, _):
            guard maxC == minC, let l = fixedLength(n) else { return nil }
            return l * minC
        case .atomic(let n): return fixedLength(n)
        }
    }
}

// MARK: - matcher

fileprivate struct Backtrack {
    /// 0: resume at pc with pos; 1: greedy repeat give-back (pc = next, aux = minimum end);
    /// 2: lazy repeat take-more (pc = the repeat instruction, aux = count so far)
    var kind: Int32
    var pc: Int32
    var pos: Int32
    var aux: Int32
}

/// Visited (instruction, position) states of the top-level program during one search (RE2's
/// "BitState" idea): the outcome of a state does not depend on how it was reached, so a state
/// seen before has failed already (or is on the current path) and need not be explored again.
/// This keeps patterns such as `\s+$` linear on long runs instead of quadratic.
fileprivate final class VisitedStates {
    let bits: UnsafeMutablePointer<UInt64>
    let words: Int
    let width: Int
    let programCount: Int
    /// Highest position offset marked so far.
    var high = -1

    /// A table for long texts only (short ones cannot backtrack far).
    static func make(programCount: Int, width: Int) -> VisitedStates? {
        guard width >= 256, programCount * width <= 1 << 31 else { return nil }
        return VisitedStates(programCount: programCount, width: width)
    }

    private init(programCount: Int, width: Int) {
        let total = programCount * width
        words = (total + 63) / 64
        bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bits.initialize(repeating: 0, count: words)
        self.width = width
        self.programCount = programCount
    }

    /// Forgets every state at or after `offset` (those may have been on a successful path).
    func clear(from offset: Int) {
        guard offset <= high else { return }
        for off in offset...high {
            for pc in 0..<programCount { clear(pc, off) }
        }
        high = offset - 1
    }

    deinit { bits.deallocate() }

    /// Marks the state; returns true if it was already marked.
    @inline(__always)
    func testAndSet(_ pc: Int, _ offset: Int) -> Bool {
        if offset > high { high = offset }
        let i = pc * width + offset
        let w = i >> 6, b = UInt64(1) << UInt64(i & 63)
        if bits[w] & b != 0 { return true }
        bits[w] |= b
        return false
    }

    @inline(__always)
    func set(_ pc: Int, _ offset: Int) {
        if offset > high { high = offset }
        let i = pc * width + offset
        bits[i >> 6] |= UInt64(1) << UInt64(i & 63)
    }

    @inline(__always)
    func clear(_ pc: Int, _ offset: Int) {
        let i = pc * width + offset
        bits[i >> 6] &= ~(UInt64(1) << UInt64(i & 63))
    }
}

fileprivate struct Matcher {
    unowned(unsafe) let regex: Regex
    let prog: UnsafeMutablePointer<Instruction>
    let bits: UnsafeMutablePointer<UInt64>
    let flavor: RegexFlavor
    let text: UnsafeBufferPointer<UInt32>
    let lower: Int
    let upper: Int
    var budget: Int
    let visited: VisitedStates?

    static let baseBudget = 1_000_000
    static let budgetPerCodePoint = 256

    init(regex: Regex, text: UnsafeBufferPointer<UInt32>, lower: Int, upper: Int) {
        self.regex = regex
        self.prog = regex.program
        self.bits = regex.setBits
        self.flavor = regex.flavor
        self.text = text
        self.lower = max(0, min(lower, text.count))
        self.upper = max(self.lower, min(upper, text.count))
        // Legitimate pre-tokenizer patterns (GPT-2, Llama 3, Qwen, the vocab suite, the HF pre-tokenizer
        // cases) need at most 34 steps per code point (one-character pieces) and about 15 on longer texts;
        // 256 leaves a wide margin while a runaway pattern stops within about 40 ns × budget.
        self.budget = Self.baseBudget + Self.budgetPerCodePoint * (self.upper - self.lower)
        self.visited = VisitedStates.make(programCount: regex.programCount, width: self.upper - self.lower + 1)
    }

    @inline(__always)
    func inSet(_ i: Int32, _ c: UInt32) -> Bool {
        if c < 0x10000 {
            return bits[Int(i) &* Regex.bmpWords &+ Int(c >> 6)] >> UInt64(c & 63) & 1 != 0
        }
        return regex.sets[Int(i)].contains(c)
    }

    mutating func search(from: Int, stack: inout [Backtrack]) throws -> Range<Int>? {
        var start = max(from, lower)
        let first = Int32(regex.firstSet)
        while start <= upper {
            if first >= 0 {
                // Skip quickly to a position where a match can start.
                while start < upper && !inSet(first, text[start]) { start += 1 }
                if start >= upper { return nil }
            }
            stack.removeAll(keepingCapacity: true)
            let end = run(pc: 0, pos: start, stack: &stack, main: true)
            if budget < 0 {
                throw LoomError.unsupported("regex \(regex.pattern): matching needed too many steps (catastrophic backtracking)")
            }
            if end >= 0 {
                // States from the match end on may have been on the successful path (not failed);
                // a later search starting there must explore them again.
                visited?.clear(from: end - lower)
                return start..<end
            }
            start += 1
        }
        return nil
    }

    @inline(__always)
    private func isWord(_ pos: Int) -> Bool {
        guard pos >= lower && pos < upper else { return false }
        let c = text[pos]
        if flavor == .llamaCpp || c < 0x80 {
            return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        return CharInfo.isWordCharacter(c, latin1: true)
    }

    private func check(_ code: Int32, _ pos: Int) -> Bool {
        switch code {
        case 0: return pos == lower || text[pos - 1] == 0x0A
        case 1: return pos == upper || text[pos] == 0x0A
        case 2: return pos == lower
        case 3: return pos == upper
        case 4: return pos == upper || (pos == upper - 1 && text[pos] == 0x0A)
        case 5: return isWord(pos - 1) != isWord(pos)
        case 6: return isWord(pos - 1) == isWord(pos)
        default: return false
        }
    }

    /// Runs the program from `pc` at `pos`; returns the end of the first successful path or -1.
    /// Backtrack entries are pushed above the stack's current height and removed on return.
    mutating func run(pc pc0: Int, pos pos0: Int, stack: inout [Backtrack], main: Bool = false) -> Int {
        let base = stack.count
        defer { if stack.count > base { stack.removeLast(stack.count - base) } }
        var pc = pc0
        var pos = pos0
        let memo = main ? visited : nil
        while true {
            budget -= 1
            var ok = true
            let ins = prog[pc]
            if let memo, memo.testAndSet(pc, pos - lower) {
                ok = false
            } else {
            switch ins.op {
            case .char:
                if pos < upper && text[pos] == UInt32(bitPattern: ins.a) { pos += 1; pc += 1 } else { ok = false }
            case .charFold:
                if pos < upper && CaseMapping.fold(text[pos]) == UInt32(bitPattern: ins.a) { pos += 1; pc += 1 } else { ok = false }
            case .set:
                if pos < upper && inSet(ins.a, text[pos]) { pos += 1; pc += 1 } else { ok = false }
            case .split:
                stack.append(Backtrack(kind: 0, pc: ins.b, pos: Int32(pos), aux: 0))
                pc = Int(ins.a)
            case .jump:
                pc = Int(ins.a)
            case .repeatSet:
                let set = ins.a
                let minC = Int(ins.b)
                let maxC = ins.c < 0 ? Int.max : Int(ins.c)
                if ins.d == 1 {
                    // Lazy: take the minimum, remember how to take more.
                    var k = 0
                    while k < minC && pos + k < upper && inSet(set, text[pos + k]) { k += 1 }
                    if k < minC { ok = false; break }
                    pos += k
                    if k < maxC { stack.append(Backtrack(kind: 2, pc: Int32(pc), pos: Int32(pos), aux: Int32(k))) }
                    pc += 1
                } else {
                    var k = 0
                    while k < maxC && pos + k < upper && inSet(set, text[pos + k]) { k += 1 }
                    if k < minC { ok = false; break }
                    if let memo, ins.d == 0, ins.c < 0, minC <= 1 {
                        // Entering this unbounded repeat later inside the run just consumed
                        // can only reach continuations already tried from here.
                        var q = 1
                        while q <= k { memo.set(pc, pos + q - lower); q += 1 }
                    }
                    if ins.d == 0 && k > minC {
                        stack.append(Backtrack(kind: 1, pc: Int32(pc + 1), pos: Int32(pos + k), aux: Int32(pos + minC)))
                    }
                    pos += k
                    pc += 1
                }
            case .lookahead:
                let r = run(pc: pc + 1, pos: pos, stack: &stack, main: false)
                if (r >= 0) != (ins.b != 0) { pc = Int(ins.a) } else { ok = false }
            case .lookbehind:
                let len = Int(ins.c)
                var found = false
                if pos - len >= lower {
                    let r = run(pc: pc + 1, pos: pos - len, stack: &stack)
                    found = r == pos
                }
                if found != (ins.b != 0) { pc = Int(ins.a) } else { ok = false }
            case .atomic:
                let r = run(pc: pc + 1, pos: pos, stack: &stack)
                if r >= 0 { pos = r; pc = Int(ins.a) } else { ok = false }
            case .assert:
                if check(ins.a, pos) { pc += 1 } else { ok = false }
            case .match:
                return pos
            }
            }
            if ok { continue }
            if budget < 0 { return -1 }
            // Backtrack.
            var resumed = false
            while stack.count > base {
                let bt = stack.removeLast()
                switch bt.kind {
                case 0:
                    pc = Int(bt.pc)
                    pos = Int(bt.pos)
                    resumed = true
                case 1:
                    let e = Int(bt.pos) - 1
                    if e > Int(bt.aux) { stack.append(Backtrack(kind: 1, pc: bt.pc, pos: Int32(e), aux: bt.aux)) }
                    pc = Int(bt.pc)
                    pos = e
                    resumed = true
                default:
                    let rep = prog[Int(bt.pc)]
                    let p = Int(bt.pos)
                    let maxC = rep.c < 0 ? Int.max : Int(rep.c)
                    if p < upper && inSet(rep.a, text[p]) {
                        let k = Int(bt.aux) + 1
                        if k < maxC { stack.append(Backtrack(kind: 2, pc: bt.pc, pos: Int32(p + 1), aux: Int32(k))) }
                        pc = Int(bt.pc) + 1
                        pos = p + 1
                        resumed = true
                    }
                }
                if resumed { break }
            }
            if !resumed { return -1 }
        }
    }
}
