import LoomCore

/// An error raised while parsing or rendering, named after the Python exception jinja2 raises in
/// the same place. It leaves the module as a LoomError (see `loomError`).
struct JinjaError: Error, CustomStringConvertible {
    /// The Python exception type: TemplateSyntaxError, UndefinedError, TypeError, ValueError,
    /// SecurityError, TemplateError (raise_exception), LimitExceeded (Loom's own safety limits), ...
    let type: String
    let message: String
    var line: Int?

    init(_ type: String, _ message: String, line: Int? = nil) {
        self.type = type
        self.message = message
        self.line = line
    }

    static func syntax(_ m: String, line: Int?) -> JinjaError { JinjaError("TemplateSyntaxError", m, line: line) }
    static func type(_ m: String) -> JinjaError { JinjaError("TypeError", m) }
    static func value(_ m: String) -> JinjaError { JinjaError("ValueError", m) }
    static func runtime(_ m: String) -> JinjaError { JinjaError("TemplateRuntimeError", m) }
    static func limit(_ m: String) -> JinjaError { JinjaError("LimitExceeded", m) }

    /// Widths, precisions and fill counts (ljust / center / zfill, format specs, indent, batch's fill,
    /// tojson's indent) above this are refused before anything is allocated: the result could not be
    /// output anyway (JinjaLimits.maxOutputBytes' default).
    static let maxPadding = 16 << 20

    static func checkPadding(_ n: Int, _ what: String) throws {
        if n > maxPadding { throw limit("\(what) \(n) exceeds \(maxPadding)") }
    }
    static func undefined(_ u: JinjaUndefined) -> JinjaError {
        JinjaError(u.unsafe ? "SecurityError" : "UndefinedError", u.hint)
    }

    var description: String {
        let at = line.map { " (template line \($0))" } ?? ""
        return "\(type): \(message)\(at)"
    }

    /// `raise_exception(msg)` surfaces with exactly its message; syntax errors are format errors;
    /// exceeded safety limits are out-of-range; everything else is an invalid argument (the
    /// template cannot render this input).
    var loomError: LoomError {
        switch type {
        case "TemplateError": return LoomError(.invalidArgument, message)
        case "TemplateSyntaxError": return LoomError(.format, "chat template: \(description)")
        case "LimitExceeded": return LoomError(.outOfRange, "chat template: \(message)")
        default: return LoomError(.invalidArgument, "chat template: \(description)")
        }
    }
}
