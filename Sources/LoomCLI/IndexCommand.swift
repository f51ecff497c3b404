import ArgumentParser
import LoomCore
import LoomEvaluation
import LoomGeneration
import LoomModels

#if canImport(Glibc)
import Glibc
#endif

/// The default encoder of the retrieval commands: $LOOM_ENCODER, else all-MiniLM-L6-v2 in the cache
/// (scripts/fetch-model.sh), as examples/python/ask_folder.py.
func defaultEncoderPath() -> String {
    let env = ProcessEnvironment()
    if let e = env["LOOM_ENCODER"], !e.isEmpty { return e }
    let cache = env["LOOM_CACHE"] ?? ((env["HOME"] ?? ".") + "/.cache/loom")
    return cache + "/models/all-MiniLM-L6-v2"
}

/// Loads the encoder of a retrieval command (nil: the default one).
func loadEncoder(_ path: String?) throws -> Model {
    do {
        return try Model.load(path: path ?? defaultEncoderPath(), params: ModelParams())
    } catch let e as LoomError {
        throw ValidationError("cannot load encoder: \(e.message)" + (path == nil ? " (run scripts/fetch-model.sh for all-MiniLM-L6-v2, or pass one)" : ""))
    }
}

/// A file to index and the id it gets.
struct DocumentFile {
    let id: String
    let path: String
}

/// Names in a folder (hidden ones skipped), in code-point order.
private func listFolder(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else {
        throw ValidationError("cannot read folder '\(path)': \(String(cString: strerror(errno)))")
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        if name.isEmpty || name.hasPrefix(".") { continue }
        names.append(name)
    }
    return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}

private func joinPath(_ folder: String, _ name: String) -> String {
    folder.hasSuffix("/") ? folder + name : folder + "/" + name
}

/// The files to index: a file is taken as given (id: its file name); a folder gives its files whose
/// names end with one of `extensions` (id: the path below the folder), its subfolders too when
/// `recursive`. Ids must be unique.
func collectDocuments(_ inputs: [String], extensions: [String], recursive: Bool) throws -> [DocumentFile] {
    var out: [DocumentFile] = []
    var seen: [String: String] = [:]
    func add(_ id: String, _ path: String) throws {
        if let other = seen[id] {
            throw ValidationError("'\(path)' and '\(other)' would both have the document id '\(id)'")
        }
        seen[id] = path
        out.append(DocumentFile(id: id, path: path))
    }
    func walk(_ folder: String, prefix: String, depth: Int) throws {
        guard depth < 64 else { throw ValidationError("'\(folder)': folders nested too deeply") }
        for name in try listFolder(folder) {
            let path = joinPath(folder, name)
            if isDirectory(path) {
                if recursive { try walk(path, prefix: prefix + name + "/", depth: depth + 1) }
            } else if extensions.contains(where: { name.hasSuffix($0) }) {
                try add(prefix + name, path)
            }
        }
    }
    for input in inputs {
        if isDirectory(input) {
            try walk(input, prefix: "", depth: 0)
        } else if fileExists(input) {
            var trimmed = Substring(input)
            while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            let name = trimmed.split(separator: "/").last.map(String.init) ?? input
            try add(name, input)
        } else {
            throw ValidationError("'\(input)' is neither a file nor a folder")
        }
    }
    return out
}

/// True when a text has nothing but whitespace (the index refuses such a document).
func isBlank(_ text: String) -> Bool {
    text.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
}

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build and search a retrieval index of text files (passages embedded with an encoder, cosine search).",
        discussion: """
        Documents are cut into passages (sentences packed into at most --chunk-tokens encoder tokens, \
        consecutive passages sharing up to --chunk-overlap tokens of whole sentences), each embedded with \
        the encoder (e.g. all-MiniLM-L6-v2: mean pooling, L2-normalised) and searched by cosine similarity. \
        The index file (versioned, validated on load) is searched with the encoder it was built with. \
        loom ask answers questions from an index.
        """,
        subcommands: [IndexBuildCommand.self, IndexSearchCommand.self])
}

