#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoomCore

/// HF `TypicalLogitsWarper` (locally typical sampling, Meister et al. 2022): keeps the tokens whose
/// surprisal -log p is closest to the distribution's entropy, in that order, until their probability
/// mass reaches `mass` (at least one token kept); the rest become -inf.
public final class TypicalPWarper: LogitProcessor {
    public let mass: Double
    private var order: [Int32] = []
    private var shifted: [Float] = []

    /// - Throws: `LoomError.invalidArgument` unless 0 < mass < 1 (1 = off: leave it out of the chain).
    public init(_ mass: Double) throws {
        guard mass > 0, mass < 1 else {
            throw LoomError.invalidArgument("typical-p must be in (0, 1) (got \(mass)); 1 turns it off")
        }
        self.mass = mass
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let n = logits.count
        guard n > 1 else { return }
        // log-softmax in f64 for the entropy; masked (-inf / NaN) tokens have p = 0 and infinite shift.
        var maxLogit = -Float.infinity
        for x in logits where x > maxLogit { maxLogit = x }
        guard maxLogit.isFinite else { return }
        var sum = 0.0
        for x in logits where x.isFinite { sum += exp(Double(x - maxLogit)) }
        let logZ = Double(maxLogit) + log(sum)
        var entropy = 0.0
        for x in logits where x.isFinite {
            let lp = Double(x) - logZ
            entropy -= lp * exp(lp)
        }
        if shifted.count != n { shifted = [Float](repeating: 0, count: n); order = [Int32](repeating: 0, count: n) }
        for i in 0..<n {
            let x = logits[i]
            shifted[i] = x.isFinite ? Float(abs(-(Double(x) - logZ) - entropy)) : .infinity
            order[i] = Int32(i)
        }
        let s = shifted
        order.sort { s[Int($0)] < s[Int($1)] || (s[Int($0)] == s[Int($1)] && $0 < $1) }
        // Cumulative probability in that order; the cut is the first index where it reaches `mass`.
        var cumulative = 0.0
        var last = n - 1
        for (rank, id) in order.enumerated() {
            let x = logits[Int(id)]
            if x.isFinite { cumulative += exp(Double(x) - logZ) }
            if !(cumulative < mass) { last = rank; break }
        }
        let threshold = s[Int(order[last])]
        for i in 0..<n where s[i] > threshold && Int32(i) != order[0] { logits[i] = -.infinity }
    }
}
