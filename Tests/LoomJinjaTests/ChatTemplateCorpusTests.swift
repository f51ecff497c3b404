import XCTest
import Foundation
import LoomCore
@testable import LoomJinja

/// The llama.cpp chat-template corpus rendered by Python jinja2 exactly as transformers does
/// (scripts/gen-chat-template-refs.py writes Tests/Fixtures/chat-templates/refs.json); Loom must
/// produce the same bytes, or raise where jinja2 raised (the same Python exception and message;
/// raise_exception's message verbatim). LOOM_JINJA_VERBOSE=1 lists the renders that raised.
final class ChatTemplateCorpusTests: XCTestCase {
    static let refsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/chat-templates/refs.json").path

    struct Outcome {
        var identical = true
        var reasons: [String] = []
    }

    /// A short description of where two strings first differ.
    static func firstDifference(_ got: String, _ want: String) -> String {
        let g = Array(got.unicodeScalars), w = Array(want.unicodeScalars)
        var i = 0
        while i < g.count, i < w.count, g[i] == w[i] { i += 1 }
        func snippet(_ a: [Unicode.Scalar]) -> String {
            let lo = max(0, i - 30), hi = min(a.count, i + 40)
            var v = String.UnicodeScalarView()
            v.append(contentsOf: a[lo..<hi])
            return String(reflecting: String(v))
        }
        return "differs at \(i) (got \(g.count), want \(w.count) chars): got \(snippet(g)) want \(snippet(w))"
    }

    func testCorpusRendersLikeJinja2() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.refsPath))
        let doc = try JSONParser.parse(Array(data))
        let nowParts = try XCTUnwrap(doc["now"]?.array).compactMap(\.int)
        let now = JinjaDateTime(year: nowParts[0], month: nowParts[1], day: nowParts[2],
                                hour: nowParts[3], minute: nowParts[4], second: nowParts[5])
        let bos = try XCTUnwrap(doc["bos_token"]?.string)
        let eos = try XCTUnwrap(doc["eos_token"]?.string)
        let cases = try XCTUnwrap(doc["cases"]?.array)
        let templates = try XCTUnwrap(doc["templates"]?.object)

        var identical: [String] = []
        var failures: [(String, [String])] = []
        var renders = 0, bothRaised = 0
        for name in templates.keys.sorted() {
            let entry = templates[name]!
            let source = try XCTUnwrap(entry["source"]?.string)
            let results = try XCTUnwrap(entry["results"]?.object)
            var outcome = Outcome()
            let template: Result<JinjaTemplate, Error> = Result { try JinjaTemplate(source) }
            for c in cases {
                let caseName = try XCTUnwrap(c["name"]?.string)
                let messages = try XCTUnwrap(c["messages"]?.array).map { JinjaValue(json: $0) }
                let tools = JinjaValue(json: c["tools"] ?? .null)
                for gen in ["nogen", "gen"] {
                    let key = "\(caseName)/\(gen)"
                    guard let want = results[key] else { continue }
                    let got: Result<String, Error> = template.flatMap { t in
                        Result {
                            try t.renderChat(messages: messages, addGenerationPrompt: gen == "gen", bosToken: bos,
                                             eosToken: eos, extra: ["tools": tools], options: JinjaRenderOptions(now: now))
                        }
                    }
                    renders += 1
                    if case .failure(let e) = got, let err = want["error"] {
                        bothRaised += 1
                        if ProcessInfo.processInfo.environment["LOOM_JINJA_VERBOSE"] != nil {
                            print("  raised \(name) \(key): Loom: \(e) | jinja2: \(err["type"]?.string ?? ""): \(err["message"]?.string ?? "")")
                        }
                    }
                    switch (got, want["output"]?.string, want["error"]) {
                    case (.success(let s), let w?, _):
                        if s != w || !s.unicodeScalars.elementsEqual(w.unicodeScalars) {
                            outcome.identical = false
                            outcome.reasons.append("\(key): " + Self.firstDifference(s, w))
                        }
                    case (.failure(let e), _, let err?):
                        // Both raised: raise_exception's message must come through unchanged, other
                        // errors must name the same Python exception and message.
                        let type = err["type"]?.string ?? "", m = err["message"]?.string ?? ""
                        let loom = (e as? LoomError)?.message ?? "\(e)"
                        if type == "TemplateError" ? loom != m : !loom.contains("\(type): \(m)") {
                            outcome.identical = false
                            outcome.reasons.append("\(key): Loom raised \(String(reflecting: loom)), jinja2 \(type): \(String(reflecting: m))")
                        }
                    case (.failure(let e), _, nil):
                        outcome.identical = false
                        outcome.reasons.append("\(key): Loom raised \(e), jinja2 rendered")
                    case (.success, nil, let err):
                        outcome.identical = false
                        let t = err?["type"]?.string ?? "?", m = err?["message"]?.string ?? "?"
                        outcome.reasons.append("\(key): jinja2 raised \(t): \(m), Loom rendered")
                    }
                }
            }
            if outcome.identical { identical.append(name) } else { failures.append((name, outcome.reasons)) }
        }
        let total = templates.count
        print("chat templates: \(identical.count)/\(total) byte-identical "
              + "(\(renders) renders compared, \(bothRaised) raised in both jinja2 and Loom)")
        for (name, reasons) in failures {
            print("  FAIL \(name): \(reasons.count) case(s)")
            for r in reasons.prefix(3) { print("    \(r)") }
        }
        XCTAssertGreaterThan(total, 0)
        // The acceptance grid: SmolLM2's own template, conversations with and without a system turn
        // (each rendered with add_generation_prompt off and on), bos "<s>" and eos "</s>".
        XCTAssertNotNil(templates["HuggingFaceTB-SmolLM2-135M-Instruct.jinja"], "SmolLM2's template is missing")
        let firstRoles = cases.compactMap { $0["messages"]?.array?.first?["role"]?.string }
        XCTAssertTrue(firstRoles.contains("system") && firstRoles.contains("user"))
        XCTAssertEqual([bos, eos], ["<s>", "</s>"])
        XCTAssertEqual(identical.count, total, "templates not byte-identical: \(failures.map(\.0))")
    }
}
