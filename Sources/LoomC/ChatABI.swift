import CLoomSupport
import LoomCore
import LoomGeneration
import LoomJinja
import LoomModels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Chat templates (transformers' apply_chat_template) and prompt building.

/// Most messages / examples in one call: more is a caller bug (a garbage count), not a conversation.
private let maxMessages = 1 << 20

private func chatMessages(_ messages: UnsafePointer<loom_chat_message>?, _ n: Int) throws -> [ChatMessage] {
    guard n >= 0, n <= maxMessages, messages != nil || n == 0 else {
        throw LoomError.invalidArgument("messages is NULL with n_messages \(n), or n_messages is out of range")
    }
    var list: [ChatMessage] = []
    for i in 0..<n {
        guard let m = messages?[i], let role = m.role, let content = m.content else {
            throw LoomError.invalidArgument("message \(i) has a NULL role or content")
        }
        list.append(ChatMessage(role: String(cString: role), content: String(cString: content)))
    }
    return list
}

private func optionalModel(_ model: OpaquePointer?) throws -> Model? {
    guard let model else { return nil }
    return try borrowHandle(model, as: ModelHandle.self, "model").model
}

private func chatOptions(_ params: UnsafePointer<loom_chat_params>?) throws -> ChatTemplateOptions {
    let p = try readParams(params, defaults: loom_chat_default_params(), what: "params")
    var extra: [String: JinjaValue] = [:]
    if let json = p.extra_json {
        extra = try ChatTemplate.variables(json: Array(String(cString: json).utf8))
    }
    var now: JinjaDateTime?
    if p.now != 0 { now = try localTime(p.now) }
    return ChatTemplateOptions(addGenerationPrompt: p.add_generation_prompt,
                               bosToken: p.bos_token.map { String(cString: $0) },
                               eosToken: p.eos_token.map { String(cString: $0) }, extra: extra,
                               now: now)
}

/// Seconds since the Unix epoch as local broken-down time (what Python's datetime.fromtimestamp gives).
private func localTime(_ seconds: Int64) throws -> JinjaDateTime {
    // Years 1 ... 9999, as Python's datetime allows.
    guard seconds > -62_135_596_800 + 86_400, seconds < 253_402_300_799 - 86_400 else {
        throw LoomError.invalidArgument("params.now \(seconds) is outside the years 1 ... 9999")
    }
    var t = time_t(seconds)
    var parts = tm()
    guard localtime_r(&t, &parts) != nil else {
        throw LoomError.invalidArgument("params.now \(seconds) cannot be shown in local time")
    }
    return JinjaDateTime(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
                         hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(min(parts.tm_sec, 59)))
}

private func render(_ model: OpaquePointer?, _ tmpl: UnsafePointer<CChar>?, _ messages: [JinjaValue],
                    _ options: ChatTemplateOptions, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) throws -> Int32 {
    let m = try optionalModel(model)
    guard m != nil || tmpl != nil else { throw LoomError.invalidArgument("model and tmpl are both NULL") }
    let text = try ChatTemplate.apply(model: m, template: tmpl.map { String(cString: $0) }, messages: messages,
                                      options: options)
    return try fillBuffer(text, buf, cap, what: "chat prompt")
}

@_cdecl("loom_chat_apply_template")
public func loom_chat_apply_template(_ model: OpaquePointer?, _ tmpl: UnsafePointer<CChar>?,
                                     _ messages: UnsafePointer<loom_chat_message>?, _ n: Int, _ addGenerationPrompt: Bool,
                                     _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_chat_apply_template") {
        let list = try chatMessages(messages, n).map(\.jinjaValue)
        return try render(model, tmpl, list, ChatTemplateOptions(addGenerationPrompt: addGenerationPrompt), buf, cap)
    }
}

@_cdecl("loom_chat_default_params")
public func loom_chat_default_params() -> loom_chat_params {
    loom_chat_params(size: UInt32(MemoryLayout<loom_chat_params>.size), add_generation_prompt: false,
                     bos_token: nil, eos_token: nil, extra_json: nil, now: 0)
}

