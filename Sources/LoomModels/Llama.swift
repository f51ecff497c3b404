import LoomCore
import LoomFormats
import LoomKernels

/// Hyper-parameters of a llama-family model (Llama 2/3, SmolLM2, Mistral-style), from GGUF metadata
/// or an HF config.json.
public struct LlamaConfig: Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int          // d
    public var intermediateSize: Int    // f
    public var layerCount: Int
    public var headCount: Int           // H
    public var kvHeadCount: Int         // Hkv (GQA: H is a multiple of Hkv)
    public var headDim: Int             // hd
    public var ropeDims: Int
    public var ropeTheta: Float
    public var rmsNormEps: Float
    public var contextLength: Int
    public var ropeStyle: RoPEStyle

    static func fromGGUF(_ g: GGUFFile, arch: String) throws -> LlamaConfig {
        func int(_ key: String) throws -> Int {
            guard let v = g[arch + "." + key]?.int, v > 0 else {
                throw LoomError.format("GGUF metadata '\(arch).\(key)' is missing or not a positive integer")
            }
            return v
        }
        let d = try int("embedding_length")
        let heads = try int("attention.head_count")
        let headDim = g[arch + ".attention.key_length"]?.int ?? (d / max(heads, 1))
        let vocab = g[arch + ".vocab_size"]?.int ?? g.tensor(named: "token_embd.weight")?.dims.last ?? 0
        return LlamaConfig(
            vocabSize: vocab, hiddenSize: d, intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: heads,
            kvHeadCount: g[arch + ".attention.head_count_kv"]?.int ?? heads, headDim: headDim,
            ropeDims: g[arch + ".rope.dimension_count"]?.int ?? headDim,
            ropeTheta: Float(g[arch + ".rope.freq_base"]?.double ?? 10000),
            rmsNormEps: Float(g[arch + ".attention.layer_norm_rms_epsilon"]?.double ?? 1e-5),
            contextLength: g[arch + ".context_length"]?.int ?? 2048,
            ropeStyle: .interleaved)
    }

    static func fromHF(_ c: HFConfig) throws -> LlamaConfig {
        guard let d = c.hiddenSize, let f = c.intermediateSize, let layers = c.numHiddenLayers,
              let heads = c.numAttentionHeads, let vocab = c.vocabSize, d > 0, f > 0, layers > 0, heads > 0, vocab > 0
        else {
            throw LoomError.format("config.json lacks hidden_size, intermediate_size, num_hidden_layers, num_attention_heads or vocab_size")
        }
        let headDim = c.headDim ?? d / heads
        return LlamaConfig(
            vocabSize: vocab, hiddenSize: d, intermediateSize: f, layerCount: layers, headCount: heads,
            kvHeadCount: c.numKeyValueHeads ?? heads, headDim: headDim, ropeDims: headDim,
            ropeTheta: Float(c.ropeTheta ?? 10000), rmsNormEps: Float(c.rmsNormEps ?? 1e-6),
            contextLength: c.maxPositionEmbeddings ?? 2048, ropeStyle: .halves)
    }

    func validate() throws {
        // kvHeadCount > 0 first: head_count_kv 0 (GGUF) or num_key_value_heads 0 (config.json) trapped
        // in the remainder below (found by the gguf_model fuzz target).
        guard kvHeadCount > 0, headCount % kvHeadCount == 0, headDim > 0, ropeDims > 0, ropeDims <= headDim, ropeDims % 2 == 0,
              vocabSize > 0,
              layerCount <= 1024, hiddenSize <= 1 << 16, intermediateSize <= 1 << 18, vocabSize <= 1 << 22
        else {
            throw LoomError.format("inconsistent llama hyper-parameters: \(self)")
        }
    }
}

/// One transformer block's weights (shapes in GGUF order: [in, out]).
struct LlamaLayer: @unchecked Sendable {
    let attnNorm: [Float]          // [d]
    var wq: WeightMatrix           // [d, H·hd]
    var wk: WeightMatrix           // [d, Hkv·hd]
    var wv: WeightMatrix           // [d, Hkv·hd]
    let bq: [Float]?, bk: [Float]?, bv: [Float]?
    var wo: WeightMatrix           // [H·hd, d]
    let bo: [Float]?
    let ffnNorm: [Float]           // [d]
    var wGate: WeightMatrix        // [d, f]
    var wUp: WeightMatrix          // [d, f]
    var wDown: WeightMatrix        // [f, d]
}

