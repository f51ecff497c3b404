import LoomCore
import LoomModels
import LoomTokenizers

/// Best-of-n sampling with a reward model: draws n continuations of one prompt, scores each with a
/// reward model (a sequence-classification head with one label, `Model.reward`) and returns them
/// best first.
///
/// - Drawing: the prompt is decoded once (sequence 0) and copied into sequences 1..<n, which then
///   advance together in shared forward passes (the ordinary batch generation). Candidate i samples
///   with seed `seed + i` (wrapping), where seed is `params.sampling.seed`, or one random seed when it
///   is nil; `GenerationResult.seed` reports each. Candidate 0 is therefore what `generate` with the
///   same settings gives. Sampling must not be greedy (n identical candidates), beams are refused.
/// - Scoring: the text scored is `promptText + candidate.text`, where promptText is given by the
///   caller or is the generator's detokenization of the prompt ids with special tokens rendered (a
///   chat-templated prompt scores as its template text). The reward model tokenizes it with
///   `rewardParams` (default: its special tokens added, special-token text parsed, truncated to its
///   positions — a candidate cut by truncation is scored on what remains).
/// - Ranking: by reward, highest first; equal rewards keep the draw order. Each result's `reward` is set.
public enum BestOfN {
    public static func generate(context: Context, prompt: [Int32], n: Int, params: GenerationParams,
                                rewardModel: Model, promptText: String? = nil,
                                rewardParams: ClassifyParams = ClassifyParams(parseSpecial: true),
                                userProcessors: [any LogitProcessor] = []) throws -> [GenerationResult] {
        try params.validate()
        guard n >= 1, n <= context.maxSequences else {
            throw LoomError.invalidArgument("best_of n = \(n) must be between 1 and the context's n_seq_max (\(context.maxSequences))")
        }
        guard params.numBeams == 1 else { throw LoomError.unsupported("best-of-n samples; it does not take num_beams > 1") }
        guard n == 1 || !params.sampling.isGreedy else {
            throw LoomError.invalidArgument("best-of-n needs sampling (temperature > 0): greedy decoding gives \(n) identical candidates")
        }
        guard !prompt.isEmpty else { throw LoomError.invalidArgument("the prompt has no tokens") }
        let head = try rewardModel.requireClassifier()
        guard head.labelCount == 1 else {
            throw LoomError.unsupported("'\(rewardModel.path)' has \(head.labelCount) labels; a reward model has one")
        }
        var gp = params
        var system = SystemRandomNumberGenerator()
        let base = params.sampling.seed ?? system.next()
        gp.sampling.seed = base
        gp.sequenceSeeds = (0..<n).map { base &+ UInt64($0) }

        // The shared prompt once: sequence 0 keeps the prefix it already shares with it, the others copy.
        let cached = try context.cachedTokens(sequence: 0)
        let shared = min(cached.commonPrefixLength(with: prompt), prompt.count - 1)
        if shared < prompt.count - 1 {
            try context.decode(Array(prompt[shared..<(prompt.count - 1)]), sequence: 0, startPosition: shared, logits: .none)
        } else {
            try context.truncate(to: shared, sequence: 0)
        }
        for s in 1..<max(n, 1) { try context.copySequence(from: 0, to: s) }

        var results = try Generator.generate(context: context, prompts: Array(repeating: prompt, count: n), params: gp,
                                             userProcessors: userProcessors)
        let text = try promptText ?? context.model.tokenizer().decode(prompt, renderSpecial: true)
        let rewards = try rewardModel.reward(results.map { text + $0.text }, params: rewardParams)
        for i in results.indices { results[i].reward = rewards[i] }
        let order = results.indices.sorted { a, b in
            rewards[a] != rewards[b] ? rewards[a] > rewards[b] : a < b
        }
        return order.map { results[$0] }
    }
}
