import XCTest
import LoomTestSupport
import LoomCore
import LoomModels
@testable import LoomGeneration

/// PromptBuilder's layouts and chat templates with JSON messages, explicit special tokens and extra
/// variables (ChatTemplate's general form, which the C ABI and Python use).
final class PromptBuilderTests: XCTestCase {
    static let smolTemplatePath = TestData.fixtures + "/chat-templates/extra/HuggingFaceTB-SmolLM2-135M-Instruct.jinja"

    func m(_ role: String, _ content: String) -> ChatMessage { ChatMessage(role: role, content: content) }

    let full = PromptBuilder(
        task: "  Classify: \"The battery died after an hour.\"\n",
        instructions: "You label customer reviews.",
        context: "Reviews come from an electronics shop.",
        examples: [.init(input: "Classify: \"Great screen!\"", output: "positive"),
                   .init(input: "Classify: \"It broke.\"", output: " negative ")],
        outputFormat: "One word: positive or negative.")

    func testMessagesLayout() throws {
        XCTAssertEqual(full.messages(), [
            m("system", "## Instructions\nYou label customer reviews.\n\n## Output format\nOne word: positive or negative."),
            m("user", "Classify: \"Great screen!\""),
            m("assistant", "positive"),
            m("user", "Classify: \"It broke.\""),
            m("assistant", "negative"),
            m("user", "## Context\nReviews come from an electronics shop.\n\n## Task\nClassify: \"The battery died after an hour.\""),
        ])
    }

    func testLonePartsAreVerbatim() {
        XCTAssertEqual(PromptBuilder(task: "Hi").messages(), [m("user", "Hi")])
        XCTAssertEqual(PromptBuilder(task: "Hi", instructions: "Be brief.").messages(),
                       [m("system", "Be brief."), m("user", "Hi")])
        XCTAssertEqual(PromptBuilder(context: "ctx").messages(), [m("user", "## Context\nctx")])
        XCTAssertEqual(PromptBuilder(outputFormat: "JSON").messages(), [m("system", "## Output format\nJSON")])
        XCTAssertEqual(PromptBuilder().messages(), [])
        XCTAssertEqual(PromptBuilder(task: " \n ", instructions: "\t").messages(), [])
        XCTAssertEqual(PromptBuilder(task: "Hi").text(), "Hi")
        XCTAssertEqual(PromptBuilder().text(), "")
    }

    func testWithoutSystemTurn() {
        var b = full
        b.systemTurn = false
        let msgs = b.messages()
        XCTAssertEqual(msgs.count, 5)
        XCTAssertEqual(msgs[0], m("user", "## Instructions\nYou label customer reviews.\n\n## Output format\n"
            + "One word: positive or negative.\n\nClassify: \"Great screen!\""))
        XCTAssertEqual(PromptBuilder(task: "Hi", instructions: "Be brief.", systemTurn: false).messages(),
                       [m("user", "Be brief.\n\nHi")])
        XCTAssertEqual(PromptBuilder(instructions: "Be brief.", systemTurn: false).messages(), [m("user", "Be brief.")])
    }

    func testTextSections() {
        XCTAssertEqual(full.text(), """
            ## Instructions
            You label customer reviews.

            ## Context
            Reviews come from an electronics shop.

            ## Examples
            Input: Classify: "Great screen!"
            Output: positive

            Input: Classify: "It broke."
            Output: negative

            ## Output format
            One word: positive or negative.

            ## Task
            Classify: "The battery died after an hour."
            """)
    }

