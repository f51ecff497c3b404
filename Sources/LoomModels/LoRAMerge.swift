import LoomCore
import LoomKernels

/// Merging LoRA / (IA)³ adapters into a model's weights (PEFT's merge_and_unload, without the unload:
/// unmerge takes them out again).
///
/// Rules:
/// - Merging rewrites weights every context reads, so it is refused while any context of the model
///   exists (`LoomError.invalidArgument`); contexts created while a merge runs wait for it.
/// - F32 / F16 / BF16 weights are rewritten in place: W' = W + s·B·A computed in f32 and rounded once
///   to the weight's type (exact for F32; one rounding for F16 / BF16, like PEFT merging in half
///   precision). Unmerge subtracts the same product (F32: W restored to rounding, ≤ 1e-6 here).
/// - Quantized weights (Q8_0, Q4_*, K-quants …) are not requantized: the merged weight becomes F32 =
///   dequantized W + s·B·A, so merged equals runtime application to rounding. The quantized original
///   is kept, and restored bit for bit when the last adapter merged into it is unmerged.
/// - (IA)³ merges as PEFT does: k / v rows, or the down projection's columns, multiplied by the
///   learned vector (at strength s: 1 + s·(v − 1)); unmerge divides by it.
/// - An adapter is unmerged with the scale it was merged with; merging the same adapter twice adds
///   it twice.
final class ModelEdits: @unchecked Sendable {
    let lock = Lock()
    private(set) var openContexts = 0
    var merged: [(adapter: Adapter, scale: Float)] = []
    /// Quantized weights replaced by F32 merges, keyed by layer and target, with how many merges hold them.
    var originals: [Int: (matrix: WeightMatrix, merges: Int)] = [:]

    func contextOpened() { lock.withLock { openContexts += 1 } }
    func contextClosed() { lock.withLock { openContexts -= 1 } }
}

extension Model {
    /// The adapters merged into the weights, in merge order, with their scales.
    public var mergedAdapters: [(adapter: Adapter, scale: Float)] { edits.lock.withLock { edits.merged } }

    /// Adds `scale` × the adapter's ΔW into the weights (see `ModelEdits` for the rules).
    public func mergeLoRA(_ adapter: Adapter, scale: Float = 1) throws {
        guard scale.isFinite else { throw LoomError.invalidArgument("adapter scale \(scale) is not finite") }
        guard adapter.kind == .lora || adapter.kind == .ia3 else {
            throw LoomError.unsupported("'\(adapter.path)' is a prompt- or prefix-tuning adapter: its virtual tokens cannot be merged into weights; run it per context")
        }
        try edits.lock.withLock {
            let llama = try editableNetwork()
            try llama.merge(adapter, scale: scale, removing: false, edits: edits)
            edits.merged.append((adapter, scale))
        }
        Log.info("merged '\(adapter.path)' at scale \(scale) into '\(path)'")
    }

    /// Takes a merged adapter out of the weights again (the latest merge of it, with its scale).
    public func unmergeLoRA(_ adapter: Adapter) throws {
        try edits.lock.withLock {
            guard let i = edits.merged.lastIndex(where: { $0.adapter === adapter }) else {
                throw LoomError.invalidArgument("'\(adapter.path)' is not merged into '\(path)'")
            }
            let llama = try editableNetwork()
            try llama.merge(adapter, scale: edits.merged[i].scale, removing: true, edits: edits)
            edits.merged.remove(at: i)
        }
        Log.info("unmerged '\(adapter.path)' from '\(path)'")
    }

    /// The llama network, when no context uses it. Call with `edits.lock` held.
    private func editableNetwork() throws -> LlamaModel {
        guard let llama = network as? LlamaModel else {
            throw LoomError.unsupported("LoRA merges apply to llama-family models; this one is '\(architecture ?? "?")'")
        }
        guard edits.openContexts == 0 else {
            throw LoomError.invalidArgument("'\(path)' has \(edits.openContexts) open context(s); free them before merging or unmerging adapters")
        }
        return llama
    }
}

extension LlamaModel {
    func weight(_ layer: Int, _ target: LoRATarget) -> WeightMatrix {
        let l = layers[layer]
        switch target {
        case .q: return l.wq
        case .k: return l.wk
        case .v: return l.wv
        case .o: return l.wo
        case .gate: return l.wGate
        case .up: return l.wUp
        case .down: return l.wDown
        }
    }

