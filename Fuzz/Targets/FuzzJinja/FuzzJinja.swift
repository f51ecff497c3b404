import FuzzSupport
import LoomCore
import LoomJinja

/// A chat template, then (after Fuzz.separator) the messages as JSON, then optionally extra variables
/// as a JSON object: rendered as loom_chat_apply_template_json does, with the default limits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJinja(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let parts = Fuzz.split(data, size, maxParts: 3)
    let source = String(decoding: parts[0], as: UTF8.self)
    guard let template = Fuzz.attempt("parse", { try JinjaTemplate(source) }) else { return 0 }
    var messages: [JinjaValue] = [JinjaValue(pairs: [("role", .string("user")), ("content", .string("Hello"))])]
    if parts.count > 1, let json = try? JSONParser.parse(parts[1]), case .array(let items) = json {
        messages = items.map { JinjaValue(json: $0) }
    }
    var extra: [String: JinjaValue] = [:]
    if parts.count > 2, let json = try? JSONParser.parse(parts[2]), case .object(let o) = json {
        for k in o.keys { extra[k] = JinjaValue(json: o[k] ?? .null) }
    }
    let now = JinjaDateTime(year: 2024, month: 7, day: 26, hour: 10, minute: 30)
    _ = try? template.renderChat(messages: messages, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>",
                                 extra: extra, options: JinjaRenderOptions(now: now))
    return 0
}
