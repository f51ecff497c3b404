import LoomCore
import LoomModels

/// A small in-memory retrieval index: documents (id, text, optional metadata) cut into passages
/// (`ChunkingParams`), each passage embedded with an encoder model (its own pooling — mean for
/// sentence-transformers models such as all-MiniLM-L6-v2 — always L2-normalised), searched by cosine
/// similarity (the dot product of unit vectors), exhaustively. Saved to and loaded from a versioned
/// file (`RetrievalIndexFile`).
///
/// Thread-safe: `add`, `search`, the accessors and `save` may be called from any number of threads
/// (the state is guarded by a lock; embedding runs outside it). The encoder model is shared, not copied.
public final class RetrievalIndex: @unchecked Sendable {
    public struct Document: Sendable, Equatable {
        public let id: String
        public let text: String
        /// Free text chosen by the caller (the Python package stores JSON); nil when none was given.
        public let metadata: String?
    }

    public struct Passage: Sendable, Equatable {
        /// Index of its document (insertion order).
        public let document: Int
        /// Bytes of the document's UTF-8 text this passage covers.
        public let range: Range<Int>
        public let text: String
    }

    public struct Hit: Sendable, Equatable {
        public let passage: Int
        public let document: Int
        /// Cosine similarity to the query, in [-1, 1].
        public let score: Float
    }

    public let embedder: Embedder
    public let chunking: ChunkingParams
    /// Threads the encoder runs on.
    public let threads: Int
    private let lock = Lock()
    private var documents: [Document] = []
    private var documentIndex: [String: Int] = [:]
    private var passages: [Passage] = []
    private var vectors: [Float] = []      // passages.count × dimension, unit rows

    /// An empty index over `encoder` (an encoder model with weights, e.g. all-MiniLM-L6-v2).
    public init(encoder: Model, chunking: ChunkingParams = ChunkingParams(),
                threads: Int = ContextParams.defaultThreads) throws {
        try chunking.validate()
        guard threads >= 1, threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(threads)")
        }
        embedder = try Embedder(model: encoder)
        guard chunking.maxTokens + 2 <= embedder.maxSequenceLength else {
            throw LoomError.invalidArgument("passages of \(chunking.maxTokens) tokens do not fit the encoder's \(embedder.maxSequenceLength) (with [CLS]/[SEP])")
        }
        self.chunking = chunking
        self.threads = threads
    }

    public var dimension: Int { embedder.dimension }
    public var documentCount: Int { lock.withLock { documents.count } }
    public var passageCount: Int { lock.withLock { passages.count } }

    public func document(_ i: Int) throws -> Document {
        try lock.withLock {
            guard i >= 0, i < documents.count else { throw LoomError.outOfRange("document \(i) is outside 0..<\(documents.count)") }
            return documents[i]
        }
    }

    public func passage(_ i: Int) throws -> Passage {
        try lock.withLock {
            guard i >= 0, i < passages.count else { throw LoomError.outOfRange("passage \(i) is outside 0..<\(passages.count)") }
            return passages[i]
        }
    }

    /// The index of the document with this id, if any.
    public func documentNumber(id: String) -> Int? { lock.withLock { documentIndex[id] } }

    /// Unit embeddings of texts with the index's encoder.
    func embed(_ texts: [String]) throws -> [[Float]] {
        try embedder.embed(texts, normalize: true, threads: threads)
    }

    /// Adds a document: chunks, embeds and stores its passages. Returns the range of passage numbers it
    /// got. `id` must be new (ids name documents); an empty or whitespace-only text is refused.
    @discardableResult
    public func add(id: String, text: String, metadata: String? = nil) throws -> Range<Int> {
        guard !id.isEmpty else { throw LoomError.invalidArgument("a document id must not be empty") }
        guard documentNumber(id: id) == nil else { throw LoomError.invalidArgument("document id '\(id)' is already in the index") }
        let tokenizer = embedder.tokenizer
        let ranges = try Chunker.chunk(text, params: chunking) {
            try tokenizer.tokenize($0, addSpecial: false, parseSpecial: false).count
        }
        guard !ranges.isEmpty else { throw LoomError.invalidArgument("document '\(id)' has no text") }
        let bytes = Array(text.utf8)
        let texts = ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
        let rows = try embed(texts)
        return try lock.withLock {
            guard documentIndex[id] == nil else { throw LoomError.invalidArgument("document id '\(id)' is already in the index") }
            let d = documents.count, first = passages.count
            documents.append(Document(id: id, text: text, metadata: metadata))
            documentIndex[id] = d
            for (r, t) in zip(ranges, texts) { passages.append(Passage(document: d, range: r, text: t)) }
            for row in rows { vectors += row }
            return first..<passages.count
        }
    }

    /// The `k` passages most similar to `query`, best first (equal scores: lower passage number first).
    public func search(_ query: String, k: Int) throws -> [Hit] {
        guard k >= 0 else { throw LoomError.invalidArgument("k must not be negative, got \(k)") }
        guard let q = try embed([query]).first else { return [] }
        return search(vector: q, k: k)
    }

    /// Search with a unit query vector of the index's dimension.
    public func search(vector q: [Float], k: Int) -> [Hit] {
        lock.withLock {
            let d = dimension
            guard q.count == d, k > 0 else { return [] }
            var scored: [(Int, Float)] = []
            scored.reserveCapacity(passages.count)
            vectors.withUnsafeBufferPointer { v in
                for p in 0..<passages.count {
                    var s: Float = 0
                    for j in 0..<d { s += v[p * d + j] * q[j] }
                    scored.append((p, s))
                }
            }
            scored.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            return scored.prefix(k).map { Hit(passage: $0.0, document: passages[$0.0].document, score: $0.1) }
        }
    }

    /// Everything the file holds, read under the lock.
    func snapshot() -> (documents: [Document], passages: [Passage], vectors: [Float]) {
        lock.withLock { (documents, passages, vectors) }
    }

    /// Replaces the contents (loading); callers have validated them.
    func restore(documents: [Document], passages: [Passage], vectors: [Float]) {
        lock.withLock {
            self.documents = documents
            self.passages = passages
            self.vectors = vectors
            documentIndex = [:]
            for (i, doc) in documents.enumerated() { documentIndex[doc.id] = i }
        }
    }
}
