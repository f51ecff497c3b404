import LoomCore
#if canImport(Glibc)
import Glibc
#endif

/// Settings of a BPE training run, with the meanings of HF tokenizers' `BpeTrainer`.
public struct BPETrainingOptions: Sendable, Equatable {
    /// Target vocabulary size, special tokens and the initial alphabet included (HF's default 30000).
    public var vocabSize: Int
    /// Added first, with ids 0, 1, ... (duplicates are dropped). Written as special added tokens.
    public var specialTokens: [String]
    /// Training stops when the most frequent pair occurs fewer times than this (0 and 1: never).
    public var minFrequency: Int
    /// true: HF `ByteLevel(add_prefix_space=False)` pre-tokenizer (GPT-2 regex), all 256 byte-level
    /// characters as the initial alphabet, ByteLevel decoder and post-processor. false: HF
    /// `Whitespace` pre-tokenization (`\w+|[^\w\s]+`), alphabet from the data, no decoder.
    public var byteLevel: Bool
    /// The model's unknown token (added after the special tokens if they lack it); nil for none.
    public var unkToken: String?
    /// HF `limit_alphabet`: keep at most this many initial characters (the most frequent ones).
    public var limitAlphabet: Int?
    /// Threads that pre-tokenize and count words; 0 picks one per core (at most 8).
    public var threadCount: Int

    public init(vocabSize: Int = 30000, specialTokens: [String] = [], minFrequency: Int = 0, byteLevel: Bool = true,
                unkToken: String? = nil, limitAlphabet: Int? = nil, threadCount: Int = 0) {
        self.vocabSize = vocabSize
        self.specialTokens = specialTokens
        self.minFrequency = minFrequency
        self.byteLevel = byteLevel
        self.unkToken = unkToken
        self.limitAlphabet = limitAlphabet
        self.threadCount = threadCount
    }
}

/// Trains a BPE model the way HF tokenizers' `BpeTrainer` does, with the same vocabulary and merges
/// (same ids, same order) for the same input: word counts from the pre-tokenizer, the initial
/// alphabet sorted by code point, then repeatedly the most frequent pair (ties: the smallest pair of
/// ids) merged in every word that holds it, pair counts updated incrementally.
///
/// Feed sequences with `addText` / `addFile`, then call `train()`. Not thread-safe while feeding;
/// `train()` itself may use several threads.
public struct BPETrainer: Sendable {
    public var options: BPETrainingOptions
    /// Every sequence back to back, as valid UTF-8, and the start of each.
    private var text: [UInt8] = []
    private var starts: [Int] = []

    /// Largest vocabulary a tokenizer.json may have in Loom (`Tokenizer.maxTokenID`).
    public static let maxVocabSize = 1 << 24

    public init(options: BPETrainingOptions = BPETrainingOptions()) {
        self.options = options
    }

    /// Sequences fed so far.
    public var sequenceCount: Int { starts.count }

    /// Bytes fed so far.
    public var byteCount: Int { text.count }

    /// Adds one sequence, like one item of HF's `train_from_iterator`.
    public mutating func addText(_ s: String) {
        starts.append(text.count)
        text.append(contentsOf: s.utf8)
    }

    /// Adds one sequence of UTF-8 bytes (invalid sequences become U+FFFD).
    public mutating func addText(utf8 bytes: UnsafeRawBufferPointer) {
        starts.append(text.count)
        appendRepaired(bytes)
    }

    /// Adds a file one line at a time (each line keeps its "\n"), as HF's `Tokenizer.train(files)`
    /// reads files. Invalid UTF-8 becomes U+FFFD.
    public mutating func addFile(_ path: String) throws {
        guard !isDirectory(path) else { throw LoomError.io("'\(path)' is a directory, not a text file") }
        let file = try MappedFile(path: path)
        let before = text.count
        appendRepaired(file.bytes)
        var lineStart = before
        var i = before
        let end = text.count
        text.withUnsafeBufferPointer { t in
            while i < end {
                if t[i] == 0x0A {
                    starts.append(lineStart)
                    lineStart = i + 1
                }
                i += 1
            }
        }
        if lineStart < end { starts.append(lineStart) }
    }

    /// Appends bytes to `text`, replacing invalid UTF-8 the standard way (one U+FFFD per maximal
    /// invalid subpart), so that later decoding needs no checks.
    private mutating func appendRepaired(_ bytes: UnsafeRawBufferPointer) {
        let b = bytes.bindMemory(to: UInt8.self)
        if validUTF8(b) {
            text.append(contentsOf: b)
        } else {
            text.append(contentsOf: String(decoding: b, as: UTF8.self).utf8)
        }
    }

