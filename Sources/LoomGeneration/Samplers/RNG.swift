/// The random number generator of Loom's sampling: xoshiro256** 1.0 (Blackman & Vigna, 2018,
/// https://prng.di.unimi.it/xoshiro256starstar.c), a 256-bit-state generator with period 2^256 − 1.
///
/// Seeding is fully specified so that a seed means the same token stream on every platform and in every
/// binding: the four state words are the first four outputs of SplitMix64 started at `seed` (the seeding
/// the authors recommend; it never yields the all-zero state). `nextUnitDouble()` is the top 53 bits of
/// `next()` scaled by 2^-53, a double in [0, 1).
///
/// A value type: copy it to fork a stream. Conforms to `RandomNumberGenerator`, so
/// `Int.random(in:using:)` and friends work with it too.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var s0: UInt64
    public private(set) var s1: UInt64
    public private(set) var s2: UInt64
    public private(set) var s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A uniform double in [0, 1): (next() >> 11) · 2^-53.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// SplitMix64 (Steele, Lea & Flood, 2014; https://prng.di.unimi.it/splitmix64.c): used to expand a
/// 64-bit seed into xoshiro's state.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: UInt64

    public init(state: UInt64) { self.state = state }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
