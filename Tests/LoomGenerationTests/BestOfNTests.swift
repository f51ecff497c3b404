import XCTest
import LoomTestSupport
import LoomCore
import LoomModels
@testable import LoomGeneration

/// Best-of-n with the tiny models: tiny-llama draws, tiny-llama-reward ranks.
final class BestOfNTests: XCTestCase {
    func testCandidatesAreRankedByTheirReward() throws {
        let generator = try Model.load(path: TestData.fixtures + "/tiny-llama")
        let rewardModel = try Model.load(path: TestData.fixtures + "/tiny-llama-reward")
        let context = try Context(model: generator, params: ContextParams(contextLength: 128, threads: 2, maxSequences: 8))
        let promptText = "The teacher taught"
        let prompt = try generator.tokenizer().tokenize(promptText, addSpecial: true, parseSpecial: false)
        var params = GenerationParams(maxTokens: 10)
        params.sampling.temperature = 1
        params.sampling.seed = 3
        let ranked = try BestOfN.generate(context: context, prompt: prompt, n: 5, params: params, rewardModel: rewardModel,
                                          promptText: promptText)
        XCTAssertEqual(ranked.count, 5)
        let rewards = ranked.compactMap(\.reward)
        XCTAssertEqual(rewards, rewards.sorted(by: >))
        XCTAssertEqual(Set(ranked.compactMap(\.seed)), Set((0..<5).map { 3 + UInt64($0) }))
        let direct = try rewardModel.reward(ranked.map { promptText + $0.text }, params: ClassifyParams(parseSpecial: true))
        for (a, b) in zip(direct, rewards) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // Candidate with seed 3 equals plain generation with seed 3 on a fresh context.
        let fresh = try Context(model: generator, params: ContextParams(contextLength: 128, threads: 2, maxSequences: 1))
        let plain = try Generator.generate(context: fresh, prompt: prompt, params: params)
        XCTAssertEqual(ranked.first { $0.seed == 3 }?.ids, plain.ids)
        print("best-of-5 rewards: \(rewards)")

        params.sampling.temperature = 0
        XCTAssertThrowsError(try BestOfN.generate(context: context, prompt: prompt, n: 3, params: params, rewardModel: rewardModel))
        params.sampling.temperature = 1
        XCTAssertThrowsError(try BestOfN.generate(context: context, prompt: prompt, n: 9, params: params, rewardModel: rewardModel))
        XCTAssertThrowsError(try BestOfN.generate(context: context, prompt: prompt, n: 2, params: params, rewardModel: generator))
    }
}
