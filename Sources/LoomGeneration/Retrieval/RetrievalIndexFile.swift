import LoomCore
import LoomModels
#if canImport(Glibc)
import Glibc
#endif

/// The file a `RetrievalIndex` is saved to (version 1). All integers little-endian:
///
///     offset  size  field
///     0       8     magic "LOOMRIX\0"
///     8       4     u32 version = 1
///     12      4     u32 dimension D of the embeddings (1 ... 65536)
///     16      8     u64 passage count P (at most 2^26)
///     24      8     u64 byte length J of the JSON header
///     32      J     JSON header, UTF-8 (below)
///     32+J    4·P·D f32 embeddings, passage after passage (unit vectors)
///
/// and nothing after them. The JSON header is an object:
///
///     {"format": "loom-retrieval-index", "version": 1,
///      "encoder": "<the encoder's folder or file name, informational>",
///      "chunking": {"max_tokens": 128, "overlap_tokens": 32},
///      "documents": [{"id": "...", "text": "...", "metadata": "..." or null}, ...],
///      "passages": [[document, start, end], ...]}
///
/// where a passage is bytes start..<end of its document's UTF-8 text. Loading checks everything — magic,
/// version, sizes against the file's length, the JSON's shape, unique non-empty document ids, passage
/// ranges inside their documents, finite embeddings, D equal to the encoder's width — and reports a
/// violation as a `format` error (never a crash). Saving writes a temporary file next to the target and
/// renames it, so a failed save leaves no partial file.
public enum RetrievalIndexFile {
    static let magic: [UInt8] = Array("LOOMRIX".utf8) + [0]
    public static let version: UInt32 = 1
    static let headerSize = 32

    public static func save(_ index: RetrievalIndex, path: String) throws {
        let (documents, passages, vectors) = index.snapshot()
        var json = "{\"format\": \"loom-retrieval-index\", \"version\": 1, \"encoder\": "
        json += quote(lastComponent(index.embedder.model.path))
        json += ", \"chunking\": {\"max_tokens\": \(index.chunking.maxTokens), \"overlap_tokens\": \(index.chunking.overlapTokens)}"
        json += ", \"documents\": ["
        json += documents.map { d in
            "{\"id\": \(quote(d.id)), \"text\": \(quote(d.text)), \"metadata\": \(d.metadata.map(quote) ?? "null")}"
        }.joined(separator: ", ")
        json += "], \"passages\": ["
        json += passages.map { "[\($0.document), \($0.range.lowerBound), \($0.range.upperBound)]" }.joined(separator: ", ")
        json += "]}"
        let header = Array(json.utf8)
        var out: [UInt8] = magic
        append(&out, index.version32)
        append(&out, UInt32(index.dimension))
        append(&out, UInt64(passages.count))
        append(&out, UInt64(header.count))
        out += header
        out.reserveCapacity(out.count + vectors.count * 4)
        for v in vectors { append(&out, v.bitPattern) }
        try writeAtomically(out, to: path)
    }