    func setWeight(_ layer: Int, _ target: LoRATarget, _ m: WeightMatrix) {
        switch target {
        case .q: layers[layer].wq = m
        case .k: layers[layer].wk = m
        case .v: layers[layer].wv = m
        case .o: layers[layer].wo = m
        case .gate: layers[layer].wGate = m
        case .up: layers[layer].wUp = m
        case .down: layers[layer].wDown = m
        }
    }

    /// Adds (or subtracts, `removing`) the adapter's deltas. Everything that can fail is checked
    /// before the first weight changes.
    fileprivate func merge(_ adapter: Adapter, scale: Float, removing: Bool, edits: ModelEdits) throws {
        // Binding checks the shapes and puts q/k rows in this network's RoPE order.
        let bound = try AppliedLoRA(adapters: [(adapter, scale)], network: self)
        if let zero = bound.scales.joined().compactMap({ $0 }).joined().first(where: { $0 == 0 || !$0.isFinite }) {
            throw LoomError.invalidArgument("'\(adapter.path)' has an (IA)3 factor of \(zero) at scale \(scale); it cannot be merged (nor unmerged)")
        }
        var plan: [(layer: Int, target: LoRATarget)] = []
        for l in 0..<config.layerCount {
            for t in LoRATarget.allCases where !bound.terms[l][t.rawValue].isEmpty || bound.scales[l][t.rawValue] != nil {
                plan.append((l, t))
            }
        }
        // Copies first (they allocate), so that a failure leaves the model as it was.
        var copies: [Int: WeightMatrix] = [:]
        for (l, t) in plan where !weight(l, t).isWritable && !removing {
            copies[key(l, t)] = try weight(l, t).writableCopy()
        }
        for (l, t) in plan {
            let k = key(l, t)
            if let copy = copies[k] {
                edits.originals[k] = (weight(l, t), 0)
                setWeight(l, t, copy)
            }
            let w = weight(l, t)
            guard w.isWritable else { continue }   // a file-mapped float weight never merged (cannot happen)
            apply(terms: bound.terms[l][t.rawValue], factors: bound.scales[l][t.rawValue],
                  outputFactors: t != .down, to: w, removing: removing)
            if let o = edits.originals[k] {
                let merges = o.merges + (removing ? -1 : 1)
                if merges == 0 {
                    setWeight(l, t, o.matrix)
                    edits.originals[k] = nil
                } else {
                    edits.originals[k] = (o.matrix, merges)
                }
            }
        }
    }

    private func key(_ layer: Int, _ target: LoRATarget) -> Int { layer * 16 + target.rawValue }

    /// W[r, :] ± Σ scale · (B·A)[r, :] (the product first, as PEFT's delta weight), then (IA)³: × or ÷
    /// the factor of row r (output) or column c (input).
    private func apply(terms: [AppliedLoRA.Term], factors: [Float]?, outputFactors: Bool, to w: WeightMatrix,
                       removing: Bool) {
        let cols = w.cols
        var row = [Float](repeating: 0, count: cols)
        var delta = [Float](repeating: 0, count: cols)
        var aRow = [Float](repeating: 0, count: cols)
        var bRow = [Float](repeating: 0, count: 1)
        let sign: Float = removing ? -1 : 1
        for r in 0..<w.rows {
            w.dequantizeRow(r, into: &row)
            if removing, let f = factors { divide(&row, by: f, row: r, output: outputFactors) }
            for term in terms {
                let rank = term.a.rows
                if bRow.count < rank { bRow = [Float](repeating: 0, count: rank) }
                term.b.dequantizeRow(r, into: &bRow)
                for c in 0..<cols { delta[c] = 0 }
                for k in 0..<rank {
                    term.a.dequantizeRow(k, into: &aRow)
                    let b = bRow[k]
                    for c in 0..<cols { delta[c] += b * aRow[c] }
                }
                let s = sign * term.scale
                for c in 0..<cols { row[c] += s * delta[c] }
            }
            if !removing, let f = factors { multiply(&row, by: f, row: r, output: outputFactors) }
            w.storeRow(r, from: row)
        }
    }

    private func multiply(_ x: inout [Float], by f: [Float], row r: Int, output: Bool) {
        if output { for c in x.indices { x[c] *= f[r] } } else { for c in x.indices { x[c] *= f[c] } }
    }

    private func divide(_ x: inout [Float], by f: [Float], row r: Int, output: Bool) {
        if output { for c in x.indices { x[c] /= f[r] } } else { for c in x.indices { x[c] /= f[c] } }
    }
}
