/// Unicode normalization (UAX #15) of code point sequences: NFD, NFC, NFKD and NFKC, for HF
/// tokenizers' normalizers (and BertNormalizer's strip_accents) and SentencePiece's NFKC.
/// The data is Unicode 14.0 from Python 3.11's unicodedata (NormalizationData, generated);
/// Hangul syllables are decomposed and composed algorithmically.
///
/// Text is processed between normalization boundaries: runs that pass the quick check are
/// copied as they are, and only the short segments around unstable code points are decomposed,
/// canonically reordered and (for NFC/NFKC) recomposed. So already-normalized text, the common
/// case, costs about a copy. Values that are not Unicode scalars (surrogates, above U+10FFFF)
/// pass through unchanged; nothing traps on any input.
enum UnicodeNormalization {
    enum Form: Sendable {
        case nfd, nfc, nfkd, nfkc

        var composes: Bool { self == .nfc || self == .nfkc }
        var isCompatibility: Bool { self == .nfkd || self == .nfkc }
    }

    /// `text` in normalization form `form` (the same array, uncopied, when it already is).
    static func normalize(_ text: [UInt32], _ form: Form) -> [UInt32] {
        let normalizer = FormNormalizer(form)
        return text.withUnsafeBufferPointer { input -> [UInt32] in
            let scan = normalizer.scanStable(input, from: 0)
            if scan.stop == input.count { return text }
            var out: [UInt32] = []
            // Room for a little growth: decompositions expand a few code points.
            out.reserveCapacity(input.count + input.count / 8 + 16)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: input[0..<scan.boundary]))
            normalizer.appendNormalized(input, from: scan.boundary, to: &out)
            return out
        }
    }

    /// Appends `text` in normalization form `form` to `out`. `text` must not alias `out`'s storage.
    static func appendNormalized(_ text: UnsafeBufferPointer<UInt32>, _ form: Form, to out: inout [UInt32]) {
        FormNormalizer(form).appendNormalized(text, from: 0, to: &out)
    }

    /// Whether `normalize(text, form)` would return `text` unchanged (exact, not just a quick check).
    static func isNormalized(_ text: [UInt32], _ form: Form) -> Bool {
        text.withUnsafeBufferPointer { isNormalized($0, form) }
    }

    static func isNormalized(_ text: UnsafeBufferPointer<UInt32>, _ form: Form) -> Bool {
        let normalizer = FormNormalizer(form)
        var scratch: [UInt32] = []
        var pos = 0
        while pos < text.count {
            let scan = normalizer.scanStable(text, from: pos)
            if scan.stop == text.count { return true }
            // The quick check only says "maybe": normalize the segment and compare.
            let end = normalizer.nextBoundary(text, after: scan.stop)
            let segment = UnsafeBufferPointer(rebasing: text[scan.boundary..<end])
            scratch.removeAll(keepingCapacity: true)
            normalizer.appendSegment(segment, to: &scratch)
            if !scratch.elementsEqual(segment) { return false }
            pos = end
        }
        return true
    }
}

/// One form's view of the tables.
private struct FormNormalizer {
    let tables: NormalizationTables
    let composes: Bool
    let compatibility: Bool
    /// Info bits that make a code point fail the quick check (mapping, or NFC_QC/NFKC_QC No or Maybe).
    let unstableMask: UInt32
    /// A code point with none of these bits is a boundary: nothing before it reorders past it or
    /// combines with it, so the text on either side normalizes independently.
    let notBoundaryMask: UInt32
    let stableBelow: UInt32

    init(_ form: UnicodeNormalization.Form) {
        tables = NormalizationTables.shared
        composes = form.composes
        compatibility = form.isCompatibility
        typealias Tables = NormalizationTables
        switch form {
        case .nfd:
            unstableMask = Tables.canonicalBit
            stableBelow = NormalizationData.nfdStableBelow
        case .nfkd:
            unstableMask = Tables.canonicalBit | Tables.compatibilityBit
            stableBelow = NormalizationData.nfkdStableBelow
        case .nfc:
            unstableMask = Tables.nfcNoBit | Tables.composesWithPreviousBit
            stableBelow = NormalizationData.nfcStableBelow
        case .nfkc:
            unstableMask = Tables.nfkcNoBit | Tables.composesWithPreviousBit
            stableBelow = NormalizationData.nfkcStableBelow
        }
        notBoundaryMask = unstableMask | Tables.combiningClassMask
    }