    private func validUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var it = b.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    private func sequence(_ i: Int) -> Range<Int> {
        starts[i]..<(i + 1 < starts.count ? starts[i + 1] : text.count)
    }

    // MARK: training

    public func train() throws -> TrainedBPE {
        let o = options
        guard o.vocabSize > 0, o.vocabSize <= Self.maxVocabSize else {
            throw LoomError.invalidArgument("vocab_size \(o.vocabSize) is outside 1...\(Self.maxVocabSize)")
        }
        guard o.minFrequency >= 0 else { throw LoomError.invalidArgument("min_frequency is negative") }
        if let l = o.limitAlphabet, l < 0 { throw LoomError.invalidArgument("limit_alphabet is negative") }
        for (k, s) in o.specialTokens.enumerated() where s.isEmpty {
            throw LoomError.invalidArgument("special token \(k) is empty")
        }
        if let u = o.unkToken, u.isEmpty { throw LoomError.invalidArgument("unk_token is empty") }

        // Word and symbol positions are Int32.
        guard text.count < Int(Int32.max) else { throw LoomError.outOfRange("more than 2 GiB of training text") }
        let words = try countWords()

        // 1. Special tokens, then the unknown token.
        var vocab = VocabBuilder()
        var specials: [String] = []
        for s in o.specialTokens + (o.unkToken.map { [$0] } ?? []) where vocab.id(Array(s.utf8)) == nil {
            _ = vocab.add(Array(s.utf8))
            specials.append(s)
        }

        // 2. The alphabet: characters of the words (by frequency) plus the byte-level ones, limited
        //    to the most frequent `limitAlphabet`, added in code point order.
        var charCount: [UInt32: Int] = [:]
        if o.byteLevel {
            for cp in ByteLevel.byteToScalar { charCount[cp] = Int.max }
        } else {
            var scalars: [UInt32] = []
            for w in 0..<words.count {
                scalars.removeAll(keepingCapacity: true)
                words.withKey(w) { UTF8Coding.decode(UnsafeRawBufferPointer($0), into: &scalars) }
                let c = words.counts[w]
                for s in scalars { charCount[s, default: 0] &+= c }
            }
        }
        var kept = charCount.map { (cp: $0.key, count: $0.value) }
        if let limit = o.limitAlphabet, kept.count > limit {
            // HF drops the least frequent; ties are broken by code point here (HF leaves them unordered).
            kept.sort { $0.count != $1.count ? $0.count < $1.count : $0.cp < $1.cp }
            kept.removeFirst(kept.count - limit)
        }
        kept.sort { $0.cp < $1.cp }
        var charSymbol: [UInt32: Int32] = [:]
        for k in kept {
            let text = UTF8Coding.encode([k.cp])
            charSymbol[k.cp] = vocab.id(text) ?? vocab.add(text)
        }
        guard vocab.count > 0 else { throw LoomError.invalidArgument("no training text and no special tokens: the vocabulary would be empty") }
        guard o.vocabSize >= vocab.count else {
            throw LoomError.invalidArgument("vocab_size \(o.vocabSize) is smaller than the \(specials.count) special tokens "
                + "+ \(vocab.count - specials.count) initial characters it must hold (\(vocab.count))")
        }

        // 3. Words as symbol ids (characters outside the alphabet are left out, as HF does).
        var symbols: [Int32] = []
        symbols.reserveCapacity(words.arena.count)
        var wordStart: [Int32] = []
        var wordLength: [Int32] = []
        wordStart.reserveCapacity(words.count)
        wordLength.reserveCapacity(words.count)
        if o.byteLevel {
            var byteSymbol = [Int32](repeating: -1, count: 256)
            for b in 0..<256 { byteSymbol[b] = charSymbol[ByteLevel.byteToScalar[b]] ?? -1 }
            for w in 0..<words.count {
                wordStart.append(Int32(symbols.count))
                words.withKey(w) { key in
                    for b in key {
                        let s = byteSymbol[Int(b)]
                        if s >= 0 { symbols.append(s) }
                    }
                }
                wordLength.append(Int32(symbols.count) - wordStart[w])
            }
        } else {
            var scalars: [UInt32] = []
            for w in 0..<words.count {
                wordStart.append(Int32(symbols.count))
                scalars.removeAll(keepingCapacity: true)
                words.withKey(w) { UTF8Coding.decode(UnsafeRawBufferPointer($0), into: &scalars) }
                for c in scalars { if let s = charSymbol[c] { symbols.append(s) } }
                wordLength.append(Int32(symbols.count) - wordStart[w])
            }
        }

        // 4-5. Pair counts and merges.
        var loop = BPEMergeLoop(symbols: symbols, wordStart: wordStart, wordLength: wordLength, wordCount: words.counts)
        let merges = loop.run(vocab: &vocab, vocabSize: o.vocabSize, minFrequency: o.minFrequency)

        return TrainedBPE(tokens: vocab.tokens.map { String(decoding: $0, as: UTF8.self) },
                          mergeIDs: merges, specialTokens: specials, options: o,
                          distinctWords: words.count, sequences: starts.count)
    }

