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
}

/// Renders conversations with a model's chat template exactly as transformers' apply_chat_template
/// does (jinja2 sandbox, trim_blocks, lstrip_blocks; bos_token/eos_token from the vocabulary).
public enum ChatTemplate {
    /// Renders `messages` with `template` (nil: the model's own template).
    public static func apply(model: Model, template: String? = nil, messages: [ChatMessage],
                             addGenerationPrompt: Bool) throws -> String {
        guard let source = template ?? model.chatTemplate else {
            throw LoomError.unsupported("'\(model.path)' has no chat template; pass one explicitly")
        }
        let tok = try? model.tokenizer()
        func text(_ id: Int32?) -> String { id.flatMap { try? tok?.tokenText($0) } ?? "" }
        return try apply(template: source, messages: messages, addGenerationPrompt: addGenerationPrompt,
                         bosToken: text(tok?.bosID), eosToken: text(tok?.eosID))
    }

    public static func apply(template: String, messages: [ChatMessage], addGenerationPrompt: Bool,
                             bosToken: String, eosToken: String) throws -> String {
        let values = messages.map { JinjaValue(pairs: [("role", .string($0.role)), ("content", .string($0.content))]) }
        return try JinjaTemplate(template).renderChat(messages: values, addGenerationPrompt: addGenerationPrompt,
                                                      bosToken: bosToken, eosToken: eosToken)
    }
}
