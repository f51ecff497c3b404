/// Immutable open-addressing hash tables used on the hot path (no Swift Dictionary, no String).

/// Byte string → Int32. Keys live in one arena; built once, then read-only.
struct ByteStringTable {
    private var arena: [UInt8] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var values: [Int32] = []
    /// Entry index + 1, 0 for an empty slot.
    private var slots: [Int32] = []
    private var mask = 0

    var count: Int { values.count }

    /// A valid pointer for zero-length keys.
    private static let emptyKey: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        // FNV-1a, then a final avalanche.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<n {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    /// Builds a table from (key, value) pairs; for duplicate keys `keepFirst` decides which value
    /// stays.
    init(expectedCount: Int) {
        var cap = 16
        while cap < max(expectedCount, 1) * 2 { cap <<= 1 }
        slots = [Int32](repeating: 0, count: cap)
        mask = cap - 1
    }

    /// id → text table of strings (the last duplicate wins).
    init(strings: [String]) {
        self.init(expectedCount: strings.count)
        for (i, t) in strings.enumerated() { insert(t, Int32(i)) }
    }

    func lookup(_ key: String) -> Int32? {
        var k = key
        return k.withUTF8 { b in
            guard let base = b.baseAddress else {
                var z: UInt8 = 0
                return lookup(&z, 0)
            }
            return lookup(base, b.count)
        }
    }

    init() {
        slots = [Int32](repeating: 0, count: 16)
        mask = 15
    }

    private mutating func grow() {
        let cap = slots.count * 2
        slots = [Int32](repeating: 0, count: cap)
        mask = cap - 1
        arena.withUnsafeBufferPointer { a in
            // (The arena is empty when every key is the empty string; hashing length 0 reads nothing.)
            let base = a.baseAddress ?? Self.emptyKey
            for e in 0..<values.count {
                let h = Int(truncatingIfNeeded: Self.hash(base + Int(keyStart[e]), Int(keyLength[e])))
                var s = h & mask
                while slots[s] != 0 { s = (s + 1) & mask }
                slots[s] = Int32(e + 1)
            }
        }
    }

    mutating func insert(_ key: [UInt8], _ value: Int32, keepFirst: Bool = false) {
        key.withUnsafeBufferPointer { insert($0, value, keepFirst: keepFirst) }
    }

    mutating func insert(_ key: String, _ value: Int32, keepFirst: Bool = false) {
        var k = key
        k.withUTF8 { insert($0, value, keepFirst: keepFirst) }
    }

    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, _ value: Int32, keepFirst: Bool = false) {
        if (values.count + 1) * 2 > slots.count { grow() }
        var z: UInt8 = 0
        let n = key.count
        let done: Bool = withUnsafePointer(to: &z) { zp in
            let kp = key.baseAddress ?? zp
            let h = Self.hash(kp, n)
            var s = Int(truncatingIfNeeded: h) & mask
            let found: Int? = arena.withUnsafeBufferPointer { a in
                while slots[s] != 0 {
                    let e = Int(slots[s] - 1)
                    if Int(keyLength[e]) == n && (n == 0 || memcmpEqual(a.baseAddress! + Int(keyStart[e]), kp, n)) { return e }
                    s = (s + 1) & mask
                }
                return nil
            }
            if let e = found {
                if !keepFirst { values[e] = value }
                return true
            }
            slots[s] = Int32(values.count + 1)
            return false
        }
        if done { return }
        keyStart.append(Int32(arena.count))
        keyLength.append(Int32(n))
        arena.append(contentsOf: key)
        values.append(value)
    }

    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        let h = Self.hash(p, n)
        return slots.withUnsafeBufferPointer { sl in
            arena.withUnsafeBufferPointer { a in
                var s = Int(truncatingIfNeeded: h) & mask
                while true {
                    let e1 = Int(sl[s])
                    if e1 == 0 { return nil }
                    let e = e1 - 1
                    if Int(keyLength[e]) == n && (n == 0 || memcmpEqual(a.baseAddress! + Int(keyStart[e]), p, n)) {
                        return values[e]
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }

    func lookup(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else {
                var z: UInt8 = 0
                return lookup(&z, 0)
            }
            return lookup(base, b.count)
        }
    }

    func lookup(_ key: UnsafeRawBufferPointer) -> Int32? {
        guard let base = key.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            var z: UInt8 = 0
            return lookup(&z, 0)
        }
        return lookup(base, key.count)
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// (Int32, Int32) pair → (rank, result id), for BPE merges.
struct PairTable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(expectedCount: Int) {
        var cap = 16
        while cap < max(expectedCount, 1) * 2 { cap <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: cap)
        vals = [UInt64](repeating: 0, count: cap)
        mask = cap - 1
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    /// Inserts; with `keepFirst` an existing key keeps its value (llama.cpp's emplace), otherwise
    /// it is overwritten (HF's HashMap insert).
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int32, result: Int32, keepFirst: Bool) {
        if (count + 1) * 2 > keys.count { grow() }
        let k = Self.key(a, b)
        var s = Self.slot(k, mask)
        while keys[s] != Self.empty {
            if keys[s] == k {
                if !keepFirst { vals[s] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result)) }
                return
            }
            s = (s + 1) & mask
        }
        keys[s] = k
        vals[s] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result))
        count += 1
    }

    private mutating func grow() {
        let oldK = keys, oldV = vals
        let cap = keys.count * 2
        keys = [UInt64](repeating: Self.empty, count: cap)
        vals = [UInt64](repeating: 0, count: cap)
        mask = cap - 1
        for i in 0..<oldK.count where oldK[i] != Self.empty {
            var s = Self.slot(oldK[i], mask)
            while keys[s] != Self.empty { s = (s + 1) & mask }
            keys[s] = oldK[i]
            vals[s] = oldV[i]
        }
    }

    /// Read-only view for hot loops.
    func withView<R>(_ body: (PairTableView) throws -> R) rethrows -> R {
        try keys.withUnsafeBufferPointer { k in
            try vals.withUnsafeBufferPointer { v in
                try body(PairTableView(keys: k.baseAddress!, vals: v.baseAddress!, mask: mask))
            }
        }
    }
}

struct PairTableView {
    let keys: UnsafePointer<UInt64>
    let vals: UnsafePointer<UInt64>
    let mask: Int

    /// Packed (rank << 32 | result) or UInt64.max when the pair does not merge.
    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> UInt64 {
        let k = PairTable.key(a, b)
        var s = PairTable.slot(k, mask)
        while true {
            let kk = keys[s]
            if kk == k { return vals[s] }
            if kk == UInt64.max { return UInt64.max }
            s = (s + 1) & mask
        }
    }
}