struct IndexBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Index files and folders and save the index.",
        discussion: """
        A file is indexed as given, under its file name; a folder gives its files ending with --ext \
        (default .txt and .md), each under its path below the folder (subfolders with -r). Each document's \
        metadata is {"path": ...} as the Python package's RetrievalIndex.add_folder stores it. With --append \
        an existing index file is extended: documents whose id it holds are skipped, and the chunking \
        settings are the file's.
        """)

    @Option(name: [.short, .customLong("model")], help: "The encoder: an HF or sentence-transformers folder, or a GGUF bert (default: $LOOM_ENCODER, else all-MiniLM-L6-v2 in the cache).")
    var model: String?

    @Option(name: [.short, .customLong("output")], help: "The index file to write.")
    var output: String

    @Argument(help: "Files and folders to index.")
    var inputs: [String]

    @Option(name: .customLong("chunk-tokens"), help: "Most encoder tokens per passage (at most the encoder's length - 2).")
    var chunkTokens: Int = ChunkingParams().maxTokens

    @Option(name: .customLong("chunk-overlap"), help: "Tokens of whole sentences a passage shares with the one before it (< --chunk-tokens).")
    var chunkOverlap: Int = ChunkingParams().overlapTokens

    @Option(name: .customLong("ext"), help: "File-name ending of the files taken from folders (repeatable; default .txt and .md).")
    var ext: [String] = []

    @Flag(name: [.short, .customLong("recursive")], help: "Also index the subfolders of folders.")
    var recursive = false

    @Flag(help: "Add to the index file if it exists (documents it holds are skipped).")
    var append = false

    @Option(name: [.short, .customLong("threads")], help: "Threads of the encoder (default: the machine's cores, at most 8).")
    var threads: Int = ContextParams.defaultThreads

    func validate() throws {
        guard threads >= 1, threads <= 512 else { throw ValidationError("-t must be in 1...512") }
        guard !inputs.isEmpty else { throw ValidationError("give files or folders to index") }
    }

    func run() throws {
        let extensions = ext.isEmpty ? [".txt", ".md"] : ext.map { $0.hasPrefix(".") || $0.isEmpty ? $0 : "." + $0 }
        let files = try collectDocuments(inputs, extensions: extensions, recursive: recursive)
        guard !files.isEmpty else {
            throw ValidationError("no files to index (folders give their files ending with \(extensions.joined(separator: ", ")))")
        }
        let encoder = try loadEncoder(model)
        let index: RetrievalIndex
        let start = monotonicSeconds()
        do {
            if append, fileExists(output) {
                index = try RetrievalIndex.load(path: output, encoder: encoder, threads: threads)
                FileHandleErr.write("extending \(output): \(index.documentCount) documents, \(index.passageCount) passages\n")
            } else {
                if let embedder = try? Embedder(model: encoder), chunkTokens + 2 > embedder.maxSequenceLength {
                    throw ValidationError("passages of \(chunkTokens) tokens do not fit the encoder's \(embedder.maxSequenceLength) positions with [CLS]/[SEP]: pass --chunk-tokens \(max(1, embedder.maxSequenceLength - 2)) or less")
                }
                index = try RetrievalIndex(encoder: encoder,
                                           chunking: ChunkingParams(maxTokens: chunkTokens, overlapTokens: chunkOverlap),
                                           threads: threads)
            }
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
        var bar = ProgressBar("index")
        var added = 0, skipped = 0
        for (i, f) in files.enumerated() {
            if index.documentNumber(id: f.id) != nil {
                skipped += 1
            } else {
                let text: String
                do { text = try readTextFile(f.path) } catch { bar.finish(); throw error }
                if isBlank(text) {
                    bar.finish()
                    FileHandleErr.write("skipped \(f.path): no text\n")
                    skipped += 1
                } else {
                    do {
                        try index.add(id: f.id, text: text, metadata: "{\"path\": \(jsonQuoted(f.path))}")
                    } catch let e as LoomError {
                        bar.finish()
                        throw ValidationError("\(f.path): \(e.message)")
                    }
                    added += 1
                }
            }
            bar.update(Double(i + 1) / Double(files.count), detail: "\(i + 1)/\(files.count) files")
        }
        bar.finish()
        guard index.documentCount > 0 else { throw ValidationError("nothing to index: the files have no text") }
        do {
            try index.save(path: output)
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
        print("indexed \(added) document\(added == 1 ? "" : "s")" + (skipped > 0 ? " (\(skipped) skipped)" : "")
              + "; \(output) holds \(index.documentCount) documents, \(index.passageCount) passages of \(index.dimension) dimensions "
              + "(chunks of \(index.chunking.maxTokens) tokens, overlap \(index.chunking.overlapTokens); \(formatFixed(monotonicSeconds() - start, 1)) s)")
    }
}

/// Loads an index file with its encoder; a LoomError becomes a ValidationError.
func loadIndex(_ path: String, encoder: Model, threads: Int) throws -> RetrievalIndex {
    do {
        return try RetrievalIndex.load(path: path, encoder: encoder, threads: threads)
    } catch let e as LoomError {
        throw ValidationError("cannot load index: \(e.message)")
    }
}

struct IndexSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "The passages of an index most similar to a query: rank, cosine score, document id, passage.")

    @Option(name: [.short, .customLong("model")], help: "The encoder the index was built with (default: $LOOM_ENCODER, else all-MiniLM-L6-v2 in the cache).")
    var model: String?

    @Option(name: [.short, .customLong("index")], help: "The index file (loom index build).")
    var index: String

    @Option(name: .short, help: "Passages to print.")
    var k: Int = 5

    @Option(name: [.short, .customLong("threads")], help: "Threads of the encoder.")
    var threads: Int = ContextParams.defaultThreads

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Argument(help: "The query.")
    var query: String

    func validate() throws {
        guard k >= 1, k <= 1 << 20 else { throw ValidationError("-k must be in 1...1048576") }
        guard threads >= 1, threads <= 512 else { throw ValidationError("-t must be in 1...512") }
    }

    func run() throws {
        let encoder = try loadEncoder(model)
        let idx = try loadIndex(index, encoder: encoder, threads: threads)
        var rows: [(hit: RetrievalIndex.Hit, document: RetrievalIndex.Document, text: String)] = []
        do {
            for h in try idx.search(query, k: k) {
                rows.append((h, try idx.document(h.document), try idx.passage(h.passage).text))
            }
        } catch let e as LoomError {
            throw ValidationError(e.message)
        }
        if json {
            let hits = rows.enumerated().map { i, r in
                "{\"rank\": \(i + 1), \"score\": \(jsonNumber(r.hit.score)), \"id\": \(jsonQuoted(r.document.id)), "
                    + "\"document\": \(r.hit.document), \"passage\": \(r.hit.passage), \"text\": \(jsonQuoted(r.text)), "
                    + "\"metadata\": \(jsonQuoted(r.document.metadata ?? ""))}"
            }
            print("{\"query\": \(jsonQuoted(query)), \"hits\": [\(hits.joined(separator: ", "))]}")
            return
        }
        let width = max(8, rows.map { $0.document.id.count }.max() ?? 0)
        print("rank   score  " + "document".padding(width) + "  passage")
        for (i, r) in rows.enumerated() {
            print(String(i + 1).leftPadded(4) + "  " + formatFixed(Double(r.hit.score), 4).leftPadded(6) + "  "
                  + r.document.id.padding(width) + "  " + r.text.replacingNewlines())
        }
    }
}
