import LoomCore
import LoomModels

/// Retrieval-augmented ("grounded") generation: retrieve the top-k passages for a question, put them
/// in the prompt as numbered sources, generate, and report which passages were used.
///
/// The prompt is a `PromptBuilder` rendered with the model's chat template (add_generation_prompt;
/// tokenized as `Model.chat` does: special-token text parsed, no extra BOS). Without a chat template
/// it is `PromptBuilder.text()` followed by "\n\nAnswer:" (tokenized with the model's BOS rule):
///  - system turn: `instructions` (default `GroundedGeneration.defaultInstructions`, or
///    `defaultInstructionsWithoutCitations` when `cite` is false);
///  - user turn: "## Context" with the sources, one per block, "[n] (document id) passage text",
///    blocks separated by a blank line, numbered from 1 in retrieval order (best first), then
///    "## Task" with the question.
///
/// What is reported: `sources` are exactly the passages retrieved and put in the prompt (the model saw
/// them all; nothing is claimed about which it relied on). `cited` marks the sources whose number the
/// answer text mentions in square brackets ("[2]", "[1, 3]", "[1][2]") — a textual check of the model's
/// own citations, only meaningful when it was asked to cite (`cite`), and not a guarantee that the cited
/// passage supports the sentence.
public enum GroundedGeneration {
    public static let defaultInstructions = "Answer the question using only the numbered sources. Cite the sources you use by their number in square brackets, like [1]. If the sources do not contain the answer, say that you do not know."
    public static let defaultInstructionsWithoutCitations = "Answer the question using only the sources. If the sources do not contain the answer, say that you do not know."

    public struct Params: Sendable {
        /// Passages retrieved and put in the prompt (fewer when the index holds fewer). Default 3.
        public var k: Int
        /// Ask the model to cite sources as [n] (selects the default instructions). Default true.
        public var cite: Bool
        /// Replaces the default instructions (the system turn).
        public var instructions: String?
        public var generation: GenerationParams

        public init(k: Int = 3, cite: Bool = true, instructions: String? = nil,
                    generation: GenerationParams = GenerationParams()) {
            self.k = k
            self.cite = cite
            self.instructions = instructions
            self.generation = generation
        }
    }

    public struct Source: Sendable, Equatable {
        /// Its number in the prompt ([1] is the best match).
        public let number: Int
        public let passage: Int
        public let document: Int
        public let documentID: String
        public let score: Float
        public let text: String
        /// The answer mentions [number].
        public let cited: Bool
    }

    public struct Answer: Sendable {
        public let text: String
        public let result: GenerationResult
        public let sources: [Source]
        /// The prompt text the model was given (rendered chat template or plain text).
        public let prompt: String
    }

    /// The prompt's parts for these sources (numbered in order).
    public static func promptBuilder(question: String, sources: [(documentID: String, text: String)],
                                     cite: Bool = true, instructions: String? = nil) -> PromptBuilder {
        let context = sources.enumerated().map { "[\($0.offset + 1)] (\($0.element.documentID)) \($0.element.text)" }
            .joined(separator: "\n\n")
        return PromptBuilder(task: question,
                             instructions: instructions ?? (cite ? defaultInstructions : defaultInstructionsWithoutCitations),
                             context: context)
    }

    /// Retrieves, prompts and generates on the context's sequence 0.
    public static func answer(context: Context, index: RetrievalIndex, question: String,
                              params: Params = Params(), userProcessors: [any LogitProcessor] = [],
                              onText: ((Int32, [UInt8]) -> Bool)? = nil) throws -> Answer {
        guard params.k >= 1, params.k <= 1024 else { throw LoomError.invalidArgument("k must be in 1...1024, got \(params.k)") }
        guard !question.isEmpty else { throw LoomError.invalidArgument("the question is empty") }
        let hits = try index.search(question, k: params.k)
        var retrieved: [(hit: RetrievalIndex.Hit, id: String, text: String)] = []
        for h in hits {
            retrieved.append((h, try index.document(h.document).id, try index.passage(h.passage).text))
        }
        let builder = promptBuilder(question: question, sources: retrieved.map { ($0.id, $0.text) }, cite: params.cite,
                                    instructions: params.instructions)
        let model = context.model
        let tokenizer = try model.tokenizer()
        let prompt: String
        let ids: [Int32]
        if model.chatTemplate != nil {
            prompt = try ChatTemplate.apply(model: model, messages: builder.messages(), addGenerationPrompt: true)
            ids = try tokenizer.tokenize(prompt, addSpecial: false, parseSpecial: true)
        } else {
            prompt = builder.text() + "\n\nAnswer:"
            ids = try tokenizer.tokenize(prompt, addSpecial: true, parseSpecial: false)
        }
        let result = try Generator.generate(context: context, prompt: ids, params: params.generation,
                                            userProcessors: userProcessors, onText: onText)
        let cited = citations(in: result.text)
        let sources = retrieved.enumerated().map { i, r in
            Source(number: i + 1, passage: r.hit.passage, document: r.hit.document, documentID: r.id, score: r.hit.score,
                   text: r.text, cited: cited.contains(i + 1))
        }
        return Answer(text: result.text, result: result, sources: sources, prompt: prompt)
    }

    /// The numbers cited in square brackets: "[2]", "[1, 3]", "[1][2]" (digits, commas and spaces inside).
    public static func citations(in text: String) -> Set<Int> {
        var out = Set<Int>()
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            guard b[i] == UInt8(ascii: "[") else { i += 1; continue }
            var j = i + 1
            var numbers: [Int] = [], current: Int? = nil, valid = true
            while j < b.count, b[j] != UInt8(ascii: "]") {
                let c = b[j]
                if c >= 0x30, c <= 0x39 {
                    current = min((current ?? 0) * 10 + Int(c - 0x30), 1 << 20)
                } else if c == UInt8(ascii: ",") || c == UInt8(ascii: " ") {
                    if let n = current { numbers.append(n) }
                    current = nil
                } else {
                    valid = false
                    break
                }
                j += 1
            }
            if valid, j < b.count {
                if let n = current { numbers.append(n) }
                out.formUnion(numbers)
                i = j + 1
            } else {
                i += 1
            }
        }
        return out
    }
}
