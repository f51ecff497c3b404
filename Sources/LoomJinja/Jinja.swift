import LoomCore

/// A Jinja2 template, rendered as HF transformers' apply_chat_template renders chat templates:
/// jinja2's ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
/// loopcontrols extension (`break`, `continue`), the `{% generation %}` tag, the globals
/// `raise_exception(msg)` and `strftime_now(fmt)`, and `tojson` as json.dumps(ensure_ascii=False).
///
/// Errors are LoomErrors: a syntax error is `.format`; `raise_exception(msg)` is
/// `.invalidArgument` with exactly `msg` as its message; other render errors (undefined values
/// used, type errors, sandbox refusals) are `.invalidArgument` naming the Python exception jinja2
/// would raise; exceeding a safety limit (`JinjaLimits`) is `.outOfRange`.
public struct JinjaTemplate: Sendable {
    let body: [Stmt]

    /// Parses the template once; render it as often as needed.
    public init(_ source: String) throws {
        do {
            body = try Parser.parse(source)
        } catch let e as JinjaError {
            throw e.loomError
        }
    }

    public func render(_ context: [String: JinjaValue]) throws -> String {
        try render(context, options: JinjaRenderOptions())
    }

    public func render(_ context: [String: JinjaValue], options: JinjaRenderOptions) throws -> String {
        let interp = Interpreter(limits: options.limits, now: options.now)
        do {
            return try interp.render(body, context: context)
        } catch let e as JinjaError {
            throw e.loomError
        }
    }

    /// The variables transformers' apply_chat_template passes: messages, tools and documents
    /// (None unless given in extra), add_generation_prompt, and the special tokens; `extra` adds or
    /// overrides variables (e.g. tools, enable_thinking, other special tokens).
    public static func chatContext(messages: [JinjaValue], addGenerationPrompt: Bool, bosToken: String,
                                   eosToken: String, extra: [String: JinjaValue] = [:]) -> [String: JinjaValue] {
        var ctx: [String: JinjaValue] = [
            "messages": .list(messages),
            "tools": .none,
            "documents": .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ]
        for (k, v) in extra { ctx[k] = v }
        return ctx
    }

    /// Renders a conversation as apply_chat_template(messages, tokenize=False, ...) does.
    public func renderChat(messages: [JinjaValue], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                           extra: [String: JinjaValue] = [:], options: JinjaRenderOptions = JinjaRenderOptions()) throws -> String {
        try render(JinjaTemplate.chatContext(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                             bosToken: bosToken, eosToken: eosToken, extra: extra),
                   options: options)
    }
}

/// Per-render settings: the clock strftime_now reads (nil: the local time now) and safety limits.
public struct JinjaRenderOptions: Sendable {
    public var now: JinjaDateTime?
    public var limits: JinjaLimits

    public init(now: JinjaDateTime? = nil, limits: JinjaLimits = JinjaLimits()) {
        self.now = now
        self.limits = limits
    }
}

/// Parses and renders a chat template as transformers' apply_chat_template(tokenize=False) does.
/// `now` fixes what strftime_now sees (for reproducible prompts and tests).
public func renderChatTemplate(_ template: String, messages: [JinjaValue], addGenerationPrompt: Bool,
                               bosToken: String, eosToken: String, extra: [String: JinjaValue] = [:],
                               now: JinjaDateTime? = nil) throws -> String {
    try JinjaTemplate(template).renderChat(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: bosToken, eosToken: eosToken, extra: extra,
                                           options: JinjaRenderOptions(now: now))
}

/// A point in local time for strftime_now (transformers calls datetime.now()).
public struct JinjaDateTime: Sendable, Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }
}

/// Safety bounds for one render.
public struct JinjaLimits: Sendable {
    /// Bytes of text a render may produce, counting text captured by macros and blocks (16 MiB: a
    /// million-token conversation is about 4 MB of text).
    public var maxOutputBytes = 16 << 20
    /// Loop iterations over the whole render. Each costs up to about 4 µs in release builds with a
    /// heavy body (list reprs, several outputs): 100,000 keep a render under half a second; 250,000
    /// let a 1.6 KB template of nested loops over string literals run 1.07 s and 1,000,000 a lighter
    /// one 1.5 s (both found by the jinja fuzz target).
    public var maxLoopIterations = 100_000
    /// Nested macro calls (and recursive loops).
    public var maxCallDepth = 64
    /// Nested evaluation (expressions within statements within macro calls...), which bounds the
    /// stack a render uses.
    public var maxNesting = 500
    /// Work over the whole render: every filter, test, call and operator is charged the size of its
    /// operands and result (a string's UTF-8 bytes; 16 per list item, 32 per dict entry). Bounds
    /// the time of templates that stay under the other limits but repeat costly operations on large
    /// values (`{% for i in range(1000) %}{{ big|upper|length }}{% endfor %}`).
    public var maxWork = 1 << 25

    public init() {}
}
