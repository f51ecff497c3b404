import CLoomSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction-set levels Loom's kernels are built for. One build carries all of them; the
/// level is chosen at run time from CPUID (and may be lowered with `LOOM_ISA`).
public enum ISALevel: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// Portable Swift, no CPU-specific code (any x86-64 or other architecture).
    case scalar = 0
    /// x86-64 with AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE (Haswell and later; `-target-cpu haswell`).
    case avx2 = 1
    /// AVX-512 F/CD/BW/DQ/VL on top of the AVX2 set (`-target-cpu skylake-avx512`).
    case avx512 = 2

    public static func < (a: ISALevel, b: ISALevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .scalar: return "scalar"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    /// Parses `scalar`, `avx2`, `avx512` (case-insensitive).
    public init?(name: String) {
        switch name.lowercased() {
        case "scalar", "generic", "none": self = .scalar
        case "avx2": self = .avx2
        case "avx512", "avx-512": self = .avx512
        default: return nil
        }
    }
}

/// What the CPU this process runs on can execute, from CPUID and XCR0 (OS-enabled register state).
public struct CPUFeatures: Sendable, CustomStringConvertible {
    public var avx = false, avx2 = false, fma = false, f16c = false
    public var bmi1 = false, bmi2 = false, lzcnt = false, movbe = false, popcnt = false
    public var avx512f = false, avx512cd = false, avx512bw = false, avx512dq = false, avx512vl = false
    public var avx512vnni = false, avx512bf16 = false, avx512vbmi = false, avxvnni = false
    /// AMX tile instructions exist. Using them additionally needs arch_prctl(ARCH_REQ_XCOMP_PERM);
    /// Loom's kernels do not use AMX.
    public var amxTile = false, amxInt8 = false, amxBF16 = false
    /// The OS saves ymm (XCR0 bits 1–2) and zmm/opmask state (bits 5–7).
    public var osAVX = false, osAVX512 = false

    /// The features of the running CPU (detected once).
    public static let host = CPUFeatures.detect()

    /// The best kernel level this CPU supports.
    public var bestISA: ISALevel {
        if supports(.avx512) { return .avx512 }
        if supports(.avx2) { return .avx2 }
        return .scalar
    }

    /// Whether kernels built for `level` can run here.
    public func supports(_ level: ISALevel) -> Bool {
        switch level {
        case .scalar:
            return true
        case .avx2:
            return osAVX && avx && avx2 && fma && f16c && bmi1 && bmi2 && lzcnt && movbe && popcnt
        case .avx512:
            return supports(.avx2) && osAVX512 && avx512f && avx512cd && avx512bw && avx512dq && avx512vl
        }
    }

    /// The levels available on this machine, lowest first.
    public var availableISAs: [ISALevel] { ISALevel.allCases.filter { supports($0) } }

    /// The level the kernels use: the best supported one, lowered to `LOOM_ISA` when that names a
    /// lower level (an unknown or unsupported name is ignored; a higher one cannot raise it).
    public static let selectedISA: ISALevel = {
        let best = host.bestISA
        if let raw = getenv("LOOM_ISA"), let forced = ISALevel(name: String(cString: raw)) {
            return min(best, forced)
        }
        return best
    }()

    public var description: String {
        var names: [String] = []
        let flags: [(Bool, String)] = [
            (avx2, "avx2"), (fma, "fma"), (f16c, "f16c"), (bmi2, "bmi2"), (avx512f, "avx512f"),
            (avx512bw, "avx512bw"), (avx512dq, "avx512dq"), (avx512vl, "avx512vl"), (avx512vnni, "avx512vnni"),
            (avx512bf16, "avx512bf16"), (avx512vbmi, "avx512vbmi"), (avxvnni, "avxvnni"), (amxTile, "amx-tile"),
        ]
        for (on, name) in flags where on { names.append(name) }
        return names.isEmpty ? "(no SIMD extensions detected)" : names.joined(separator: " ")
    }

    static func detect() -> CPUFeatures {
        var f = CPUFeatures()
        #if arch(x86_64) || arch(i386)
        func cpuid(_ leaf: UInt32, _ sub: UInt32 = 0) -> (a: UInt32, b: UInt32, c: UInt32, d: UInt32) {
            var r: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            withUnsafeMutablePointer(to: &r) {
                $0.withMemoryRebound(to: UInt32.self, capacity: 4) { loomi_cpuid(leaf, sub, $0) }
            }
            return r
        }
        func bit(_ v: UInt32, _ i: UInt32) -> Bool { (v >> i) & 1 == 1 }

        let maxLeaf = cpuid(0).a
        guard maxLeaf >= 1 else { return f }
        let l1 = cpuid(1)
        f.fma = bit(l1.c, 12)
        f.movbe = bit(l1.c, 22)
        f.popcnt = bit(l1.c, 23)
        let osxsave = bit(l1.c, 27)
        f.avx = bit(l1.c, 28)
        f.f16c = bit(l1.c, 29)
        if osxsave {
            let xcr0 = loomi_xgetbv0()
            f.osAVX = xcr0 & 0x6 == 0x6
            f.osAVX512 = f.osAVX && xcr0 & 0xE0 == 0xE0
        }
        if maxLeaf >= 7 {
            let l7 = cpuid(7)
            f.bmi1 = bit(l7.b, 3)
            f.avx2 = bit(l7.b, 5)
            f.bmi2 = bit(l7.b, 8)
            f.avx512f = bit(l7.b, 16)
            f.avx512dq = bit(l7.b, 17)
            f.avx512cd = bit(l7.b, 28)
            f.avx512bw = bit(l7.b, 30)
            f.avx512vl = bit(l7.b, 31)
            f.avx512vbmi = bit(l7.c, 1)
            f.avx512vnni = bit(l7.c, 11)
            f.amxBF16 = bit(l7.d, 22)
            f.amxTile = bit(l7.d, 24)
            f.amxInt8 = bit(l7.d, 25)
            if l7.a >= 1 {
                let l71 = cpuid(7, 1)
                f.avxvnni = bit(l71.a, 4)
                f.avx512bf16 = bit(l71.a, 5)
            }
        }
        if cpuid(0x8000_0000).a >= 0x8000_0001 {
            f.lzcnt = bit(cpuid(0x8000_0001).c, 5)
        }
        #endif
        return f
    }
}
