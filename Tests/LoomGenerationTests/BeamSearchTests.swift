import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomModels
@testable import LoomGeneration

/// Beam search against HF generate(num_beams=4, early_stopping=True, length_penalty=1.0): the fixtures'
/// `beam4` ids (which end with the end token when a beam finished there) must be identical.
final class BeamSearchTests: XCTestCase {
    static func ints(_ v: JSONValue?) -> [Int32] { (v?.array ?? []).compactMap { $0.int.map(Int32.init) } }

    static func beamParams(_ count: Int) -> GenerationParams {
        GenerationParams(maxTokens: count, sampling: .greedy, numBeams: 4, lengthPenalty: 1, earlyStopping: .always)
    }

    /// HF's output: the ids, plus the end token when the hypothesis ended on it.
    static func hfIDs(_ r: GenerationResult, end: Int32?) -> [Int32] {
        r.finishReason == .endOfGeneration ? r.ids + [end ?? -1] : r.ids
    }

    func testDecoderOnlyBeam4MatchesHF() throws {
        for (name, paths) in [("tiny-llama", ["/tiny-llama", "/tiny-llama/model.f32.gguf"]),
                              ("tiny-gpt2", ["/tiny-gpt2", "/tiny-gpt2/model.f32.gguf"])] {
            let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/\(name)/refs.json"))
            let config = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/\(name)/generation_config.json"))
            let eos = config["eos_token_id"]?.int.map(Int32.init)
            for path in paths {
                let model = try Model.load(path: TestData.fixtures + path)
                let ctx = try Context(model: model, params: ContextParams(contextLength: 128, threads: 2))
                var same = 0, total = 0
                for p in json["prompts"]?.array ?? [] {
                    let expected = Self.ints(p["generate"]?["beam4"])
                    let r = try Generator.generate(context: ctx, prompt: Self.ints(p["ids"]), params: Self.beamParams(16))
                    let got = Self.hfIDs(r, end: eos)
                    XCTAssertEqual(got, expected, "\(path)")
                    total += 1
                    if got == expected { same += 1 }
                }
                print("\(name) \(path): beam4 \(same)/\(total) identical to HF")
            }
        }
    }

    func testT5Beam4AndGreedyMatchHF() throws {
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/tiny-t5/refs.json"))
        let model = try Model.load(path: TestData.fixtures + "/tiny-t5")
        let eos = Int32(model.seq2seq?.config.eosTokenIDs.first ?? -1)
        var same = 0, total = 0
        for input in json["inputs"]?.array ?? [] {
            let ids = Self.ints(input["ids"])
            for (name, beams) in [("greedy", 1), ("beam4", 4)] {
                let expected = Self.ints(input["generate"]?[name])    // starts with the decoder start token
                var params = Self.beamParams(expected.count - 1)
                params.numBeams = beams
                let r = try Generator.generate(seq2seq: model, input: ids, params: params, threads: 2)
                let got = [Int32(model.seq2seq?.config.decoderStartTokenID ?? 0)] + Self.hfIDs(r[0], end: eos)
                XCTAssertEqual(got, expected, name)
                total += 1
                if got == expected { same += 1 }
            }
        }
        print("tiny-t5: greedy and beam4 \(same)/\(total) identical to HF")
    }

    func testNumReturnSequencesAreRankedAndDistinct() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama")
        let ctx = try Context(model: model, params: ContextParams(contextLength: 128, threads: 2))
        var params = Self.beamParams(8)
        params.numReturnSequences = 4
        let rs = try Generator.generate(context: ctx, prompts: [[52, 440, 435, 83]], params: params)
        XCTAssertEqual(rs.count, 4)
        let scores = rs.compactMap(\.score)
        XCTAssertEqual(scores, scores.sorted(by: >))
        XCTAssertEqual(Set(rs.map(\.ids)).count, 4)
        params.numReturnSequences = 5
        XCTAssertThrowsError(try Generator.generate(context: ctx, prompts: [[52]], params: params))
    }
}