    /// Scans from `start` (a boundary) while the text passes the quick check. Returns where it
    /// stopped (`input.count` when all passed) and the last boundary at or before that point.
    @inline(__always)
    func scanStable(_ input: UnsafeBufferPointer<UInt32>, from start: Int) -> (boundary: Int, stop: Int) {
        var boundary = start
        var lastClass: UInt32 = 0
        var i = start
        let n = input.count
        while i < n {
            let cp = input[i]
            if cp < stableBelow {
                boundary = i
                lastClass = 0
                i += 1
                continue
            }
            let info = tables.info(cp)
            let combiningClass = info & NormalizationTables.combiningClassMask
            if info & unstableMask != 0 || (combiningClass != 0 && combiningClass < lastClass) {
                return (boundary, i)
            }
            if combiningClass == 0 { boundary = i }
            lastClass = combiningClass
            i += 1
        }
        return (boundary, n)
    }

    /// The first boundary after `index` (or `input.count`): a class-0 code point that passes the
    /// quick check, which nothing before it can combine with or reorder across.
    @inline(__always)
    func nextBoundary(_ input: UnsafeBufferPointer<UInt32>, after index: Int) -> Int {
        var i = index + 1
        while i < input.count {
            let cp = input[i]
            if cp < stableBelow || tables.info(cp) & notBoundaryMask == 0 { return i }
            i += 1
        }
        return input.count
    }