    /// Pre-tokenizes every sequence and counts the distinct words (as UTF-8 of the original text),
    /// splitting the sequences between threads.
    private func countWords() throws -> WordTable {
        let pre: PreTokenizer
        if options.byteLevel {
            pre = PreTokenizer(steps: [.byteLevel(addPrefixSpace: false, useRegex: true)])
        } else {
            pre = PreTokenizer(steps: [.split(try Regex(BPETrainer.whitespacePattern, flavor: .oniguruma), literal: [],
                                              behavior: .removed, invert: true)])
        }
        var threads = options.threadCount > 0 ? options.threadCount : max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        // Below ~64 KiB per thread, starting threads costs more than it saves.
        threads = max(1, min(threads, 64, text.count / 65536, starts.count))
        let n = starts.count
        if threads == 1 {
            var table = WordTable()
            try countWords(0..<n, pre, &table)
            return table
        }
        // Chunks of about equal bytes, one per thread.
        var bounds = [0]
        var next = 1
        for i in 0..<n where next < threads && starts[i] >= text.count * next / threads {
            if i > bounds[bounds.count - 1] { bounds.append(i) }
            next += 1
        }
        bounds.append(n)
        let chunks = bounds.count - 1
        let tables = UnsafeMutablePointer<WordTable>.allocate(capacity: chunks)
        tables.initialize(repeating: WordTable(), count: chunks)
        let failures = UnsafeMutablePointer<LoomError?>.allocate(capacity: chunks)
        failures.initialize(repeating: nil, count: chunks)
        defer {
            tables.deinitialize(count: chunks)
            tables.deallocate()
            failures.deinitialize(count: chunks)
            failures.deallocate()
        }
        let pool = ThreadPool(threadCount: chunks)
        let workers = pool.activeThreads
        pool.run { t in
            // A pool smaller than asked for (thread creation failed) takes the chunks in turns.
            var c = t
            while c < chunks {
                do { try countWords(bounds[c]..<bounds[c + 1], pre, &tables[c]) } catch let e as LoomError {
                    failures[c] = e
                } catch {
                    failures[c] = LoomError(.internal, "\(error)")
                }
                c += workers
            }
        }
        for c in 0..<chunks { if let e = failures[c] { throw e } }
        var table = tables[0]
        for c in 1..<chunks { table.merge(tables[c]) }
        return table
    }

    private func countWords(_ range: Range<Int>, _ pre: PreTokenizer, _ table: inout WordTable) throws {
        var scalars: [UInt32] = []
        var offsets: [Int] = []
        try text.withUnsafeBufferPointer { t in
            guard let base = t.baseAddress else { return }
            for i in range {
                let r = sequence(i)
                scalars.removeAll(keepingCapacity: true)
                UTF8Coding.decode(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: t[r])), into: &scalars)
                let pieces = try pre.run(scalars)
                // Byte offset of each code point (the text is valid UTF-8 and no step rewrites it).
                offsets.removeAll(keepingCapacity: true)
                var o = r.lowerBound
                for c in scalars {
                    offsets.append(o)
                    o += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
                }
                offsets.append(o)
                guard o == r.upperBound, pieces.text.count == scalars.count else {
                    throw LoomError(.internal, "pre-tokenizer changed the training text")
                }
                let b = pieces.bounds
                var k = 0
                while k + 1 < b.count {
                    let lo = offsets[b[k]], hi = offsets[b[k + 1]]
                    if hi > lo { table.add(base + lo, hi - lo, count: 1) }
                    k += 2
                }
            }
        }
    }

    /// HF's `Whitespace` pre-tokenizer (tokenizer.json writes it as the equivalent inverted Split).
    static let whitespacePattern = "\\w+|[^\\w\\s]+"
}