@_cdecl("loom_chat_apply_template_ex")
public func loom_chat_apply_template_ex(_ model: OpaquePointer?, _ tmpl: UnsafePointer<CChar>?,
                                        _ messages: UnsafePointer<loom_chat_message>?, _ n: Int,
                                        _ params: UnsafePointer<loom_chat_params>?,
                                        _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_chat_apply_template_ex") {
        let list = try chatMessages(messages, n).map(\.jinjaValue)
        return try render(model, tmpl, list, try chatOptions(params), buf, cap)
    }
}

@_cdecl("loom_chat_apply_template_json")
public func loom_chat_apply_template_json(_ model: OpaquePointer?, _ tmpl: UnsafePointer<CChar>?,
                                          _ messagesJSON: UnsafePointer<CChar>?,
                                          _ params: UnsafePointer<loom_chat_params>?,
                                          _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_chat_apply_template_json") {
        let json = try requireString(messagesJSON, "messages_json")
        let list = try ChatTemplate.messages(json: Array(json.utf8))
        return try render(model, tmpl, list, try chatOptions(params), buf, cap)
    }
}

// MARK: - prompt building

@_cdecl("loom_prompt_default_params")
public func loom_prompt_default_params() -> loom_prompt_params {
    loom_prompt_params(size: UInt32(MemoryLayout<loom_prompt_params>.size), instructions: nil, context: nil, task: nil,
                       output_format: nil, examples: nil, n_examples: 0, system_turn: true)
}

private func promptBuilder(_ prompt: UnsafePointer<loom_prompt_params>?) throws -> PromptBuilder {
    guard prompt != nil else { throw LoomError.invalidArgument("prompt is NULL") }
    let p = try readParams(prompt, defaults: loom_prompt_default_params(), what: "prompt")
    func text(_ s: UnsafePointer<CChar>?) -> String { s.map { String(cString: $0) } ?? "" }
    guard p.n_examples >= 0, p.n_examples <= maxMessages, p.examples != nil || p.n_examples == 0 else {
        throw LoomError.invalidArgument("prompt.examples is NULL with n_examples \(p.n_examples), "
            + "or n_examples is out of range")
    }
    var examples: [PromptBuilder.Example] = []
    for i in 0..<p.n_examples {
        guard let e = p.examples?[i], let input = e.input, let output = e.output else {
            throw LoomError.invalidArgument("prompt.examples[\(i)] has a NULL input or output")
        }
        examples.append(PromptBuilder.Example(input: String(cString: input), output: String(cString: output)))
    }
    return PromptBuilder(task: text(p.task), instructions: text(p.instructions), context: text(p.context),
                         examples: examples, outputFormat: text(p.output_format), systemTurn: p.system_turn)
}

@_cdecl("loom_prompt_text")
public func loom_prompt_text(_ prompt: UnsafePointer<loom_prompt_params>?, _ buf: UnsafeMutablePointer<CChar>?,
                             _ cap: Int) -> Int32 {
    guardedCount("loom_prompt_text") { try fillBuffer(try promptBuilder(prompt).text(), buf, cap, what: "prompt") }
}

@_cdecl("loom_prompt_messages_json")
public func loom_prompt_messages_json(_ prompt: UnsafePointer<loom_prompt_params>?,
                                      _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_prompt_messages_json") {
        try fillBuffer(try promptBuilder(prompt).messagesJSON(), buf, cap, what: "messages JSON")
    }
}

@_cdecl("loom_prompt_apply_template")
public func loom_prompt_apply_template(_ model: OpaquePointer?, _ tmpl: UnsafePointer<CChar>?,
                                       _ prompt: UnsafePointer<loom_prompt_params>?,
                                       _ params: UnsafePointer<loom_chat_params>?,
                                       _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_prompt_apply_template") {
        let list = try promptBuilder(prompt).messages().map(\.jinjaValue)
        return try render(model, tmpl, list, try chatOptions(params), buf, cap)
    }
}