    func appendNormalized(_ input: UnsafeBufferPointer<UInt32>, from start: Int, to out: inout [UInt32]) {
        var pos = start
        while pos < input.count {
            let scan = scanStable(input, from: pos)
            if scan.stop == input.count {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[pos...]))
                return
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: input[pos..<scan.boundary]))
            let end = nextBoundary(input, after: scan.stop)
            appendSegment(UnsafeBufferPointer(rebasing: input[scan.boundary..<end]), to: &out)
            pos = end
        }
    }

    /// Decomposes, reorders and (for NFC/NFKC) recomposes one segment onto the end of `out`.
    func appendSegment(_ segment: UnsafeBufferPointer<UInt32>, to out: inout [UInt32]) {
        let start = out.count
        for cp in segment { appendDecomposition(of: cp, to: &out) }
        let end = out.withUnsafeMutableBufferPointer { buffer -> Int in
            let part = UnsafeMutableBufferPointer(rebasing: buffer[start...])
            reorderCombiningMarks(part)
            return composes ? start + compose(part) : buffer.count
        }
        if end < out.count { out.removeLast(out.count - end) }
    }

    @inline(__always)
    func appendDecomposition(of cp: UInt32, to out: inout [UInt32]) {
        let syllable = cp &- Hangul.sBase
        if syllable < Hangul.sCount {
            out.append(Hangul.lBase + syllable / Hangul.nCount)
            out.append(Hangul.vBase + (syllable % Hangul.nCount) / Hangul.tCount)
            let trailing = syllable % Hangul.tCount
            if trailing != 0 { out.append(Hangul.tBase + trailing) }
            return
        }
        let info = tables.info(cp)
        let record = Int(info >> NormalizationTables.recordShift)
        if record == 0 || (!compatibility && info & NormalizationTables.canonicalBit == 0) {
            out.append(cp)
            return
        }
        let header = tables.decompositions[record]
        let canonicalCount = Int(header & 0xFF)
        let compatibilityCount = Int((header >> 8) & 0xFF)
        let first = tables.decompositions + record + 1
        if compatibility && compatibilityCount > 0 {
            out.append(contentsOf: UnsafeBufferPointer(start: first + canonicalCount, count: compatibilityCount))
        } else if canonicalCount > 0 {
            out.append(contentsOf: UnsafeBufferPointer(start: first, count: canonicalCount))
        } else {
            out.append(cp)
        }
    }

    @inline(__always)
    func combiningClass(_ cp: UInt32) -> UInt32 { tables.info(cp) & NormalizationTables.combiningClassMask }

    /// Canonical ordering: a stable sort of each run of non-starters by combining class.
    func reorderCombiningMarks(_ buffer: UnsafeMutableBufferPointer<UInt32>) {
        var i = 0
        while i < buffer.count {
            if combiningClass(buffer[i]) == 0 {
                i += 1
                continue
            }
            var runEnd = i + 1
            while runEnd < buffer.count && combiningClass(buffer[runEnd]) != 0 { runEnd += 1 }
            if runEnd - i > 1 { sortRun(UnsafeMutableBufferPointer(rebasing: buffer[i..<runEnd])) }
            i = runEnd
        }
    }

    private func sortRun(_ run: UnsafeMutableBufferPointer<UInt32>) {
        guard run.count > 1 else { return }
        if run.count <= 32 {
            // Insertion sort: runs are almost always short and nearly sorted.
            for i in 1..<run.count {
                let cp = run[i]
                let cls = combiningClass(cp)
                var j = i
                while j > 0 && combiningClass(run[j - 1]) > cls {
                    run[j] = run[j - 1]
                    j -= 1
                }
                run[j] = cp
            }
            return
        }
        // Long (hostile) runs: sort (class, position) keys, which keeps it stable and O(n log n).
        let original = Array(run)
        var keys = original.indices.map { UInt64(combiningClass(original[$0])) << 48 | UInt64($0) }
        keys.sort()
        for (k, key) in keys.enumerated() {
            let from = Int(key & 0xFFFF_FFFF_FFFF)
            if from < original.count { run[k] = original[from] }
        }
    }

    /// Canonical composition in place; returns the new length.
    func compose(_ buffer: UnsafeMutableBufferPointer<UInt32>) -> Int {
        guard buffer.count > 1 else { return buffer.count }
        var starterIndex = 0
        var starter = buffer[0]
        // 256: no starter yet, so nothing can compose until one arrives.
        var lastClass: UInt32 = combiningClass(starter) == 0 ? 0 : 256
        var write = 1
        for read in 1..<buffer.count {
            let cp = buffer[read]
            let info = tables.info(cp)
            let cls = info & NormalizationTables.combiningClassMask
            // Not blocked: adjacent to the starter (lastClass 0) or every mark between has a lower class.
            if info & NormalizationTables.composesWithPreviousBit != 0, lastClass < cls || lastClass == 0,
               let composite = tables.composition(starter, cp) {
                buffer[starterIndex] = composite
                starter = composite
                continue
            }
            if cls == 0 {
                starterIndex = write
                starter = cp
            }
            lastClass = cls
            buffer[write] = cp
            write += 1
        }
        return write
    }
}

/// Hangul syllable arithmetic (Unicode §3.12).
enum Hangul {
    static let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
    static let lCount: UInt32 = 19, vCount: UInt32 = 21, tCount: UInt32 = 28
    static let nCount = vCount * tCount
    static let sCount = lCount * nCount
}

/// The normalization data as a two-level lookup table of per-code-point info words, a pool of
/// decompositions and a composition hash table; built once from NormalizationData on first use
/// and never written afterwards (safe to read from any thread; never freed).
struct NormalizationTables: @unchecked Sendable {
    static let combiningClassMask: UInt32 = 0xFF
    /// Has a canonical decomposition (Hangul syllables included): NFD_QC=No.
    static let canonicalBit: UInt32 = 1 << 8
    /// Has a compatibility decomposition that differs from the canonical one.
    static let compatibilityBit: UInt32 = 1 << 9
    static let nfcNoBit: UInt32 = 1 << 10
    static let nfkcNoBit: UInt32 = 1 << 11
    /// Second of some composition pair (NFC_QC=Maybe).
    static let composesWithPreviousBit: UInt32 = 1 << 12
    /// The high half is the index of the code point's decomposition record (0: none).
    static let recordShift: UInt32 = 16
    static let blockShift: UInt32 = 6
    static let blockSize = 1 << blockShift

    static let shared = NormalizationTables()

