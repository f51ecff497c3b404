import CLoomSupport
import LoomCore
import LoomGeneration
import LoomModels

// Retrieval index and grounded generation (include/loom.h, "retrieval and grounded generation").

/// What a `loom_index *` points to (the index is thread-safe itself).
final class IndexHandle {
    let index: RetrievalIndex
    init(index: RetrievalIndex) { self.index = index }
}

/// What a `loom_grounded *` points to.
final class GroundedHandle {
    let answer: GroundedGeneration.Answer
    init(answer: GroundedGeneration.Answer) { self.answer = answer }
}

@_cdecl("loom_index_default_params")
public func loom_index_default_params() -> loom_index_params {
    var p = loom_index_params()
    p.size = UInt32(MemoryLayout<loom_index_params>.size)
    p.chunk_tokens = 128
    p.chunk_overlap = 32
    p.n_threads = 0
    return p
}

@_cdecl("loom_grounded_default_params")
public func loom_grounded_default_params() -> loom_grounded_params {
    var p = loom_grounded_params()
    p.size = UInt32(MemoryLayout<loom_grounded_params>.size)
    p.k = 3
    p.cite = true
    p.instructions = nil
    return p
}

private func index(_ p: OpaquePointer?) throws -> RetrievalIndex {
    try borrowHandle(p, as: IndexHandle.self, "index").index
}

private func encoderModel(_ p: OpaquePointer?) throws -> Model {
    let m = try borrowHandle(p, as: ModelHandle.self, "encoder").model
    guard m.encoder != nil else {
        throw LoomError.unsupported("'\(m.path)' is not an encoder model with weights (architecture '\(m.architecture ?? "?")')")
    }
    return m
}

private func indexThreads(_ n: Int32) throws -> Int {
    guard n <= 512 else { throw LoomError.invalidArgument("n_threads is \(n); at most 512") }
    return n <= 0 ? ContextParams.defaultThreads : Int(n)
}

private func utf8(_ p: UnsafePointer<CChar>?, _ len: Int, _ name: String) throws -> String {
    guard let p else {
        if len == 0 { return "" }
        throw LoomError.invalidArgument("\(name) is NULL with length \(len)")
    }
    guard len >= 0, len <= 1 << 30 else { throw LoomError.invalidArgument("\(name) length \(len) is out of range") }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
}

@_cdecl("loom_index_new")
public func loom_index_new(_ encoder: OpaquePointer?, _ params: UnsafePointer<loom_index_params>?,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_index_new") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let m = try encoderModel(encoder)
        let p = try readParams(params, defaults: loom_index_default_params(), what: "params")
        let chunking = ChunkingParams(maxTokens: Int(p.chunk_tokens), overlapTokens: Int(p.chunk_overlap))
        let idx = try RetrievalIndex(encoder: m, chunking: chunking, threads: try indexThreads(p.n_threads))
        out.pointee = retainHandle(IndexHandle(index: idx))
        return LOOM_OK
    }
}

@_cdecl("loom_index_load")
public func loom_index_load(_ encoder: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                            _ params: UnsafePointer<loom_index_params>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_index_load") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let m = try encoderModel(encoder)
        let path = try requireString(path, "path")
        let p = try readParams(params, defaults: loom_index_default_params(), what: "params")
        let idx = try RetrievalIndex.load(path: path, encoder: m, threads: try indexThreads(p.n_threads))
        out.pointee = retainHandle(IndexHandle(index: idx))
        return LOOM_OK
    }
}

