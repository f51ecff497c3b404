import LoomCore
import LoomFormats
import LoomKernels

/// The projections a LoRA adapter may target in a llama-family layer, by GGUF name.
public enum LoRATarget: Int, CaseIterable, Sendable {
    case q, k, v, o, gate, up, down

    /// GGUF base name ("attn_q") and PEFT module name ("q_proj").
    var gguf: String { ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"][rawValue] }
    var peft: String { ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"][rawValue] }
}

extension Adapter {
    /// A PEFT LoRA folder.
    static func loadPEFT(_ dir: String, _ config: JSONValue) throws -> Adapter {
        guard let r = config["r"]?.int, r > 0, let alpha = config["lora_alpha"]?.double else {
            throw LoomError.format("'\(dir)/adapter_config.json' lacks r or lora_alpha")
        }
        if config["fan_in_fan_out"]?.bool == true {
            throw LoomError.unsupported("fan_in_fan_out adapters (GPT-2 Conv1D) are not supported yet")
        }
        let rs = config["use_rslora"]?.bool == true
        let st = try SafetensorsFile(path: dir + "/adapter_model.safetensors")
        let prefix = "base_model.model.model.layers."
        var found: [Int: [LoRATarget: (a: [Float], aShape: [Int], b: [Float], bShape: [Int])]] = [:]
        for t in st.tensors where t.name.hasSuffix(".lora_A.weight") {
            guard t.name.hasPrefix(prefix) else {
                throw LoomError.unsupported("LoRA on '\(t.name)' (outside the decoder layers) is not supported")
            }
            let rest = t.name.dropFirst(prefix.count).dropLast(".lora_A.weight".count).split(separator: ".")
            guard rest.count == 3, let layer = Int(rest[0]), layer >= 0, layer < 1 << 16,
                  let target = LoRATarget.allCases.first(where: { $0.peft == rest[2] }) else {
                throw LoomError.unsupported("LoRA tensor '\(t.name)' targets no supported projection")
            }
            let bName = String(t.name.dropLast("lora_A.weight".count)) + "lora_B.weight"
            guard let b = st.tensor(named: bName) else { throw LoomError.format("'\(t.name)' has no '\(bName)'") }
            found[layer, default: [:]][target] = (try st.floats(t.name), t.shape, try st.floats(bName), b.shape)
        }
        let scaling = Float(alpha / (rs ? Double(r).squareRoot() : Double(r)))
        return try Adapter(path: dir, found: found, scaling: scaling, ropeStyle: .halves)
    }

    /// A PEFT (IA)³ folder.
    static func loadIA3(_ dir: String, _ config: JSONValue) throws -> Adapter {
        if config["fan_in_fan_out"]?.bool == true {
            throw LoomError.unsupported("fan_in_fan_out adapters (GPT-2 Conv1D) are not supported yet")
        }
        let feedForward = Set((config["feedforward_modules"]?.array ?? []).compactMap(\.string))
        let st = try SafetensorsFile(path: dir + "/adapter_model.safetensors")
        let prefix = "base_model.model.model.layers."
        var vectors: [[[Float]?]] = []
        for t in st.tensors where t.name.hasSuffix(".ia3_l") {
            let rest = t.name.dropFirst(prefix.count).dropLast(".ia3_l".count).split(separator: ".")
            guard t.name.hasPrefix(prefix), rest.count == 3, let layer = Int(rest[0]), layer >= 0, layer < 1 << 16,
                  let target = LoRATarget.allCases.first(where: { $0.peft == rest[2] }),
                  [.k, .v, .down].contains(target), (target == .down) == feedForward.contains(String(rest[2])) else {
                throw LoomError.unsupported("(IA)3 tensor '\(t.name)' scales no supported projection (k/v outputs, down input)")
            }
            while vectors.count <= layer { vectors.append(Array(repeating: nil, count: LoRATarget.allCases.count)) }
            vectors[layer][target.rawValue] = try st.floats(t.name)
        }
        guard !vectors.isEmpty else { throw LoomError.format("'\(dir)' holds no (IA)3 vectors") }
        return Adapter(path: dir, kind: .ia3, ia3: vectors)
    }

    /// A llama.cpp GGUF LoRA adapter.
    static func loadGGUF(_ path: String) throws -> Adapter {
        let g = try GGUFFile(path: path)
        guard g["general.type"]?.string == "adapter", g["adapter.type"]?.string == "lora" else {
            throw LoomError.invalidArgument("'\(path)' is not a GGUF LoRA adapter (general.type / adapter.type)")
        }
        guard let alpha = g["adapter.lora.alpha"]?.double else { throw LoomError.format("'\(path)' lacks adapter.lora.alpha") }
        func floats(_ t: GGUFTensorInfo) throws -> [Float] {
            guard t.type == .f32, let p = g.data(of: t) else {
                throw LoomError.unsupported("adapter tensor '\(t.name)' is \(t.type?.name ?? "?"); f32 adapters are supported")
            }
            return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: t.elementCount))
        }
        var found: [Int: [LoRATarget: (a: [Float], aShape: [Int], b: [Float], bShape: [Int])]] = [:]
        var rank = 0
        for t in g.tensors where t.name.hasSuffix(".weight.lora_a") {
            let parts = t.name.split(separator: ".")
            guard parts.count == 5, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, layer < 1 << 16,
                  let target = LoRATarget.allCases.first(where: { $0.gguf == parts[2] }) else {
                throw LoomError.unsupported("LoRA tensor '\(t.name)' targets no supported projection")
            }
            let bName = String(t.name.dropLast(1)) + "b"
            guard let b = g.tensor(named: bName) else { throw LoomError.format("'\(t.name)' has no '\(bName)'") }
            // GGUF dims are innermost first: lora_a (in, r), lora_b (r, out).
            found[layer, default: [:]][target] = (try floats(t), t.dims.reversed(), try floats(b), b.dims.reversed())
            rank = t.dims.count == 2 ? t.dims[1] : 0
        }
        guard rank > 0 else { throw LoomError.format("'\(path)' holds no LoRA tensors") }
        return try Adapter(path: path, found: found, scaling: Float(alpha / Double(rank)), ropeStyle: .interleaved)
    }

