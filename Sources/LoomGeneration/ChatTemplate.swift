import LoomCore
import LoomJinja
import LoomModels
import LoomTokenizers

/// One chat turn.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// The message as a template sees it: {"role": ..., "content": ...}.
    public var jinjaValue: JinjaValue {
        JinjaValue(pairs: [("role", .string(role)), ("content", .string(content))])
    }
}

/// How a conversation is rendered: apply_chat_template's add_generation_prompt, the special tokens
/// (nil: the model's BOS/EOS text, or "" without a model) and extra template variables (tools,
/// documents, enable_thinking, ... as transformers' **kwargs; they override the standard ones) and
/// the clock strftime_now reads (nil: the local time now).
public struct ChatTemplateOptions: Sendable {
    public var addGenerationPrompt: Bool
    public var bosToken: String?
    public var eosToken: String?
    public var extra: [String: JinjaValue]
    public var now: JinjaDateTime?

    public init(addGenerationPrompt: Bool = false, bosToken: String? = nil, eosToken: String? = nil,
                extra: [String: JinjaValue] = [:], now: JinjaDateTime? = nil) {
        self.addGenerationPrompt = addGenerationPrompt
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.extra = extra
        self.now = now
    }
}

/// Renders conversations with a model's chat template exactly as transformers' apply_chat_template
/// does (jinja2 sandbox, trim_blocks, lstrip_blocks; bos_token/eos_token from the vocabulary).
public enum ChatTemplate {
    /// Renders `messages` with `template` (nil: the model's own template).
    public static func apply(model: Model, template: String? = nil, messages: [ChatMessage],
                             addGenerationPrompt: Bool) throws -> String {
        try apply(model: model, template: template, messages: messages.map(\.jinjaValue),
                  options: ChatTemplateOptions(addGenerationPrompt: addGenerationPrompt))
    }

    public static func apply(template: String, messages: [ChatMessage], addGenerationPrompt: Bool,
                             bosToken: String, eosToken: String) throws -> String {
        try apply(model: nil, template: template, messages: messages.map(\.jinjaValue),
                  options: ChatTemplateOptions(addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                                               eosToken: eosToken))
    }

    /// The general form: messages of any shape (dicts with tool_calls, name, content parts, ... as
    /// parsed from JSON by `messages(json:)`), a template or the model's, and options. Needs a model
    /// or a template.
    public static func apply(model: Model?, template: String?, messages: [JinjaValue],
                             options: ChatTemplateOptions) throws -> String {
        guard let source = template ?? model?.chatTemplate else {
            if let model { throw LoomError.unsupported("'\(model.path)' has no chat template; pass one explicitly") }
            throw LoomError.invalidArgument("no template and no model to take one from")
        }
        var bos = options.bosToken ?? "", eos = options.eosToken ?? ""
        if let model, options.bosToken == nil || options.eosToken == nil {
            let tok = try? model.tokenizer()
            func text(_ id: Int32?) -> String { id.flatMap { try? tok?.tokenText($0) } ?? "" }
            if options.bosToken == nil { bos = text(tok?.bosID) }
            if options.eosToken == nil { eos = text(tok?.eosID) }
        }
        return try JinjaTemplate(source).renderChat(messages: messages, addGenerationPrompt: options.addGenerationPrompt,
                                                    bosToken: bos, eosToken: eos, extra: options.extra,
                                                    options: JinjaRenderOptions(now: options.now))
    }

    /// Messages from JSON text: an array of message objects, kept as Python's json.loads gives them.
    public static func messages(json: [UInt8]) throws -> [JinjaValue] {
        guard case .array(let items) = try parseJSON(json, what: "messages") else {
            throw LoomError.invalidArgument("messages JSON must be an array of message objects")
        }
        return items.map { JinjaValue(json: $0) }
    }

    /// Extra template variables from JSON text: an object whose keys become variables.
    public static func variables(json: [UInt8]) throws -> [String: JinjaValue] {
        guard case .object(let o) = try parseJSON(json, what: "extra variables") else {
            throw LoomError.invalidArgument("extra variables JSON must be an object")
        }
        var out: [String: JinjaValue] = [:]
        for k in o.keys { out[k] = JinjaValue(json: o[k] ?? .null) }
        return out
    }

    private static func parseJSON(_ bytes: [UInt8], what: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch let e as LoomError {
            throw LoomError.invalidArgument("\(what) is not valid JSON: \(e.message)")
        }
    }
}