/// The llama-family decoder: RMSNorm, RoPE, grouped-query attention, SwiGLU. Weights stay in the
/// mapped file in their own format.
public final class LlamaModel: CausalLM, @unchecked Sendable {
    public let config: LlamaConfig
    let tokenEmbedding: WeightMatrix   // [d, vocab]
    /// Rewritten only by a LoRA merge, while no context uses the model (`Model.mergeLoRA`).
    var layers: [LlamaLayer]
    let outputNorm: [Float]            // [d]
    let output: WeightMatrix           // [d, vocab] (token_embd when tied)
    let rope: RoPE
    /// Keeps the mapped files alive as long as the weights are used.
    let weights: WeightSource

    public var vocabSize: Int { config.vocabSize }
    public var hiddenSize: Int { config.hiddenSize }
    public var trainedContextLength: Int { config.contextLength }
    public var layerCount: Int { config.layerCount }
    public var kvHeads: Int { config.kvHeadCount }
    public var headDim: Int { config.headDim }

    public static func load(_ weights: WeightSource) throws -> CausalLM {
        let config = try weights.config(
            gguf: { try LlamaConfig.fromGGUF($0, arch: $0.architecture ?? "llama") },
            hf: LlamaConfig.fromHF)
        try config.validate()
        return try LlamaModel(weights: weights, config: config)
    }

