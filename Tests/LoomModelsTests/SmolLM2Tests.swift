import XCTest
import LoomTestSupport
import LoomCore
import LoomFormats
@testable import LoomModels

/// SmolLM2-135M-Instruct Q4_1 against the fp32 reference of its dequantized weights.
final class SmolLM2Tests: XCTestCase {
    func testLogitsAndTop1AgainstFP32Reference() throws {
        let model = try Model.load(path: try TestData.require(TestData.smollm2))
        let ctx = try Context(model: model, params: ContextParams(contextLength: 256))
        let json = try JSONParser.parse(try readWholeFile(TestData.fixtures + "/real/smollm2-refs.json"))
        let ref = try SafetensorsFile(path: TestData.fixtures + "/real/smollm2-refs.safetensors")
        for (c, chat) in (json["chats"]?.array ?? []).enumerated() {
            let ids = (chat["ids"]?.array ?? []).compactMap { $0.int.map(Int32.init) }
            ctx.clear()
            try ctx.decode(ids, logits: .all)
            let top16 = try ref.floats("chat\(c).top16_ids").map { Int($0) }
            var top1Same = 0
            ctx.withLogits { l in
                for i in 0..<ids.count {
                    let row = l[(i * ctx.vocabSize)..<((i + 1) * ctx.vocabSize)]
                    let best = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }! - i * ctx.vocabSize
                    if best == top16[i * 16] { top1Same += 1 }
                }
            }
            let last = try ref.floats("chat\(c).logits_last")
            var worst: Float = 0
            ctx.withLogits { l in
                let base = (ids.count - 1) * ctx.vocabSize
                for j in 0..<ctx.vocabSize { worst = max(worst, abs(l[base + j] - last[j])) }
            }
            print("SmolLM2 Q4_1 chat\(c): last-position max|Δlogit| = \(worst) (aim ≤ 1e-2); top-1 identical at \(top1Same)/\(ids.count) positions")
            XCTAssertEqual(top1Same, ids.count)
            XCTAssertLessThanOrEqual(worst, 1e-2)
        }
    }
}
