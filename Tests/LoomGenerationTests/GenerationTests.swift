import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomModels
@testable import LoomGeneration

final class GenerationTests: XCTestCase {
    static func ints(_ v: JSONValue?) -> [Int32] { (v?.array ?? []).compactMap { $0.int.map(Int32.init) } }

    /// tiny-llama: greedy and greedy with repetition penalty 1.3, 16 new tokens, as HF generate.
    func testTinyLlamaGreedyMatchesHF() throws {
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/tiny-llama/refs.json"))
        for path in ["/tiny-llama", "/tiny-llama/model.f32.gguf"] {
            let model = try Model.load(path: TestData.fixtures + path)
            let ctx = try Context(model: model, params: ContextParams(contextLength: 128, threads: 2))
            var same = 0, total = 0
            for p in json["prompts"]?.array ?? [] {
                let prompt = Self.ints(p["ids"])
                for (name, penalty) in [("greedy", 1.0), ("greedy_repetition_penalty_1.3", 1.3)] {
                    let expected = Self.ints(p["generate"]?[name])
                    let r = try Generator.generate(context: ctx, prompt: prompt, params: GenerationParams(
                        maxTokens: expected.count, sampling: SamplingParams(temperature: 0, repetitionPenalty: penalty)))
                    XCTAssertEqual(r.ids, expected, "\(path) \(name)")
                    total += 1
                    if r.ids == expected { same += 1 }
                }
            }
            print("tiny-llama \(path): \(same)/\(total) greedy generations identical to HF")
        }
    }

    /// SmolLM2 Q4_1 answers both reference questions exactly as the fp32 reference does.
    func testSmolLM2GreedyAnswers() throws {
        let model = try Model.load(path: try TestData.require(TestData.smollm2))
        let tok = try model.tokenizer()
        let ctx = try Context(model: model, params: ContextParams(contextLength: 512))
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/real/smollm2-refs.json"))
        for chat in json["chats"]?.array ?? [] {
            let messages = (chat["messages"]?.array ?? []).map {
                ChatMessage(role: $0["role"]?.string ?? "", content: $0["content"]?.string ?? "")
            }
            let prompt = try ChatTemplate.apply(model: model, messages: messages, addGenerationPrompt: true)
            XCTAssertEqual(prompt, chat["prompt"]?.string, "chat template rendering")
            let ids = try tok.tokenize(prompt, addSpecial: false, parseSpecial: true)
            XCTAssertEqual(ids, Self.ints(chat["ids"]), "prompt ids")
            var expected = Self.ints(chat["hf_greedy_ids"])
            if let last = expected.last, tok.isEndOfGeneration(last) { expected.removeLast() }
            var streamed: [UInt8] = []
            let r = try Generator.generate(context: ctx, prompt: ids, params: GenerationParams(maxTokens: 64)) { _, piece in
                streamed += piece
                return true
            }
            print("SmolLM2: \(messages[0].content) -> \(r.text) [\(r.finishReason.name)]")
            XCTAssertEqual(r.ids, expected)
            XCTAssertEqual(r.finishReason, .endOfGeneration)
            XCTAssertEqual(String(decoding: streamed, as: UTF8.self), r.text)
            XCTAssertEqual(r.text + "<|im_end|>", chat["hf_greedy_text"]?.string)
        }
    }

    func testStopStringsAndStreaming() throws {
        var s = TextStream(stops: ["</end>"])
        var out: [UInt8] = []
        for piece in ["Hello <", "/en", "d> more"] { out += s.append(Array(piece.utf8)) }
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "Hello ")
        XCTAssertEqual(String(decoding: s.text, as: UTF8.self), "Hello ")
        var u = TextStream(stops: [])
        let euro = Array("€".utf8)
        XCTAssertEqual(u.append([euro[0]]), [])
        XCTAssertEqual(u.append([euro[1], euro[2], 0x41]), euro + [0x41])
        var h = TextStream(stops: ["STOP"])
        XCTAssertEqual(h.append(Array("ST".utf8)), [])
        XCTAssertEqual(h.append(Array("ART".utf8)), Array("START".utf8))
    }

    func testSeededSamplingIsRepeatable() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, threads: 1))
        let params = GenerationParams(maxTokens: 12, sampling: SamplingParams(temperature: 0.9, topP: 0.95, seed: 42))
        let a = try Generator.generate(context: ctx, prompt: [52, 440, 435], params: params)
        let b = try Generator.generate(context: ctx, prompt: [52, 440, 435], params: params)
        XCTAssertEqual(a.ids, b.ids)
        XCTAssertEqual(a.seed, 42)
    }
}
