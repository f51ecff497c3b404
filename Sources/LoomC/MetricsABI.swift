import CLoomSupport
import LoomCore
import LoomEvaluation

// BLEU and classification metrics (include/loom.h, "metrics").

@_cdecl("loom_bleu_default_params")
public func loom_bleu_default_params() -> loom_bleu_params {
    loom_bleu_params(size: UInt32(MemoryLayout<loom_bleu_params>.size), lowercase: false, tokenize: LOOM_BLEU_TOKENIZE_13A,
                     smooth_method: LOOM_BLEU_SMOOTH_EXP, smooth_value: -1, max_ngram_order: 4, effective_order: false)
}

private func bleuParams(_ params: UnsafePointer<loom_bleu_params>?, sentence: Bool) throws -> BLEUParams {
    var defaults = loom_bleu_default_params()
    if sentence { defaults.effective_order = true }
    let p = try readParams(params, defaults: defaults, what: "params")
    guard let tok = BLEUTokenizer(rawValue: p.tokenize) else {
        throw LoomError.invalidArgument("tokenize must be LOOM_BLEU_TOKENIZE_13A or _NONE, got \(p.tokenize)")
    }
    guard let smooth = BLEUSmoothing(rawValue: p.smooth_method) else {
        throw LoomError.invalidArgument("smooth_method must be a LOOM_BLEU_SMOOTH_* value, got \(p.smooth_method)")
    }
    guard !p.smooth_value.isNaN else { throw LoomError.invalidArgument("smooth_value is NaN") }
    return BLEUParams(lowercase: p.lowercase, tokenizer: tok, smoothing: smooth,
                      smoothingValue: p.smooth_value < 0 ? nil : p.smooth_value,
                      maxNgramOrder: Int(p.max_ngram_order), effectiveOrder: p.effective_order)
}

private func writeBLEU(_ s: BLEUScore, _ out: UnsafeMutablePointer<loom_bleu_result>) {
    var r = loom_bleu_result()
    r.score = s.score
    r.bp = s.bp
    r.ratio = s.ratio
    r.sys_len = Int64(s.sysLen)
    r.ref_len = Int64(s.refLen)
    r.max_ngram_order = Int32(s.precisions.count)
    func fill<T>(_ tuple: inout T, _ values: [Double]) {
        withUnsafeMutableBytes(of: &tuple) { raw in
            let d = raw.bindMemory(to: Double.self)
            for i in 0..<min(d.count, values.count) { d[i] = values[i] }
        }
    }
    fill(&r.precisions, s.precisions)
    fill(&r.counts, s.counts)
    fill(&r.totals, s.totals)
    out.pointee = r
}

/// NUL-terminated strings; NULL entries allowed only when `nullable`.
private func strings(_ p: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int, _ what: String, nullable: Bool) throws -> [String?] {
    guard n <= 1 << 26 else { throw LoomError.invalidArgument("too many \(what) (\(n))") }
    if n == 0 { return [] }
    guard let p else { throw LoomError.invalidArgument("\(what) is NULL with a count of \(n)") }
    return try (0..<n).map { i in
        guard let s = p[i] else {
            if nullable { return nil }
            throw LoomError.invalidArgument("\(what)[\(i)] is NULL")
        }
        return String(cString: s)
    }
}

@_cdecl("loom_bleu")
public func loom_bleu(_ hyps: UnsafePointer<UnsafePointer<CChar>?>?, _ nHyps: Int, _ refs: UnsafePointer<UnsafePointer<CChar>?>?,
                      _ nRefs: Int, _ params: UnsafePointer<loom_bleu_params>?,
                      _ out: UnsafeMutablePointer<loom_bleu_result>?) -> loom_status {
    guarded("loom_bleu") {
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let bp = try bleuParams(params, sentence: false)
        let h = try strings(hyps, nHyps, "hyps", nullable: false).map { $0 ?? "" }
        guard nRefs >= 1, nRefs <= 1024 else { throw LoomError.invalidArgument("n_refs must be in 1...1024, got \(nRefs)") }
        let (total, overflow) = nRefs.multipliedReportingOverflow(by: nHyps)
        guard !overflow else { throw LoomError.invalidArgument("n_refs x n_hyps overflows") }
        let flat = try strings(refs, total, "refs", nullable: true)
        let streams = (0..<nRefs).map { r in Array(flat[(r * nHyps)..<((r + 1) * nHyps)]) }
        writeBLEU(try BLEU.corpus(hypotheses: h, references: streams, params: bp), out)
        return LOOM_OK
    }
}