    init(weights w: WeightSource, config c: LlamaConfig) throws {
        self.weights = w
        self.config = c
        let d = c.hiddenSize, q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim, f = c.intermediateSize
        tokenEmbedding = try w.required("token_embd.weight", dims: [d, c.vocabSize]).matrix()
        outputNorm = try w.required("output_norm.weight", dims: [d]).floats()
        output = try (w.optional("output.weight", dims: [d, c.vocabSize])?.matrix()) ?? tokenEmbedding
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return LlamaLayer(
                attnNorm: try w.required(p + "attn_norm.weight", dims: [d]).floats(),
                wq: try w.required(p + "attn_q.weight", dims: [d, q]).matrix(),
                wk: try w.required(p + "attn_k.weight", dims: [d, kv]).matrix(),
                wv: try w.required(p + "attn_v.weight", dims: [d, kv]).matrix(),
                bq: try w.optional(p + "attn_q.bias", dims: [q])?.floats(),
                bk: try w.optional(p + "attn_k.bias", dims: [kv])?.floats(),
                bv: try w.optional(p + "attn_v.bias", dims: [kv])?.floats(),
                wo: try w.required(p + "attn_output.weight", dims: [q, d]).matrix(),
                bo: try w.optional(p + "attn_output.bias", dims: [d])?.floats(),
                ffnNorm: try w.required(p + "ffn_norm.weight", dims: [d]).floats(),
                wGate: try w.required(p + "ffn_gate.weight", dims: [d, f]).matrix(),
                wUp: try w.required(p + "ffn_up.weight", dims: [d, f]).matrix(),
                wDown: try w.required(p + "ffn_down.weight", dims: [f, d]).matrix())
        }
        rope = RoPE(dims: c.ropeDims, base: c.ropeTheta, style: c.ropeStyle)
    }

    public func makeWorkspace(batch: Int, capacity: Int, threads: Int) -> Workspace {
        let ws = Workspace()
        let c = config
        _ = ws.buffer("x", batch * c.hiddenSize)
        return ws
    }

    public func forward(_ batch: ForwardBatch, logits: UnsafeMutablePointer<Float>, workspace ws: Workspace,
                        pool: ThreadPool) throws {
        let c = config
        let tokens = batch.tokens, positions = batch.positions, outputRows = batch.outputRows
        let n = tokens.count
        let d = c.hiddenSize, hd = c.headDim, H = c.headCount, Hkv = c.kvHeadCount
        let qw = H * hd, kvw = Hkv * hd, f = c.intermediateSize
        let x = ws.buffer("x", n * d)            // residual stream [n, d]
        let xn = ws.buffer("xn", n * d)          // normed input [n, d]
        let q = ws.buffer("q", n * qw)           // [n, H·hd]
        let k = ws.buffer("k", n * kvw)          // [n, Hkv·hd]
        let v = ws.buffer("v", n * kvw)
        let att = ws.buffer("att", n * qw)       // attention output [n, H·hd]
        let proj = ws.buffer("proj", n * d)
        let gate = ws.buffer("gate", n * f)
        let up = ws.buffer("up", n * f)

        for i in 0..<n {
            let t = Int(tokens[i])
            if t < 0, let virtual = batch.virtualEmbeddings, let base = virtual.baseAddress, (-t) * d <= virtual.count {
                (x + i * d).update(from: base + (-1 - t) * d, count: d)   // prompt tuning's virtual token -1 - t
                continue
            }
            guard t >= 0, t < c.vocabSize else { throw LoomError.outOfRange("token id \(t) is outside 0..<\(c.vocabSize)") }
            tokenEmbedding.dequantizeRow(t, into: x + i * d)
        }

        let ropeTable = ws.buffer("rope", n * rope.dims)
        rope.makeTable(positions: positions, into: ropeTable)
        for (l, layer) in layers.enumerated() {
            try batch.checkAbort()
            rmsNorm(rows: n, x, layer.attnNorm, xn, n: d, eps: c.rmsNormEps, pool: pool)
            matmul(layer.wq, xn, q, n: n, bias: layer.bq, pool: pool)
            matmul(layer.wk, xn, k, n: n, bias: layer.bk, pool: pool)
            matmul(layer.wv, xn, v, n: n, bias: layer.bv, pool: pool)
            if let lora = batch.lora {
                lora.apply(layer: l, .q, x: xn, y: q, n: n, workspace: ws, pool: pool)
                lora.apply(layer: l, .k, x: xn, y: k, n: n, workspace: ws, pool: pool)
                lora.apply(layer: l, .v, x: xn, y: v, n: n, workspace: ws, pool: pool)
                lora.scale(layer: l, .k, k, n: n)
                lora.scale(layer: l, .v, v, n: n)
            }
            rope.apply(q: q, qHeads: H, k: k, kHeads: Hkv, headDim: hd, rows: n, table: ropeTable, pool: pool)
            batch.store(keys: k, values: v, heads: Hkv, headDim: hd, layer: l)
            try batch.attend(q: q, heads: H, kvHeads: Hkv, headDim: hd, layer: l, out: att, workspace: ws, pool: pool)
            matmul(layer.wo, att, proj, n: n, bias: layer.bo, pool: pool)
            batch.lora?.apply(layer: l, .o, x: att, y: proj, n: n, workspace: ws, pool: pool)
            addInPlace(x, proj, n * d)
            rmsNorm(rows: n, x, layer.ffnNorm, xn, n: d, eps: c.rmsNormEps, pool: pool)
            matmul(layer.wGate, xn, gate, n: n, pool: pool)
            matmul(layer.wUp, xn, up, n: n, pool: pool)
            batch.lora?.apply(layer: l, .gate, x: xn, y: gate, n: n, workspace: ws, pool: pool)
            batch.lora?.apply(layer: l, .up, x: xn, y: up, n: n, workspace: ws, pool: pool)
            swiglu(gate, up, n * f, pool: pool)
            batch.lora?.scale(layer: l, .down, gate, n: n)
            matmul(layer.wDown, gate, proj, n: n, pool: pool)
            batch.lora?.apply(layer: l, .down, x: gate, y: proj, n: n, workspace: ws, pool: pool)
            addInPlace(x, proj, n * d)
        }
        batch.commit()

        guard !outputRows.isEmpty else { return }
        let rows = outputRows.count
        // Hidden-state output (sequence-classification heads): the normed rows are the result.
        let hiddenOnly = batch.output == .hiddenStates
        let normed = hiddenOnly ? logits : ws.buffer("final", rows * d)
        for (j, i) in outputRows.enumerated() {
            rmsNorm(x + i * d, outputNorm, normed + j * d, n: d, eps: c.rmsNormEps)
        }
        if hiddenOnly { return }
        matmul(output, normed, logits, n: rows, pool: pool)
    }
}
