import LoomCore

/// HF `TemperatureLogitsWarper`: every logit divided by the temperature (in f32, as torch does).
/// A temperature below 1 sharpens the distribution, above 1 flattens it. Greedy decoding is not a
/// temperature of 0 here: use `GreedySelector` (or `SamplingParams(temperature: 0)`).
public final class TemperatureWarper: LogitProcessor {
    public let temperature: Double
    private let t: Float

    /// - Throws: `LoomError.invalidArgument` unless `temperature` is finite and > 0.
    public init(_ temperature: Double) throws {
        guard temperature.isFinite, temperature > 0, Float(temperature) > 0, Float(temperature).isFinite else {
            throw LoomError.invalidArgument("temperature must be a finite number > 0 (got \(temperature)); use greedy decoding for 0")
        }
        self.temperature = temperature
        self.t = Float(temperature)
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        let t = self.t
        for i in 0..<logits.count { logits[i] /= t }
    }
}