    let blockIndex: UnsafePointer<UInt16>
    let blocks: UnsafePointer<UInt32>
    /// Records: a header (canonical count | compatibility count << 8), then the canonical and
    /// the compatibility decompositions. Index 0 is a dummy so that 0 can mean "none".
    let decompositions: UnsafePointer<UInt32>
    let compositionKeys: UnsafePointer<UInt64>
    let compositionValues: UnsafePointer<UInt32>
    let compositionShift: UInt64
    let compositionMask: Int

    @inline(__always)
    func info(_ cp: UInt32) -> UInt32 {
        guard cp < NormalizationData.dataLimit else { return 0 }
        let block = Int(blockIndex[Int(cp >> Self.blockShift)])
        return blocks[block << Self.blockShift | Int(cp & UInt32(Self.blockSize - 1))]
    }

    /// The primary composite of `first` and `second`, if any.
    @inline(__always)
    func composition(_ first: UInt32, _ second: UInt32) -> UInt32? {
        if second &- Hangul.vBase < Hangul.vCount {
            let leading = first &- Hangul.lBase
            guard leading < Hangul.lCount else { return nil }
            return Hangul.sBase + (leading * Hangul.vCount + (second - Hangul.vBase)) * Hangul.tCount
        }
        // Trailing consonants are U+11A8...U+11C2 (tBase itself is not one).
        if second &- (Hangul.tBase + 1) < Hangul.tCount - 1 {
            let syllable = first &- Hangul.sBase
            guard syllable < Hangul.sCount, syllable % Hangul.tCount == 0 else { return nil }
            return first + (second - Hangul.tBase)
        }
        let key = Self.compositionKey(first, second)
        var slot = Int(truncatingIfNeeded: Self.hash(key) >> compositionShift)
        while true {
            let k = compositionKeys[slot]
            if k == key { return compositionValues[slot] }
            if k == Self.emptyKey { return nil }
            slot = (slot + 1) & compositionMask
        }
    }

    private static let emptyKey = UInt64.max

    @inline(__always)
    private static func compositionKey(_ first: UInt32, _ second: UInt32) -> UInt64 {
        // Seconds are scalars (21 bits), so any first, valid or not, gives a distinct key.
        UInt64(first) << 21 | UInt64(second & 0x1F_FFFF)
    }

    @inline(__always)
    private static func hash(_ key: UInt64) -> UInt64 { key &* 0x9E37_79B9_7F4A_7C15 }