@_cdecl("loom_sentence_bleu")
public func loom_sentence_bleu(_ hyp: UnsafePointer<CChar>?, _ refs: UnsafePointer<UnsafePointer<CChar>?>?, _ nRefs: Int,
                               _ params: UnsafePointer<loom_bleu_params>?,
                               _ out: UnsafeMutablePointer<loom_bleu_result>?) -> loom_status {
    guarded("loom_sentence_bleu") {
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let bp = try bleuParams(params, sentence: true)
        let h = try requireString(hyp, "hyp")
        let r = try strings(refs, nRefs, "refs", nullable: true).compactMap { $0 }
        guard !r.isEmpty else { throw LoomError.invalidArgument("no reference (n_refs is 0 or every entry is NULL)") }
        writeBLEU(try BLEU.sentence(hypothesis: h, references: r, params: bp), out)
        return LOOM_OK
    }
}

private func labelArrays(_ yTrue: UnsafePointer<Int32>?, _ yPred: UnsafePointer<Int32>?, _ n: Int) throws -> ([Int32], [Int32]) {
    guard n >= 1, n <= 1 << 28 else { throw LoomError.invalidArgument("n = \(n): need 1 ... 2^28 labels") }
    guard let yTrue, let yPred else { throw LoomError.invalidArgument("y_true or y_pred is NULL") }
    return (Array(UnsafeBufferPointer(start: yTrue, count: n)), Array(UnsafeBufferPointer(start: yPred, count: n)))
}

@_cdecl("loom_accuracy")
public func loom_accuracy(_ yTrue: UnsafePointer<Int32>?, _ yPred: UnsafePointer<Int32>?, _ n: Int,
                          _ out: UnsafeMutablePointer<Double>?) -> loom_status {
    guarded("loom_accuracy") {
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        let (t, p) = try labelArrays(yTrue, yPred, n)
        out.pointee = try ClassificationMetrics.accuracy(t, p)
        return LOOM_OK
    }
}

@_cdecl("loom_precision_recall_f1")
public func loom_precision_recall_f1(_ yTrue: UnsafePointer<Int32>?, _ yPred: UnsafePointer<Int32>?, _ n: Int, _ average: Int32,
                                     _ posLabel: Int32, _ zeroDivision: Double, _ outP: UnsafeMutablePointer<Double>?,
                                     _ outR: UnsafeMutablePointer<Double>?, _ outF: UnsafeMutablePointer<Double>?) -> loom_status {
    guarded("loom_precision_recall_f1") {
        let (t, p) = try labelArrays(yTrue, yPred, n)
        guard let avg = MetricAverage(rawValue: average) else {
            throw LoomError.invalidArgument("average must be a LOOM_AVERAGE_* value, got \(average)")
        }
        let s = try ClassificationMetrics.averaged(t, p, average: avg, posLabel: posLabel, zeroDivision: zeroDivision)
        outP?.pointee = s.precision
        outR?.pointee = s.recall
        outF?.pointee = s.f1
        return LOOM_OK
    }
}

@_cdecl("loom_per_class_metrics")
public func loom_per_class_metrics(_ yTrue: UnsafePointer<Int32>?, _ yPred: UnsafePointer<Int32>?, _ n: Int, _ zeroDivision: Double,
                                   _ out: UnsafeMutablePointer<loom_class_metrics>?, _ cap: Int) -> Int32 {
    guardedCount("loom_per_class_metrics") {
        let (t, p) = try labelArrays(yTrue, yPred, n)
        let rows = try ClassificationMetrics.perClass(t, p, zeroDivision: zeroDivision)
        if cap < rows.count {
            fail(.bufferTooSmall, "\(rows.count) classes need room for \(rows.count) entries, got \(cap)")
            return -Int32(rows.count)
        }
        guard let out else { throw LoomError.invalidArgument("out is NULL with capacity \(cap)") }
        for (i, r) in rows.enumerated() {
            out[i] = loom_class_metrics(label: r.label ?? 0, support: Int64(r.support ?? 0), precision: r.precision,
                                        recall: r.recall, f1: r.f1)
        }
        return Int32(rows.count)
    }
}

@_cdecl("loom_exact_match")
public func loom_exact_match(_ preds: UnsafePointer<UnsafePointer<CChar>?>?, _ refs: UnsafePointer<UnsafePointer<CChar>?>?,
                             _ n: Int, _ flags: UInt32, _ out: UnsafeMutablePointer<Double>?) -> loom_status {
    guarded("loom_exact_match") {
        guard let out else { throw LoomError.invalidArgument("out is NULL") }
        guard n >= 1 else { throw LoomError.invalidArgument("n is 0") }
        guard flags & ~7 == 0 else { throw LoomError.invalidArgument("unknown flags 0x\(String(flags, radix: 16))") }
        let p = try strings(preds, n, "predictions", nullable: false).map { $0 ?? "" }
        let r = try strings(refs, n, "references", nullable: false).map { $0 ?? "" }
        out.pointee = try ClassificationMetrics.exactMatch(predictions: p, references: r, ignoreCase: flags & 1 != 0,
                                                           ignorePunctuation: flags & 2 != 0, ignoreNumbers: flags & 4 != 0)
        return LOOM_OK
    }
}
