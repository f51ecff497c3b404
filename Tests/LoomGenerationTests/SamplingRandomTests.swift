import LoomCore
import LoomFormats
import LoomGeneration
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The seeded draw: its generator, reproducibility, and a goodness-of-fit test of the draws.
final class SamplingRandomTests: XCTestCase {
    func testGeneratorMatchesReferenceOutputs() {
        // SplitMix64 from 0: the published first outputs of splitmix64.c.
        var sm = SplitMix64(state: 0)
        XCTAssertEqual((0..<4).map { _ in sm.next() },
                       [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC])
        // xoshiro256** seeded through SplitMix64, computed by an independent Python transcription of
        // xoshiro256starstar.c.
        var x0 = Xoshiro256StarStar(seed: 0)
        XCTAssertEqual((0..<4).map { _ in x0.next() },
                       [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C])
        var x42 = Xoshiro256StarStar(seed: 42)
        XCTAssertEqual((0..<4).map { _ in x42.next() },
                       [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1])
        var u = Xoshiro256StarStar(seed: 7)
        for _ in 0..<10_000 {
            let d = u.nextUnitDouble()
            XCTAssert(d >= 0 && d < 1)
        }
    }

    /// Pseudo-random logits for step `step` (a fixed function, so both chains see the same inputs).
    private func stepLogits(_ step: Int, vocab: Int) -> [Float] {
        var g = Xoshiro256StarStar(seed: UInt64(step) &+ 1000)
        return (0..<vocab).map { _ in Float(g.nextUnitDouble() * 8 - 4) }
    }

    private func run(_ chain: SamplerChain, steps: Int, vocab: Int) throws -> [Int32] {
        var history: [Int32] = [1, 2, 3]
        for step in 0..<steps {
            var logits = stepLogits(step, vocab: vocab)
            let t = try logits.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: history) }
            chain.accept(t)
            history.append(t)
        }
        return Array(history.dropFirst(3))
    }

    func testSameSeedSameTokens() throws {
        let params = SamplingParams(temperature: 0.8, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 1.1,
                                    frequencyPenalty: 0.2, presencePenalty: 0.1, seed: 1234)
        let a = try SamplerChain(params)
        let b = try SamplerChain(params)
        let ta = try run(a, steps: 200, vocab: 500)
        let tb = try run(b, steps: 200, vocab: 500)
        XCTAssertEqual(ta, tb)
        XCTAssertGreaterThan(Set(ta).count, 20, "the draw should vary")
        a.reset()
        XCTAssertEqual(try run(a, steps: 200, vocab: 500), ta, "reset() restores the seed")
        var other = params
        other.seed = 4321
        XCTAssertNotEqual(try run(SamplerChain(other), steps: 200, vocab: 500), ta)
        // Without a seed, the chain picks one and reports it: replaying it gives the same tokens.
        var unseeded = params
        unseeded.seed = nil
        let c = try SamplerChain(unseeded)
        guard let seed = c.seed else { return XCTFail("a sampling chain has a seed") }
        let tc = try run(c, steps: 50, vocab: 500)
        unseeded.seed = seed
        XCTAssertEqual(try run(SamplerChain(unseeded), steps: 50, vocab: 500), tc)
    }

    /// 20 000 draws from the top-p 0.9 distribution of the first fixture row, binned (expected counts >= 5)
    /// and tested against the distribution itself with Pearson's chi-square.
    func testDrawsFollowTheDistribution() throws {
        let refs = try SafetensorsFile(path: SamplingReferenceTests.fixtures + "/sampling-refs.safetensors")
        let all = try refs.floats("logits")
        let vocab = 1000
        // Row 2 keeps 88 tokens under top-p 0.9: many categories, several of small probability.
        let row = Array(all[2 * vocab ..< 3 * vocab])
        let chain = try SamplerChain(SamplingParams(topP: 0.9, seed: 20_000))
        var scratch = row
        let probs = try scratch.withUnsafeMutableBufferPointer { try chain.probabilities(logits: $0, history: []) }
        let draws = 20_000
        var counts = [Int](repeating: 0, count: vocab)
        for _ in 0..<draws {
            var logits = row
            let t = try logits.withUnsafeMutableBufferPointer { try chain.sample(logits: $0, history: []) }
            counts[Int(t)] += 1
        }
        for i in 0..<vocab where probs[i] == 0 { XCTAssertEqual(counts[i], 0, "masked token \(i) drawn") }
        // Bins: each kept token with expected count >= 5; the rest of the kept tokens pooled into one bin.
        var observed: [Double] = [], expected: [Double] = []
        var pooledO = 0.0, pooledE = 0.0
        for i in 0..<vocab where probs[i] > 0 {
            let e = Double(probs[i]) * Double(draws)
            if e >= 5 { observed.append(Double(counts[i])); expected.append(e) } else { pooledO += Double(counts[i]); pooledE += e }
        }
        if pooledE > 0 { observed.append(pooledO); expected.append(pooledE) }
        let chi2 = zip(observed, expected).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) / $1.1 }
        let df = observed.count - 1
        let p = chiSquareUpperTail(chi2, df: df)
        let critical = chiSquareCritical(df: df, z: 3.090232)  // α = 0.001 (Wilson–Hilferty)
        print(String(format: "chi-square over %d draws, %d kept tokens in %d bins: X² = %.2f, df = %d, p = %.3f, critical(α=0.001) = %.2f",
                     draws, probs.filter { $0 > 0 }.count, observed.count, chi2, df, p, critical))
        XCTAssertLessThan(chi2, critical)
    }

    /// P(X² >= x) for df degrees of freedom: the regularised upper incomplete gamma Q(df/2, x/2).
    private func chiSquareUpperTail(_ x: Double, df: Int) -> Double {
        let a = Double(df) / 2, z = x / 2
        if z <= 0 { return 1 }
        let lnPrefix = -z + a * log(z) - lgamma(a)
        if z < a + 1 {  // series for P, then Q = 1 − P
            var sum = 1 / a, term = 1 / a, ap = a
            for _ in 0..<1000 { ap += 1; term *= z / ap; sum += term; if abs(term) < abs(sum) * 1e-15 { break } }
            return max(0, 1 - sum * exp(lnPrefix))
        }
        // Continued fraction for Q (modified Lentz).
        var b = z + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d
        for i in 1..<1000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b; if abs(d) < 1e-300 { d = 1e-300 }
            c = b + an / c; if abs(c) < 1e-300 { c = 1e-300 }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return exp(lnPrefix) * h
    }

    /// Wilson–Hilferty approximation of the chi-square quantile at standard-normal quantile z.
    private func chiSquareCritical(df: Int, z: Double) -> Double {
        let k = Double(df)
        let t = 1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot()
        return k * t * t * t
    }
}
