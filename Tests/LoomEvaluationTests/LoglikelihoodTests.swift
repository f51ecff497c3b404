import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
import LoomModels
import LoomTokenizers
@testable import LoomEvaluation

final class LoglikelihoodTests: XCTestCase {
    /// tiny-llama: the score of every split of the reference prompts equals the brute-force sum of
    /// log-softmax values of HF's fp32 logits; is_greedy equals the argmax test on those logits.
    func testTinyLlamaAgainstBruteForce() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        let ctx = try Context(model: model, params: ContextParams(contextLength: 64, threads: 2))
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/tiny-llama/refs.json"))
        let ref = try SafetensorsFile(path: TestData.fixtures + "/tiny-llama/refs.safetensors")
        var worst = 0.0
        var greedySeen = Set<Bool>()
        for (i, p) in (json["prompts"]?.array ?? []).enumerated() {
            let ids = (p["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            let logits = try ref.floats("prompt\(i).logits")
            let v = logits.count / ids.count
            // Brute force: log p of token t given tokens before it, from the full logits.
            var lp: [Double] = [], argmaxOK: [Bool] = []
            logits.withUnsafeBufferPointer { l in
                for t in 1..<ids.count {
                    let row = UnsafeBufferPointer(rebasing: l[((t - 1) * v)..<(t * v)])
                    let m = row.max()!
                    let s = row.reduce(0.0) { $0 + exp(Double($1) - Double(m)) }
                    lp.append(Double(row[Int(ids[t])]) - Double(m) - log(s))
                    argmaxOK.append(row.firstIndex(of: m)! == Int(ids[t]))
                }
            }
            // Every split, a few continuation lengths; the context cache is reused across calls.
            for split in 1..<ids.count {
                for len in [1, 2, 5, ids.count - split] where split + len <= ids.count {
                    let r = try Loglikelihood.score(context: ctx, contextIDs: Array(ids[..<split]),
                                                    continuationIDs: Array(ids[split..<(split + len)]))
                    let expected = lp[(split - 1)..<(split - 1 + len)]
                    XCTAssertEqual(r.tokenCount, len)
                    for (a, b) in zip(r.tokenLogProbabilities, expected) { worst = max(worst, abs(a - b)) }
                    XCTAssertEqual(r.logProbability, expected.reduce(0, +), accuracy: 1e-3)
                    XCTAssertEqual(r.isGreedy, argmaxOK[(split - 1)..<(split - 1 + len)].allSatisfy { $0 })
                    greedySeen.insert(r.isGreedy)
                }
            }
        }
        print("tiny-llama loglikelihood vs brute force from HF fp32 logits: max |Δ log p| per token = \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
        XCTAssertTrue(greedySeen.contains(false))
        // HF's greedy continuations of the prompts are greedy.
        for p in json["prompts"]?.array ?? [] {
            let ids = (p["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            let greedy = (p["generate"]?["greedy"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            XCTAssertFalse(greedy.isEmpty)
            let r = try Loglikelihood.score(context: ctx, contextIDs: ids, continuationIDs: Array(greedy.prefix(12)))
            XCTAssertTrue(r.isGreedy)
            XCTAssertFalse(try Loglikelihood.score(context: ctx, contextIDs: ids, continuationIDs: [(greedy[0] + 1) % 512]).isGreedy)
        }
    }

    /// The same scores whatever the context cached before (fresh, shared prefix, unrelated).
    func testCacheReuseGivesTheSameScores() throws {
        let model = try Model.load(path: TestData.fixtures + "/tiny-llama/model.f32.gguf")
        let ctx = try Context(model: model, params: ContextParams(contextLength: 32, threads: 2))
        let c: [Int32] = [52, 440, 435, 83, 327, 285]
        let a: [Int32] = [79, 332, 499], b: [Int32] = [456, 292]
        let fresh = try Context(model: model, params: ContextParams(contextLength: 32, threads: 2))
        let ra = try Loglikelihood.score(context: fresh, contextIDs: c, continuationIDs: a)
        fresh.clear()
        let rb = try Loglikelihood.score(context: fresh, contextIDs: c, continuationIDs: b)
        _ = try Loglikelihood.score(context: ctx, contextIDs: [1, 2, 3], continuationIDs: [4])
        XCTAssertEqual(try Loglikelihood.score(context: ctx, contextIDs: c, continuationIDs: a).logProbability, ra.logProbability, accuracy: 1e-5)
        XCTAssertEqual(try Loglikelihood.score(context: ctx, contextIDs: c, continuationIDs: b).logProbability, rb.logProbability, accuracy: 1e-5)
        XCTAssertEqual(try Loglikelihood.score(context: ctx, contextIDs: c, continuationIDs: a).logProbability, ra.logProbability, accuracy: 1e-5)
        // Left truncation to n_ctx + 1 tokens; a continuation longer than n_ctx fails.
        let long = [Int32](repeating: 7, count: 40)
        XCTAssertEqual(try Loglikelihood.score(context: ctx, contextIDs: long, continuationIDs: a).tokenCount, 3)
        XCTAssertThrowsError(try Loglikelihood.score(context: ctx, contextIDs: c, continuationIDs: long))
        XCTAssertThrowsError(try Loglikelihood.score(context: ctx, contextIDs: [], continuationIDs: a))
        XCTAssertThrowsError(try Loglikelihood.score(context: ctx, contextIDs: c, continuationIDs: []))
        XCTAssertThrowsError(try Loglikelihood.score(context: ctx, contextIDs: c, continuationIDs: [100_000]))
    }

    /// lm-eval's _encode_pair: trailing whitespace moves to the continuation; an empty context is BOS/EOS.
    func testEncodePair() throws {
        let tok = try Tokenizer.load(path: TestData.fixtures + "/tiny-llama/tokenizer.json")
        let (c1, x1) = try Loglikelihood.encodePair(tokenizer: tok, context: "The licenses for ", continuation: "most software")
        let (c2, x2) = try Loglikelihood.encodePair(tokenizer: tok, context: "The licenses for", continuation: " most software")
        XCTAssertEqual(c1, c2)
        XCTAssertEqual(x1, x2)
        let whole = try tok.tokenize("The licenses for most software", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(c1 + x1, whole)
        if let prefix = tok.bosID ?? tok.eosID {
            let (c3, x3) = try Loglikelihood.encodePair(tokenizer: tok, context: "", continuation: "Hello")
            XCTAssertEqual(c3, [prefix])
            XCTAssertEqual(x3, try tok.tokenize("Hello", addSpecial: false, parseSpecial: false))
        } else {
            XCTAssertThrowsError(try Loglikelihood.encodePair(tokenizer: tok, context: "", continuation: "Hello"))
        }
    }

    /// SmolLM2: obvious questions get their obvious answers; accuracy is reported as lm-eval does.
    func testSmolLM2MultipleChoiceSanity() throws {
        let model = try Model.load(path: try TestData.require(TestData.smollm2))
        let tok = try model.tokenizer()
        let ctx = try Context(model: model, params: ContextParams(contextLength: 256, threads: 2))
        let items = [
            MultipleChoiceItem(question: "The capital of France is", choices: ["Paris", "London", "Berlin", "Madrid"], answer: 0),
            MultipleChoiceItem(question: "Monday, Tuesday, Wednesday,", choices: ["Sunday", "Thursday", "Friday", "Saturday"], answer: 1),
            MultipleChoiceItem(question: "The color of the clear daytime sky is", choices: ["green", "blue", "orange"], answer: 1),
            MultipleChoiceItem(question: "One, two, three, four,", choices: ["ten", "seven", "five", "nine"], answer: 2),
            MultipleChoiceItem(question: "Ice is frozen", choices: ["fire", "water", "sand"], answer: 1),
            MultipleChoiceItem(question: "Cats say meow and dogs say", choices: ["moo", "quack", "woof"], answer: 2),
        ]
        let report = try MultipleChoice.evaluate(context: ctx, tokenizer: tok, items: items)
        for (item, o) in zip(items, report.outcomes) {
            let lp = o.logProbabilities.map { formatFixed($0, 2) }.joined(separator: ", ")
            print("SmolLM2 MC: \(item.question) -> \(item.choices[o.prediction]) (norm: \(item.choices[o.predictionNormalized])); log p [\(lp)]")
        }
        let acc = report.accuracy ?? 0, accNorm = report.accuracyNormalized ?? 0
        print("SmolLM2 MC sanity: acc \(acc), acc_norm \(accNorm) over \(report.answered) items")
        XCTAssertEqual(report.answered, items.count)
        XCTAssertGreaterThanOrEqual(acc, 5.0 / 6.0)
        XCTAssertGreaterThanOrEqual(accNorm, 4.0 / 6.0)
    }

    func testParseJSONL() throws {
        let text = """
        {"question": "2 + 2 =", "choices": ["3", "4"], "answer": 1}

        {"query": "Q", "endings": ["a", "b", "c"], "label": "c"}
        {"context": "Q", "choices": ["x", "y"], "gold": "B"}
        {"question": "no answer", "choices": ["x"]}
        """
        let items = try MultipleChoice.parseJSONL(text)
        XCTAssertEqual(items.map(\.answer), [1, 2, 1, nil])
        XCTAssertEqual(items[1].choices, ["a", "b", "c"])
        XCTAssertThrowsError(try MultipleChoice.parseJSONL("{\"question\": \"q\", \"choices\": [\"a\"], \"answer\": 3}"))
        XCTAssertThrowsError(try MultipleChoice.parseJSONL("{\"choices\": [\"a\"]}"))
        XCTAssertEqual(MultipleChoice.argmax([1, 3, 3, 2]), 1)
    }
}
