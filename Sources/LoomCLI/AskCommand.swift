import ArgumentParser
import LoomCore
import LoomEvaluation
import LoomGeneration
import LoomModels

#if canImport(Glibc)
import Glibc
#endif

struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Answer a question from documents: retrieve passages from an index, let a chat model answer citing them as [n].",
        discussion: """
        Grounded generation, as examples/python/ask_folder.py: the question's -k best passages of the index \
        (loom index build, or --docs to index files and folders in memory) go into the model's chat prompt \
        as numbered sources "[n] (document id) passage" under the instructions (by default: answer only \
        from the sources, cite them as [n], say so when they do not hold the answer). The answer streams, \
        then every source put in the prompt is listed with its score; "cited" marks those whose number the \
        answer mentions — a textual check of the model's citations, not proof that the passage supports it. \
        Without QUESTION, questions are read from standard input, one per line, until an empty line.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.short, .customLong("encoder")], help: "The index's encoder (default: $LOOM_ENCODER, else all-MiniLM-L6-v2 in the cache).")
    var encoder: String?

    @Option(name: [.short, .customLong("index")], help: "An index file (loom index build).")
    var index: String?

    @Option(name: .customLong("docs"), help: "Instead of --index: files and folders (.txt, .md) indexed in memory (repeatable).")
    var docs: [String] = []

    @Option(name: .customLong("chunk-tokens"), help: "With --docs: most encoder tokens per passage.")
    var chunkTokens: Int = ChunkingParams().maxTokens

    @Option(name: .customLong("chunk-overlap"), help: "With --docs: tokens a passage shares with the one before it.")
    var chunkOverlap: Int = ChunkingParams().overlapTokens

    @Option(name: .short, help: "Passages retrieved and put in the prompt.")
    var k: Int = 3

    @Flag(name: .customLong("no-cite"), help: "Do not ask for [n] citations (other default instructions).")
    var noCite = false

    @Option(help: "Replaces the default instructions (the system turn).")
    var instructions: String?

    @Flag(name: .customLong("show-prompt"), help: "Also print the prompt the model was given.")
    var showPrompt = false

    @Flag(help: "Print each answer as one JSON object (no streaming).")
    var json = false

    @OptionGroup var sampling: SamplingOptions

    @Argument(help: "The question (omit to read questions from standard input).")
    var question: String?

    func validate() throws {
        guard (index == nil) != docs.isEmpty else { throw ValidationError("give the documents with either -i INDEX or --docs PATH") }
        guard k >= 1, k <= 1024 else { throw ValidationError("-k must be in 1...1024") }
        guard sampling.threads >= 1, sampling.threads <= 512 else { throw ValidationError("-t must be in 1...512") }
        guard sampling.numBeams == 1 else { throw ValidationError("grounded answers are sampled or greedy: --num-beams must be 1") }
        guard sampling.contextSize >= 0 else { throw ValidationError("-c must not be negative") }
    }

    /// The retrieval index: loaded, or built from --docs.
    func retrievalIndex() throws -> RetrievalIndex {
        let enc = try loadEncoder(encoder)
        if let index { return try loadIndex(index, encoder: enc, threads: sampling.threads) }
        let files = try collectDocuments(docs, extensions: [".txt", ".md"], recursive: false)
        guard !files.isEmpty else { throw ValidationError("no .txt or .md files in \(docs.joined(separator: ", "))") }
        do {
            let idx = try RetrievalIndex(encoder: enc, chunking: ChunkingParams(maxTokens: chunkTokens, overlapTokens: chunkOverlap),
                                         threads: sampling.threads)
            for f in files {
                let text = try readTextFile(f.path)
                if isBlank(text) { continue }
                do {
                    try idx.add(id: f.id, text: text, metadata: "{\"path\": \(jsonQuoted(f.path))}")
                } catch let e as LoomError {
                    throw ValidationError("\(f.path): \(e.message)")
                }
            }
            FileHandleErr.write("indexed \(idx.documentCount) files as \(idx.passageCount) passages\n")
            return idx
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
    }

    func run() throws {
        let idx = try retrievalIndex()
        let model = try modelOptions.load(vocabOnly: false)
        let context: Context
        do {
            context = try Context(model: model, params: ContextParams(contextLength: sampling.contextSize, threads: sampling.threads,
                                                                      maxSequences: 1))
            try context.setAdapters(try sampling.adapters())
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
        let params = GroundedGeneration.Params(k: k, cite: !noCite, instructions: instructions, generation: sampling.generation)

        func answer(_ q: String) throws {
            let stream: ((Int32, [UInt8]) -> Bool)? = json ? nil : { _, piece in
                writeOut(piece)
                return true
            }
            let a: GroundedGeneration.Answer
            do {
                a = try GroundedGeneration.answer(context: context, index: idx, question: q, params: params, onText: stream)
            } catch let e as LoomError {
                if !json { writeOut(Array("\n".utf8)) }
                // Most often the sources do not fit: say which options change that.
                throw ValidationError(e.message + (e.status == .outOfRange ? " (-c sets the context size, -k the passages in the prompt)" : ""))
            }
            if json {
                let sources = a.sources.map { s in
                    "{\"number\": \(s.number), \"id\": \(jsonQuoted(s.documentID)), \"document\": \(s.document), \"passage\": \(s.passage), "
                        + "\"score\": \(jsonNumber(s.score)), \"cited\": \(s.cited), \"text\": \(jsonQuoted(s.text))}"
                }
                print("{\"question\": \(jsonQuoted(q)), \"answer\": \(jsonQuoted(a.text)), \"finish_reason\": \(jsonQuoted(a.result.finishReason.name)), "
                      + "\"sources\": [\(sources.joined(separator: ", "))]" + (showPrompt ? ", \"prompt\": \(jsonQuoted(a.prompt))" : "") + "}")
                return
            }
            writeOut(Array("\n".utf8))
            print("")
            print("sources (best match first):")
            for s in a.sources {
                print("  [\(s.number)] \(s.documentID)  score \(formatFixed(Double(s.score), 3))" + (s.cited ? "  (cited)" : ""))
                print("      " + s.text.replacingNewlines())
            }
            if showPrompt {
                print("")
                print("prompt:")
                print(a.prompt)
            }
            FileHandleErr.write("[\(a.result.ids.count) tokens, finish: \(a.result.finishReason.name)]\n")
        }

        if let question {
            try answer(question)
            return
        }
        let interactive = isatty(0) != 0
        while true {
            if interactive { writeOut(Array("question> ".utf8)) }
            guard let line = readLine(), !line.isEmpty else { break }
            try answer(line)
            if interactive { print("") }
        }
    }
}