    func testMessagesJSONRoundTrips() throws {
        let b = PromptBuilder(task: "Say \"é\"\n\\ now", instructions: "x")
        let json = try b.messagesJSON()
        XCTAssertEqual(json, #"[{"role": "system", "content": "x"}, {"role": "user", "content": "Say \"é\"\n\\ now"}]"#)
        let back = try ChatTemplate.messages(json: Array(json.utf8))
        let tmpl = "{% for m in messages %}<{{ m.role }}|{{ m.content }}>{% endfor %}"
        XCTAssertEqual(try ChatTemplate.apply(model: nil, template: tmpl, messages: back, options: ChatTemplateOptions()),
                       "<system|x><user|Say \"é\"\n\\ now>")
    }

    func testPromptThroughSmolLM2Template() throws {
        let tmpl = try String(contentsOfFile: Self.smolTemplatePath, encoding: .utf8)
        let got = try ChatTemplate.apply(template: tmpl, messages: PromptBuilder(task: "2+2?", instructions: "Answer with a number.",
                                                                                examples: [.init(input: "1+1?", output: "2")]).messages(),
                                         addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
        XCTAssertEqual(got, "<|im_start|>system\nAnswer with a number.<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n"
            + "<|im_start|>assistant\n2<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")
    }

    // MARK: - ChatTemplate's general form

    func testJSONMessagesSpecialTokensAndExtraVariables() throws {
        let tmpl = """
            {{ bos_token }}{% for m in messages %}{{ m.role }}:{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments|tojson }}\
            {% else %}{{ m.content }}{% endif %}{% if m.name is defined %}({{ m.name }}){% endif %}{{ eos_token }}{% endfor %}\
            {% if tools %}[{{ tools|length }} tools]{% endif %}{% if enable_thinking is defined %}think={{ enable_thinking }}{% endif %}\
            {% if add_generation_prompt %}assistant:{% endif %}
            """
        let msgs = try ChatTemplate.messages(json: Array("""
            [{"role": "user", "content": "hi"},
             {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
               "function": {"name": "f", "arguments": {"b": 2, "a": [1, 2.5, null, true]}}}]},
             {"role": "tool", "name": "f", "content": "ok"}]
            """.utf8))
        let extra = try ChatTemplate.variables(json: Array(#"{"tools": [{"type": "function"}], "enable_thinking": false}"#.utf8))
        let got = try ChatTemplate.apply(model: nil, template: tmpl, messages: msgs,
                                         options: ChatTemplateOptions(addGenerationPrompt: true, bosToken: "<s>",
                                                                      eosToken: "</s>", extra: extra))
        XCTAssertEqual(got, #"<s>user:hi</s>assistant:{"b": 2, "a": [1, 2.5, null, true]}</s>tool:ok(f)</s>[1 tools]think=Falseassistant:"#)
        // No tokens given and no model: empty.
        XCTAssertEqual(try ChatTemplate.apply(model: nil, template: "[{{ bos_token }}|{{ eos_token }}]", messages: [],
                                              options: ChatTemplateOptions()), "[|]")
    }

    func testBadInputsThrow() {
        func status(_ body: () throws -> Any) -> LoomStatus? {
            do { _ = try body(); return nil } catch { return (error as? LoomError)?.status }
        }
        XCTAssertEqual(status { try ChatTemplate.messages(json: Array("{\"role\": 1}".utf8)) }, .invalidArgument)
        XCTAssertEqual(status { try ChatTemplate.messages(json: Array("[{".utf8)) }, .invalidArgument)
        XCTAssertEqual(status { try ChatTemplate.messages(json: Array(String(repeating: "[", count: 100_000).utf8)) },
                       .invalidArgument)
        XCTAssertEqual(status { try ChatTemplate.variables(json: Array("[1]".utf8)) }, .invalidArgument)
        XCTAssertEqual(status { try ChatTemplate.apply(model: nil, template: nil, messages: [], options: ChatTemplateOptions()) },
                       .invalidArgument)
        XCTAssertEqual(status { try ChatTemplate.apply(model: nil, template: "{{ raise_exception('no system') }}",
                                                       messages: [], options: ChatTemplateOptions()) }, .invalidArgument)
        XCTAssertEqual(status { try ChatTemplate.apply(model: nil, template: "{% if %}", messages: [],
                                                       options: ChatTemplateOptions()) }, .format)
        do {
            _ = try ChatTemplate.apply(model: nil, template: "{{ raise_exception('no system') }}", messages: [],
                                       options: ChatTemplateOptions())
        } catch let e as LoomError {
            XCTAssertEqual(e.message, "no system")
        } catch { XCTFail("\(error)") }
    }

    /// The model's own template and its BOS/EOS text; explicit tokens override them.
    func testSmolLM2ModelTemplate() throws {
        var params = ModelParams()
        params.vocabOnly = true
        let model = try Model.load(path: try TestData.require(TestData.smollm2), params: params)
        let tmpl = try String(contentsOfFile: Self.smolTemplatePath, encoding: .utf8)
        XCTAssertEqual(model.chatTemplate, tmpl)
        let probe = "{{ bos_token }}|{{ eos_token }}|{{ messages|length }}"
        XCTAssertEqual(try ChatTemplate.apply(model: model, template: probe, messages: [], options: ChatTemplateOptions()),
                       "<|im_start|>|<|im_end|>|0")
        XCTAssertEqual(try ChatTemplate.apply(model: model, template: probe, messages: [],
                                              options: ChatTemplateOptions(bosToken: "<s>")), "<s>|<|im_end|>|0")
        let got = try ChatTemplate.apply(model: model, messages: [m("user", "Hi")], addGenerationPrompt: false)
        XCTAssertEqual(got, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            + "<|im_start|>user\nHi<|im_end|>\n")
    }
}
