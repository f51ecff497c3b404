import LoomCore
import LoomJinja

/// The anatomy of a prompt: instructions (how to behave), context (background the task needs), the
/// task itself, few-shot examples (input → output pairs) and the output format, assembled into chat
/// messages or into one plain text with labelled sections.
///
/// Each part is stripped of leading and trailing whitespace; an empty part is left out.
///
/// Chat messages (`messages()`), in order:
///  - a system turn with the instructions and the output format;
///  - each example as a user turn (its input) and an assistant turn (its output);
///  - a final user turn with the context and the task.
/// A turn holding only the instructions (system) or only the task (user) is that text as it is;
/// otherwise each part in it gets a heading ("## Instructions", "## Output format", "## Context",
/// "## Task") and parts are separated by a blank line. With `systemTurn` false (for templates that
/// reject the system role) the system text is put, followed by a blank line, at the start of the
/// first user turn.
///
/// Plain text (`text()`): the sections "## Instructions", "## Context", "## Examples" (each example
/// as "Input: …" / "Output: …" lines, examples separated by a blank line), "## Output format" and
/// "## Task", in that order, separated by blank lines, with no trailing newline (a prompt that is only a
/// task is that text as it is).
public struct PromptBuilder: Sendable, Equatable {
    public struct Example: Sendable, Equatable {
        public var input: String
        public var output: String

        public init(input: String, output: String) {
            self.input = input
            self.output = output
        }
    }

    public var instructions: String
    public var context: String
    public var task: String
    public var examples: [Example]
    public var outputFormat: String
    /// Whether instructions and output format go in a system turn (true) or open the first user turn.
    public var systemTurn: Bool

    public init(task: String = "", instructions: String = "", context: String = "", examples: [Example] = [],
                outputFormat: String = "", systemTurn: Bool = true) {
        self.task = task
        self.instructions = instructions
        self.context = context
        self.examples = examples
        self.outputFormat = outputFormat
        self.systemTurn = systemTurn
    }

    /// Python's str.strip(): Unicode whitespace at both ends.
    static func strip(_ s: String) -> String {
        let scalars = Array(s.unicodeScalars)
        var lo = 0, hi = scalars.count
        while lo < hi, scalars[lo].properties.isWhitespace { lo += 1 }
        while hi > lo, scalars[hi - 1].properties.isWhitespace { hi -= 1 }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars[lo..<hi])
        return String(v)
    }

    /// Joins (heading, body) parts; a lone part that may go unlabelled is written as it is.
    private static func turn(_ parts: [(String, String)], unlabelledAlone: String) -> String {
        let present = parts.filter { !$0.1.isEmpty }
        if present.count == 1, present[0].0 == unlabelledAlone { return present[0].1 }
        return present.map { "## \($0.0)\n\($0.1)" }.joined(separator: "\n\n")
    }

    /// The conversation: system turn, example turns, final user turn (see the type's description).
    public func messages() -> [ChatMessage] {
        let system = Self.turn([("Instructions", Self.strip(instructions)), ("Output format", Self.strip(outputFormat))],
                               unlabelledAlone: "Instructions")
        let user = Self.turn([("Context", Self.strip(context)), ("Task", Self.strip(task))], unlabelledAlone: "Task")
        var out: [ChatMessage] = []
        for e in examples {
            out.append(ChatMessage(role: "user", content: Self.strip(e.input)))
            out.append(ChatMessage(role: "assistant", content: Self.strip(e.output)))
        }
        if !user.isEmpty { out.append(ChatMessage(role: "user", content: user)) }
        if !system.isEmpty {
            if systemTurn {
                out.insert(ChatMessage(role: "system", content: system), at: 0)
            } else if let i = out.firstIndex(where: { $0.role == "user" }) {
                out[i].content = out[i].content.isEmpty ? system : system + "\n\n" + out[i].content
            } else {
                out.insert(ChatMessage(role: "user", content: system), at: 0)
            }
        }
        return out
    }

    /// The messages as a JSON array of {"role", "content"} objects (json.dumps style).
    public func messagesJSON() throws -> String {
        try JinjaValue.list(messages().map(\.jinjaValue)).jsonText()
    }

    /// One plain-text prompt with labelled sections (see the type's description).
    public func text() -> String {
        let shots = examples.map { "Input: \(Self.strip($0.input))\nOutput: \(Self.strip($0.output))" }
        let sections: [(String, String)] = [
            ("Instructions", Self.strip(instructions)),
            ("Context", Self.strip(context)),
            ("Examples", shots.joined(separator: "\n\n")),
            ("Output format", Self.strip(outputFormat)),
            ("Task", Self.strip(task)),
        ]
        return Self.turn(sections, unlabelledAlone: "Task")
    }
}