    private convenience init(path: String, found: [Int: [LoRATarget: (a: [Float], aShape: [Int], b: [Float], bShape: [Int])]],
                             scaling: Float, ropeStyle: RoPEStyle) throws {
        let layers = (found.keys.max() ?? -1) + 1
        var pairs = [[Pair?]](repeating: Array(repeating: nil, count: LoRATarget.allCases.count), count: layers)
        for (layer, targets) in found {
            for (target, t) in targets {
                guard t.aShape.count == 2, t.bShape.count == 2, t.aShape[0] == t.bShape[1], t.aShape[0] > 0,
                      t.a.count == t.aShape[0] * t.aShape[1], t.b.count == t.bShape[0] * t.bShape[1] else {
                    throw LoomError.format("LoRA pair of layer \(layer) \(target.peft) has shapes A \(t.aShape), B \(t.bShape)")
                }
                pairs[layer][target.rawValue] = Pair(rank: t.aShape[0], inputs: t.aShape[1], outputs: t.bShape[0], a: t.a, b: t.b)
            }
        }
        self.init(path: path, kind: .lora, pairs: pairs, scaling: scaling, ropeStyle: ropeStyle)
    }
}

/// Adapters bound to one llama-family network with their strengths: per layer and target, the A and
/// B matrices (B's q/k rows in the network's RoPE order) and the scale to add ΔW·x with.
public final class AppliedLoRA: @unchecked Sendable {
    struct Term {
        let a: WeightMatrix
        let b: WeightMatrix
        let scale: Float
        let storage: [FloatStorage]   // owns a and b's memory
    }