@_cdecl("loom_index_save")
public func loom_index_save(_ idx: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> loom_status {
    guarded("loom_index_save") {
        let i = try index(idx)
        try i.save(path: try requireString(path, "path"))
        return LOOM_OK
    }
}

@_cdecl("loom_index_free")
public func loom_index_free(_ idx: OpaquePointer?) {
    releaseHandle(idx)
}

@_cdecl("loom_index_add")
public func loom_index_add(_ idx: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?,
                           _ len: Int, _ metadata: UnsafePointer<CChar>?) -> Int32 {
    guardedCount("loom_index_add") {
        let i = try index(idx)
        let docID = try requireString(id, "id")
        let body = try utf8(text, len, "text")
        let added = try i.add(id: docID, text: body, metadata: metadata.map { String(cString: $0) })
        return Int32(clamping: added.count)
    }
}

@_cdecl("loom_index_n_documents")
public func loom_index_n_documents(_ idx: OpaquePointer?) -> Int32 {
    guardedCount("loom_index_n_documents") { Int32(clamping: try index(idx).documentCount) }
}

@_cdecl("loom_index_n_passages")
public func loom_index_n_passages(_ idx: OpaquePointer?) -> Int32 {
    guardedCount("loom_index_n_passages") { Int32(clamping: try index(idx).passageCount) }
}

@_cdecl("loom_index_search")
public func loom_index_search(_ idx: OpaquePointer?, _ query: UnsafePointer<CChar>?, _ len: Int, _ k: Int32,
                              _ out: UnsafeMutablePointer<loom_search_hit>?, _ cap: Int) -> Int32 {
    guardedCount("loom_index_search") {
        let i = try index(idx)
        guard k >= 0 else { throw LoomError.invalidArgument("k is negative") }
        guard cap >= 0 else { throw LoomError.invalidArgument("cap is negative") }
        let q = try utf8(query, len, "query")
        let count = min(Int(k), i.passageCount)
        if cap < count {
            fail(.bufferTooSmall, "\(count) hits need a buffer of \(count), got \(cap)")
            return -Int32(count)
        }
        if count == 0 { return 0 }
        guard let out else { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
        let hits = try i.search(q, k: count)
        for (j, h) in hits.prefix(cap).enumerated() {
            out[j] = loom_search_hit(passage: Int32(h.passage), document: Int32(h.document), score: h.score)
        }
        return Int32(min(hits.count, cap))
    }
}

@_cdecl("loom_index_document_id")
public func loom_index_document_id(_ idx: OpaquePointer?, _ d: Int32, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_index_document_id") { try fillBuffer(try index(idx).document(Int(d)).id, buf, cap, what: "id") }
}

@_cdecl("loom_index_document_text")
public func loom_index_document_text(_ idx: OpaquePointer?, _ d: Int32, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_index_document_text") { try fillBuffer(try index(idx).document(Int(d)).text, buf, cap, what: "text") }
}

@_cdecl("loom_index_document_metadata")
public func loom_index_document_metadata(_ idx: OpaquePointer?, _ d: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                                         _ cap: Int) -> Int32 {
    guardedCount("loom_index_document_metadata") {
        try fillBuffer(try index(idx).document(Int(d)).metadata ?? "", buf, cap, what: "metadata")
    }
}

@_cdecl("loom_index_passage_text")
public func loom_index_passage_text(_ idx: OpaquePointer?, _ p: Int32, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_index_passage_text") { try fillBuffer(try index(idx).passage(Int(p)).text, buf, cap, what: "passage") }
}

@_cdecl("loom_index_passage_document")
public func loom_index_passage_document(_ idx: OpaquePointer?, _ p: Int32) -> Int32 {
    guardedCount("loom_index_passage_document") { Int32(try index(idx).passage(Int(p)).document) }
}

@_cdecl("loom_generate_grounded")
public func loom_generate_grounded(_ ctx: OpaquePointer?, _ idx: OpaquePointer?, _ question: UnsafePointer<CChar>?,
                                   _ params: UnsafePointer<loom_grounded_params>?,
                                   _ genParams: UnsafePointer<loom_generate_params>?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> loom_status {
    guarded("loom_generate_grounded") {
        out?.pointee = nil
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let c = try contextHandle(ctx)
        let i = try index(idx)
        let q = try requireString(question, "question")
        let p = try readParams(params, defaults: loom_grounded_default_params(), what: "params")
        let (gp, user, callback) = try generationSettings(genParams)
        guard gp.numBeams == 1 else { throw LoomError.unsupported("grounded generation does not take num_beams > 1") }
        let settings = GroundedGeneration.Params(k: Int(p.k), cite: p.cite, instructions: p.instructions.map { String(cString: $0) },
                                                 generation: gp)
        let answer = try GroundedGeneration.answer(context: c, index: i, question: q, params: settings, userProcessors: user,
                                                   onText: callback.map { f in { token, text in f(0, token, text) } })
        out.pointee = retainHandle(GroundedHandle(answer: answer))
        return LOOM_OK
    }
}

private func grounded(_ g: OpaquePointer?) throws -> GroundedGeneration.Answer {
    try borrowHandle(g, as: GroundedHandle.self, "answer").answer
}

@_cdecl("loom_grounded_free")
public func loom_grounded_free(_ g: OpaquePointer?) {
    releaseHandle(g)
}

@_cdecl("loom_grounded_text")
public func loom_grounded_text(_ g: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_grounded_text") { try fillBuffer(try grounded(g).text, buf, cap, what: "text") }
}

@_cdecl("loom_grounded_prompt")
public func loom_grounded_prompt(_ g: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guardedCount("loom_grounded_prompt") { try fillBuffer(try grounded(g).prompt, buf, cap, what: "prompt") }
}

@_cdecl("loom_grounded_finish_reason")
public func loom_grounded_finish_reason(_ g: OpaquePointer?) -> Int32 {
    guardedCount("loom_grounded_finish_reason") { try grounded(g).result.finishReason.rawValue }
}

@_cdecl("loom_grounded_n_sources")
public func loom_grounded_n_sources(_ g: OpaquePointer?) -> Int32 {
    guardedCount("loom_grounded_n_sources") { Int32(try grounded(g).sources.count) }
}

@_cdecl("loom_grounded_source_at")
public func loom_grounded_source_at(_ g: OpaquePointer?, _ i: Int32,
                                    _ out: UnsafeMutablePointer<loom_grounded_source>?) -> loom_status {
    guarded("loom_grounded_source_at") {
        let a = try grounded(g)
        guard i >= 0, Int(i) < a.sources.count else {
            throw LoomError.outOfRange("source \(i) is outside 0..<\(a.sources.count)")
        }
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let s = a.sources[Int(i)]
        out.pointee = loom_grounded_source(number: Int32(s.number), passage: Int32(s.passage), document: Int32(s.document),
                                           score: s.score, cited: s.cited)
        return LOOM_OK
    }
}