/// The outcome of `BPETrainer.train()`: vocabulary, merges and what to write to tokenizer.json.
public struct TrainedBPE: Sendable {
    /// Token texts by id (byte-level spelling for byte-level models, e.g. "Ġthe").
    public let tokens: [String]
    /// Merges in rank order as pairs of ids into `tokens` (a pair HF merged twice is listed once,
    /// at its later rank, as HF writes it).
    public let mergeIDs: [(Int32, Int32)]
    /// The special tokens (and unknown token) at the start of the vocabulary, without duplicates.
    public let specialTokens: [String]
    public let options: BPETrainingOptions
    /// Distinct pre-tokenized words and sequences seen.
    public let distinctWords: Int
    public let sequences: Int

    public var merges: [(String, String)] { mergeIDs.map { (tokens[Int($0.0)], tokens[Int($0.1)]) } }

    /// tokenizer.json text, compact, byte for byte what HF tokenizers' `Tokenizer.to_str()` writes
    /// for the same training.
    public func tokenizerJSON() -> String { TokenizerJSONWriter.write(self) }

    /// The trained tokenizer, loaded through `Tokenizer.load(tokenizerJSON:tokenizerConfig:)`.
    public func makeTokenizer() throws -> Tokenizer {
        try Tokenizer.load(tokenizerJSON: try JSONParser.parse(Array(tokenizerJSON().utf8)), tokenizerConfig: nil)
    }

    /// Writes tokenizer.json to `path` (replacing it).
    public func write(to path: String) throws {
        try writeWholeFile(path, Array(tokenizerJSON().utf8))
    }
}

/// Writes `bytes` to `path`, reporting every failure as an I/O error.
func writeWholeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard let f = fopen(path, "wb") else {
        throw LoomError.io("cannot open '\(path)' for writing: \(String(cString: strerror(errno)))")
    }
    let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
    let writeErrno = errno
    let closed = fclose(f)
    guard written == bytes.count else {
        throw LoomError.io("cannot write '\(path)': \(String(cString: strerror(writeErrno)))")
    }
    guard closed == 0 else { throw LoomError.io("cannot write '\(path)': \(String(cString: strerror(errno)))") }
}

/// The growing vocabulary: token texts (UTF-8) by id, and the reverse map.
struct VocabBuilder {
    private(set) var tokens: [[UInt8]] = []
    private var ids: [[UInt8]: Int32] = [:]

    var count: Int { tokens.count }

    func id(_ text: [UInt8]) -> Int32? { ids[text] }

    mutating func add(_ text: [UInt8]) -> Int32 {
        let id = Int32(tokens.count)
        tokens.append(text)
        ids[text] = id
        return id
    }
}

/// Distinct byte strings with counts: one arena, open addressing (no per-word allocation).
struct WordTable {
    private(set) var arena: [UInt8] = []
    private var start: [Int] = []
    private var length: [Int32] = []
    private(set) var counts: [Int] = []
    private var hashes: [UInt64] = []
    /// Entry index + 1; 0 marks an empty slot.
    private var slots = [Int32](repeating: 0, count: 1024)

    var count: Int { counts.count }

    func withKey<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try arena.withUnsafeBufferPointer { a in
            try body(UnsafeBufferPointer(rebasing: a[start[i]..<(start[i] + Int(length[i]))]))
        }
    }

    @inline(__always)
    private static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, count c: Int) {
        add(p, n, count: c, hash: Self.hash(p, n))
    }

    private mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, count c: Int, hash h: UInt64) {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        let found: Int? = arena.withUnsafeBufferPointer { a in
            while true {
                let e = Int(slots[s])
                if e == 0 { return nil }
                let i = e - 1
                if hashes[i] == h, Int(length[i]) == n, let ab = a.baseAddress, memcmp(ab + start[i], p, n) == 0 {
                    return i
                }
                s = (s + 1) & mask
            }
        }
        if let i = found {
            counts[i] &+= c
            return
        }
        let i = counts.count
        start.append(arena.count)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        length.append(Int32(n))
        counts.append(c)
        hashes.append(h)
        slots[s] = Int32(i + 1)
        if counts.count * 2 > slots.count { grow() }
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for i in 0..<counts.count {
            var s = Int(truncatingIfNeeded: hashes[i]) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(i + 1)
        }
    }

    /// Adds every word of `other` with its count.
    mutating func merge(_ other: WordTable) {
        other.arena.withUnsafeBufferPointer { a in
            guard let base = a.baseAddress else {
                // Only empty words (never produced) would have no arena.
                return
            }
            for i in 0..<other.count {
                add(base + other.start[i], Int(other.length[i]), count: other.counts[i], hash: other.hashes[i])
            }
        }
    }
}