    public static func load(path: String, encoder: Model, threads: Int = ContextParams.defaultThreads) throws -> RetrievalIndex {
        let bytes = try readWholeFile(path, limit: 1 << 34)
        func bad(_ why: String) -> LoomError { LoomError.format("'\(path)' is not a valid Loom retrieval index: \(why)") }
        guard bytes.count >= headerSize else { throw bad("\(bytes.count) bytes is shorter than the \(headerSize)-byte header") }
        guard Array(bytes[0..<8]) == magic else { throw bad("wrong magic (expected \"LOOMRIX\\0\")") }
        let version: UInt32 = read(bytes, 8)
        guard version == Self.version else {
            throw LoomError.unsupported("'\(path)': retrieval index version \(version); this Loom reads version \(Self.version)")
        }
        let dim = Int(read(bytes, 12) as UInt32)
        let count64: UInt64 = read(bytes, 16), json64: UInt64 = read(bytes, 24)
        guard dim >= 1, dim <= 65536 else { throw bad("dimension \(dim) is outside 1...65536") }
        guard count64 <= 1 << 26 else { throw bad("\(count64) passages is more than 2^26") }
        guard json64 <= UInt64(bytes.count - headerSize) else { throw bad("the JSON header's length \(json64) runs past the end") }
        let count = Int(count64), jsonLength = Int(json64)
        let vectorBytes = count * dim * 4
        guard bytes.count - headerSize - jsonLength == vectorBytes else {
            throw bad("\(count) passages × \(dim) floats need \(vectorBytes) bytes after the header, the file has \(bytes.count - headerSize - jsonLength)")
        }
        let width = try Embedder(model: encoder).dimension
        guard dim == width else {
            throw LoomError.invalidArgument("'\(path)' holds \(dim)-dimensional embeddings; the encoder '\(encoder.path)' gives \(width)")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(bytes[headerSize..<(headerSize + jsonLength)]))
        } catch let e as LoomError {
            throw bad("its JSON header: \(e.message)")
        }
        guard json["format"]?.string == "loom-retrieval-index", json["version"]?.int == Int(Self.version) else {
            throw bad("the JSON header's format/version is not loom-retrieval-index 1")
        }
        var chunking = ChunkingParams()
        if let c = json["chunking"] {
            guard let m = c["max_tokens"]?.int, let o = c["overlap_tokens"]?.int else { throw bad("chunking lacks max_tokens / overlap_tokens") }
            chunking = ChunkingParams(maxTokens: m, overlapTokens: o)
            do { try chunking.validate() } catch let e as LoomError { throw bad(e.message) }
        }
        if let name = json["encoder"]?.string, name != lastComponent(encoder.path) {
            Log.warn("'\(path)' was built with encoder '\(name)'; searching it with '\(lastComponent(encoder.path))'")
        }
        guard let docs = json["documents"]?.array, let pass = json["passages"]?.array else {
            throw bad("the JSON header lacks the documents or passages list")
        }
        guard pass.count == count else { throw bad("the header lists \(pass.count) passages, the binary part \(count)") }
        var documents: [RetrievalIndex.Document] = []
        var utf8: [[UInt8]] = []
        var seen = Set<String>()
        for (i, d) in docs.enumerated() {
            guard let id = d["id"]?.string, !id.isEmpty, let text = d["text"]?.string else {
                throw bad("document \(i) lacks a non-empty string id or a string text")
            }
            guard seen.insert(id).inserted else { throw bad("document id '\(id)' appears twice") }
            var metadata: String? = nil
            if let m = d["metadata"], !m.isNull {
                guard let s = m.string else { throw bad("document \(i)'s metadata is not a string or null") }
                metadata = s
            }
            documents.append(RetrievalIndex.Document(id: id, text: text, metadata: metadata))
            utf8.append(Array(text.utf8))
        }
        var passages: [RetrievalIndex.Passage] = []
        passages.reserveCapacity(count)
        for (i, p) in pass.enumerated() {
            guard let a = p.array, a.count == 3, let doc = a[0].int, let lo = a[1].int, let hi = a[2].int else {
                throw bad("passage \(i) is not [document, start, end]")
            }
            guard doc >= 0, doc < documents.count else { throw bad("passage \(i)'s document \(doc) is outside 0..<\(documents.count)") }
            guard lo >= 0, lo < hi, hi <= utf8[doc].count else {
                throw bad("passage \(i)'s bytes \(lo)..<\(hi) are outside its document's \(utf8[doc].count)")
            }
            passages.append(RetrievalIndex.Passage(document: doc, range: lo..<hi,
                                                   text: String(decoding: utf8[doc][lo..<hi], as: UTF8.self)))
        }
        var vectors = [Float](repeating: 0, count: count * dim)
        let base = headerSize + jsonLength
        for i in 0..<(count * dim) {
            let v = Float(bitPattern: read(bytes, base + 4 * i))
            guard v.isFinite else { throw bad("embedding value \(i) is not finite") }
            vectors[i] = v
        }
        let loaded = try RetrievalIndex(encoder: encoder, chunking: chunking, threads: threads)
        loaded.restore(documents: documents, passages: passages, vectors: vectors)
        return loaded
    }

    // MARK: bytes

    private static func read<T: FixedWidthInteger>(_ b: [UInt8], _ offset: Int) -> T {
        var v: T = 0
        for k in 0..<MemoryLayout<T>.size { v |= T(b[offset + k]) << (8 * k) }
        return v
    }

    private static func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        for k in 0..<MemoryLayout<T>.size { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    static func lastComponent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        return p.split(separator: "/").last.map(String.init) ?? String(p)
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String { jsonQuoted(s) }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else { throw LoomError.io("cannot write '\(tmp)'") }
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard written == bytes.count, closed == 0 else {
            unlink(tmp)
            throw LoomError.io("writing '\(tmp)' failed")
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw LoomError.io("cannot rename '\(tmp)' to '\(path)'")
        }
    }
}

extension RetrievalIndex {
    var version32: UInt32 { RetrievalIndexFile.version }

    /// Writes the index to `path` (see `RetrievalIndexFile`).
    public func save(path: String) throws { try RetrievalIndexFile.save(self, path: path) }

    /// Reads an index saved with `save`, searching with `encoder` (it must give embeddings of the saved width).
    public static func load(path: String, encoder: Model, threads: Int = ContextParams.defaultThreads) throws -> RetrievalIndex {
        try RetrievalIndexFile.load(path: path, encoder: encoder, threads: threads)
    }
}