    private init() {
        let limit = Int(NormalizationData.dataLimit)
        var info = [UInt32](repeating: 0, count: limit)
        func setBits(_ first: UInt32, _ last: UInt32, _ bits: UInt32) {
            guard first <= last, Int(last) < limit else { return }
            for cp in first...last { info[Int(cp)] |= bits }
        }

        Self.parse(NormalizationData.combiningClasses) { n in
            if n.count == 2 { setBits(n[0], n[0], n[1] & Self.combiningClassMask) }
            if n.count == 3 { setBits(n[0], n[1], n[2] & Self.combiningClassMask) }
        }
        Self.parse(NormalizationData.nfcUnstable) { n in
            if n.count == 1 { setBits(n[0], n[0], Self.nfcNoBit) }
            if n.count == 2 { setBits(n[0], n[1], Self.nfcNoBit) }
        }
        Self.parse(NormalizationData.nfkcUnstable) { n in
            if n.count == 1 { setBits(n[0], n[0], Self.nfkcNoBit) }
            if n.count == 2 { setBits(n[0], n[1], Self.nfkcNoBit) }
        }
        setBits(Hangul.sBase, Hangul.sBase + Hangul.sCount - 1, Self.canonicalBit)
        setBits(Hangul.vBase, Hangul.vBase + Hangul.vCount - 1, Self.composesWithPreviousBit)
        setBits(Hangul.tBase + 1, Hangul.tBase + Hangul.tCount - 1, Self.composesWithPreviousBit)

        // Decomposition records.
        var canonical: [UInt32: [UInt32]] = [:]
        var compatibility: [UInt32: [UInt32]] = [:]
        Self.parse(NormalizationData.canonicalDecompositions) { n in
            if n.count >= 2 { canonical[n[0]] = Array(n.dropFirst()) }
        }
        Self.parse(NormalizationData.compatibilityDecompositions) { n in
            if n.count >= 2 { compatibility[n[0]] = Array(n.dropFirst()) }
        }
        var pool: [UInt32] = [0]
        for cp in Set(canonical.keys).union(compatibility.keys).sorted() where Int(cp) < limit {
            let canon = canonical[cp] ?? []
            let compat = compatibility[cp] ?? []
            // Counts fit the header's bytes and the index the info word's high half (checked, not assumed).
            guard canon.count < 256, compat.count < 256, pool.count < 1 << 16 else { continue }
            info[Int(cp)] |= UInt32(pool.count) << Self.recordShift
                | (canon.isEmpty ? 0 : Self.canonicalBit) | (compat.isEmpty ? 0 : Self.compatibilityBit)
            pool.append(UInt32(canon.count) | UInt32(compat.count) << 8)
            pool += canon
            pool += compat
        }
        decompositions = Self.permanent(pool)

        // Composition hash table, at most half full so that probes stay short and always end.
        var pairs: [(key: UInt64, composite: UInt32)] = []
        Self.parse(NormalizationData.compositions) { n in
            guard n.count == 3 else { return }
            pairs.append((Self.compositionKey(n[0], n[1]), n[2]))
            setBits(n[1], n[1], Self.composesWithPreviousBit)
        }
        var bits = 4
        while 1 << bits < 2 * pairs.count { bits += 1 }
        let capacity = 1 << bits
        var keys = [UInt64](repeating: Self.emptyKey, count: capacity)
        var values = [UInt32](repeating: 0, count: capacity)
        let shift = UInt64(64 - bits)
        for pair in pairs {
            var slot = Int(truncatingIfNeeded: Self.hash(pair.key) >> shift)
            while keys[slot] != Self.emptyKey && keys[slot] != pair.key { slot = (slot + 1) & (capacity - 1) }
            keys[slot] = pair.key
            values[slot] = pair.composite
        }
        compositionShift = shift
        compositionMask = capacity - 1
        compositionKeys = Self.permanent(keys)
        compositionValues = Self.permanent(values)

        // Two-level table: identical 64-code-point blocks (most are all zero) are stored once.
        var index: [UInt16] = []
        var data: [UInt32] = []
        var seen: [[UInt32]: UInt16] = [:]
        var blockStart = 0
        while blockStart < limit {
            var block = Array(info[blockStart..<min(blockStart + Self.blockSize, limit)])
            block += [UInt32](repeating: 0, count: Self.blockSize - block.count)
            if let known = seen[block] {
                index.append(known)
            } else {
                let number = UInt16(truncatingIfNeeded: seen.count)
                seen[block] = number
                data += block
                index.append(number)
            }
            blockStart += Self.blockSize
        }
        blockIndex = Self.permanent(index)
        blocks = Self.permanent(data)
    }

    /// Copies `array` to memory that lives as long as the process.
    private static func permanent<T>(_ array: [T]) -> UnsafePointer<T> {
        let memory = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
        array.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { memory.initialize(from: base, count: source.count) }
        }
        return UnsafePointer(memory)
    }

    /// Calls `token` with the hexadecimal numbers of each white-space separated token of `text`
    /// (numbers inside a token are separated by any other character).
    private static func parse(_ text: StaticString, _ token: ([UInt32]) -> Void) {
        text.withUTF8Buffer { bytes in
            var numbers: [UInt32] = []
            var value: UInt32 = 0
            var inNumber = false
            for byte in bytes {
                let digit: UInt32?
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: digit = nil
                }
                if let digit {
                    value = value &<< 4 | digit
                    inNumber = true
                    continue
                }
                if inNumber { numbers.append(value) }
                value = 0
                inNumber = false
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                    if !numbers.isEmpty { token(numbers) }
                    numbers.removeAll(keepingCapacity: true)
                }
            }
            if inNumber { numbers.append(value) }
            if !numbers.isEmpty { token(numbers) }
        }
    }
}