    /// Floats at a fixed address for a WeightMatrix to point into.
    final class FloatStorage: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Float>
        init(_ values: [Float]) {
            buffer = .allocate(capacity: max(1, values.count))
            buffer.initialize(repeating: 0)
            for (i, v) in values.enumerated() { buffer[i] = v }
        }
        deinit { buffer.deallocate() }
        var pointer: UnsafeRawPointer { UnsafeRawPointer(buffer.baseAddress!) }   // allocated with capacity >= 1
    }
    let terms: [[[Term]]]            // [layer][target] -> terms of every adapter on it
    let scales: [[[Float]?]]         // [layer][target] -> the (IA)³ factor of all adapters, multiplied

    init(adapters: [(Adapter, Float)], network: LlamaModel) throws {
        let c = network.config
        let widths: [LoRATarget: (inputs: Int, outputs: Int)] = [
            .q: (c.hiddenSize, c.headCount * c.headDim), .k: (c.hiddenSize, c.kvHeadCount * c.headDim),
            .v: (c.hiddenSize, c.kvHeadCount * c.headDim), .o: (c.headCount * c.headDim, c.hiddenSize),
            .gate: (c.hiddenSize, c.intermediateSize), .up: (c.hiddenSize, c.intermediateSize),
            .down: (c.intermediateSize, c.hiddenSize)]
        var terms = [[[Term]]](repeating: Array(repeating: [], count: LoRATarget.allCases.count), count: c.layerCount)
        var scales = [[[Float]?]](repeating: Array(repeating: nil, count: LoRATarget.allCases.count), count: c.layerCount)
        for (adapter, strength) in adapters {
            guard adapter.ia3.count <= c.layerCount else {
                throw LoomError.invalidArgument("'\(adapter.path)' scales layer \(adapter.ia3.count - 1); the model has \(c.layerCount) layers")
            }
            for (l, targets) in adapter.ia3.enumerated() {
                for target in LoRATarget.allCases {
                    guard var v = targets[target.rawValue], let w = widths[target] else { continue }
                    let width = target == .down ? w.inputs : w.outputs
                    guard v.count == width else {
                        throw LoomError.invalidArgument("'\(adapter.path)' layer \(l) \(target.peft) (IA)3 vector has \(v.count) entries; the model needs \(width)")
                    }
                    if target == .k, adapter.ropeStyle != c.ropeStyle {
                        v = Self.reorderRoPERows(v, heads: c.kvHeadCount, headDim: c.headDim, rank: 1, to: c.ropeStyle)
                    }
                    // Strength s interpolates between off (s = 0: all ones) and as trained (s = 1).
                    let scaled = v.map { 1 + strength * ($0 - 1) }
                    scales[l][target.rawValue] = zip(scales[l][target.rawValue] ?? Array(repeating: 1, count: width), scaled).map { $0 * $1 }
                }
            }
            guard strength.isFinite else { throw LoomError.invalidArgument("adapter scale \(strength) is not finite") }
            guard adapter.pairs.count <= c.layerCount else {
                throw LoomError.invalidArgument("'\(adapter.path)' adapts layer \(adapter.pairs.count - 1); the model has \(c.layerCount) layers")
            }
            for (l, targets) in adapter.pairs.enumerated() {
                for target in LoRATarget.allCases {
                    guard let p = targets[target.rawValue], let w = widths[target] else { continue }
                    guard p.inputs == w.inputs, p.outputs == w.outputs else {
                        throw LoomError.invalidArgument("'\(adapter.path)' layer \(l) \(target.peft) is \(p.outputs)×\(p.inputs); the model's weight is \(w.outputs)×\(w.inputs)")
                    }
                    var b = p.b
                    if (target == .q || target == .k), adapter.ropeStyle != c.ropeStyle {
                        let heads = target == .q ? c.headCount : c.kvHeadCount
                        b = Self.reorderRoPERows(b, heads: heads, headDim: c.headDim, rank: p.rank, to: c.ropeStyle)
                    }
                    let storage = [FloatStorage(p.a), FloatStorage(b)]
                    let a = try WeightMatrix(type: .f32, rows: p.rank, cols: p.inputs, data: storage[0].pointer)
                    let bm = try WeightMatrix(type: .f32, rows: p.outputs, cols: p.rank, data: storage[1].pointer)
                    terms[l][target.rawValue].append(Term(a: a, b: bm, scale: adapter.scaling * strength, storage: storage))
                }
            }
        }
        self.terms = terms
        self.scales = scales
    }

    /// Multiplies each row of x [n × width] by the (IA)³ vector of `target` in `layer`, if any.
    func scale(layer: Int, _ target: LoRATarget, _ x: UnsafeMutablePointer<Float>, n: Int) {
        guard layer < scales.count, let v = scales[layer][target.rawValue] else { return }
        let w = v.count
        for i in 0..<n { for j in 0..<w { x[i * w + j] *= v[j] } }
    }

    /// B's rows per head between HF's rotate-half order (j, j + hd/2 pairs) and llama.cpp's
    /// interleaved order (2i, 2i + 1 pairs) — the permutation llama.cpp's converter applies to q/k.
    static func reorderRoPERows(_ b: [Float], heads: Int, headDim hd: Int, rank: Int, to style: RoPEStyle) -> [Float] {
        var out = b
        let half = hd / 2
        for h in 0..<heads {
            for i in 0..<half {
                for t in 0..<2 {
                    let interleaved = h * hd + 2 * i + t, halves = h * hd + t * half + i
                    let (dst, src) = style == .interleaved ? (interleaved, halves) : (halves, interleaved)
                    for k in 0..<rank { out[dst * rank + k] = b[src * rank + k] }
                }
            }
        }
        return out
    }

    /// y[n × out] += Σ scale · B·(A·x) for `target` of `layer`.
    func apply(layer: Int, _ target: LoRATarget, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int,
               workspace ws: Workspace, pool: ThreadPool) {
        guard layer < terms.count else { return }
        for term in terms[layer][target.rawValue] {
            let t = ws.buffer("lora.t", n * term.a.rows)
            let d = ws.buffer("lora.d", n * term.b.rows)
            matmul(term.a, x, t, n: n, pool: pool)
            matmul(term.b, t, d, n: n, pool: pool)
            let s = term.scale
            for i in 0..<(n * term.b.rows) { y[i] += s * d[i] }
        }
    }
}
