import LoomCore
import LoomFormats
import LoomKernels
#if canImport(Glibc)
import Glibc
#endif

/// Hyper-parameters of a GPT-2 model, from GGUF metadata (`gpt2.*`) or an HF config.json
/// (`GPT2LMHeadModel`: n_embd, n_layer, n_head, n_inner, n_positions, layer_norm_epsilon, activation_function).
public struct GPT2Config: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int              // d
    public var feedForwardSize: Int         // f (HF n_inner, 4·d when null)
    public var layerCount: Int
    public var headCount: Int               // H (no GQA: keys/values have H heads too)
    public var positionCount: Int           // learned absolute positions (n_positions)
    public var layerNormEps: Float
    public var activation: FeedForwardActivation
    /// HF `scale_attn_weights`: scores divided by √hd (always on in GGUF/llama.cpp).
    public var scalesAttentionByHeadDim: Bool
    /// HF `scale_attn_by_inverse_layer_idx`: scores of layer l further divided by l + 1.
    public var scalesAttentionByInverseLayer: Bool

    public var headDim: Int { hiddenSize / max(headCount, 1) }

    static func fromGGUF(_ g: GGUFFile, arch: String) throws -> GPT2Config {
        func int(_ key: String) throws -> Int {
            guard let v = g[arch + "." + key]?.int, v > 0 else {
                throw LoomError.format("GGUF metadata '\(arch).\(key)' is missing or not a positive integer")
            }
            return v
        }
        let d = try int("embedding_length")
        let vocab = g[arch + ".vocab_size"]?.int ?? g.tensor(named: "token_embd.weight")?.dims.last ?? 0
        return GPT2Config(
            vocabSize: vocab, hiddenSize: d, feedForwardSize: g[arch + ".feed_forward_length"]?.int ?? defaultFeedForwardSize(d),
            layerCount: try int("block_count"), headCount: try int("attention.head_count"),
            positionCount: try int("context_length"),
            layerNormEps: Float(g[arch + ".attention.layer_norm_epsilon"]?.double ?? 1e-5),
            // llama.cpp's gpt2 graph: tanh GELU, scores scaled by 1/√hd only.
            activation: .geluTanh, scalesAttentionByHeadDim: true, scalesAttentionByInverseLayer: false)
    }

    static func fromHF(_ c: HFConfig) throws -> GPT2Config {
        guard let d = c.hiddenSize, let layers = c.numHiddenLayers, let heads = c.numAttentionHeads,
              let vocab = c.vocabSize, let positions = c.maxPositionEmbeddings
        else {
            throw LoomError.format("config.json lacks n_embd, n_layer, n_head, n_positions or vocab_size")
        }
        let name = c.raw["activation_function"]?.string ?? "gelu_new"
        guard let activation = Self.activation(named: name) else {
            throw LoomError.unsupported("GPT-2 activation_function '\(name)' is not supported (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu)")
        }
        return GPT2Config(
            vocabSize: vocab, hiddenSize: d, feedForwardSize: c.raw["n_inner"]?.int ?? defaultFeedForwardSize(d),
            layerCount: layers, headCount: heads, positionCount: positions,
            layerNormEps: Float(c.raw["layer_norm_epsilon"]?.double ?? 1e-5), activation: activation,
            scalesAttentionByHeadDim: c.raw["scale_attn_weights"]?.bool ?? true,
            scalesAttentionByInverseLayer: c.raw["scale_attn_by_inverse_layer_idx"]?.bool ?? false)
    }

    /// 4·d (GPT-2's MLP width when none is given); 0, which fails validation, for an absurd d.
    static func defaultFeedForwardSize(_ d: Int) -> Int { d > 0 && d <= 1 << 16 ? 4 * d : 0 }

    /// HF `ACT2FN` names GPT-2 checkpoints use.
    static func activation(named name: String) -> FeedForwardActivation? {
        switch name {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh   // the same tanh formula
        case "gelu": return .geluExact
        case "relu": return .relu
        case "silu", "swish": return .silu
        default: return nil
        }
    }

    func validate() throws {
        guard vocabSize > 0, vocabSize <= 1 << 22, hiddenSize > 0, hiddenSize <= 1 << 16,
              feedForwardSize > 0, feedForwardSize <= 1 << 18, layerCount > 0, layerCount <= 1024,
              headCount > 0, hiddenSize % headCount == 0, positionCount > 0, positionCount <= 1 << 20,
              layerNormEps.isFinite, layerNormEps > 0
        else {
            throw LoomError.format("inconsistent GPT-2 hyper-parameters: \(self)")
        }
    }
}

/// One GPT-2 block's weights, rows = output features (GGUF order [in, out] in the comments).
/// The fused c_attn / attn_qkv projection is split into its q, k, v thirds at load time.
struct GPT2Layer: @unchecked Sendable {
    let attnNorm: [Float], attnNormBias: [Float]    // [d]
    let wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix   // [d, d] each (thirds of [d, 3d])
    let bq: [Float], bk: [Float], bv: [Float]       // [d] each (thirds of [3d])
    let wo: WeightMatrix                            // [d, d]
    let bo: [Float]                                 // [d]
    let ffnNorm: [Float], ffnNormBias: [Float]      // [d]
    let wUp: WeightMatrix                           // [d, f]
    let bUp: [Float]                                // [f]
    let wDown: WeightMatrix                         // [f, d]
    let bDown: [Float]                              // [d]
}

/// GPT-2: learned absolute positions, pre-LayerNorm (with bias) blocks, multi-head causal attention
/// with biased projections, a GELU MLP, a final LayerNorm and (usually) an lm_head tied to the token
/// embedding.
public final class GPT2Model: CausalLM, @unchecked Sendable {
    public let config: GPT2Config
    let tokenEmbedding: WeightMatrix      // [d, vocab]
    let positionEmbedding: WeightMatrix   // [d, n_positions]
    let layers: [GPT2Layer]
    let outputNorm: [Float], outputNormBias: [Float]   // [d]
    let output: WeightMatrix              // [d, vocab] (token_embd when tied)
    /// Keeps the mapped files alive as long as the weights are used.
    let weights: WeightSource
    /// Transposed HF Conv1D weights that `prepared()` did not copy (matrices under 16 rows).
    let transposedStorage: TransposedWeightStorage

    public var vocabSize: Int { config.vocabSize }
    public var hiddenSize: Int { config.hiddenSize }
    public var trainedContextLength: Int { config.positionCount }
    public var layerCount: Int { config.layerCount }
    public var kvHeads: Int { config.headCount }
    public var headDim: Int { config.headDim }

    public static func load(_ weights: WeightSource) throws -> CausalLM {
        let config = try weights.config(
            gguf: { try GPT2Config.fromGGUF($0, arch: $0.architecture ?? "gpt2") },
            hf: GPT2Config.fromHF)
        try config.validate()
        return try GPT2Model(weights: weights, config: config)
    }

    init(weights w: WeightSource, config c: GPT2Config) throws {
        self.weights = w
        self.config = c
        let storage = TransposedWeightStorage()
        transposedStorage = storage
        let d = c.hiddenSize, f = c.feedForwardSize
        let reader = GPT2WeightReader(source: w, storage: storage)
        tokenEmbedding = try w.required("token_embd.weight", dims: [d, c.vocabSize]).matrix()
        positionEmbedding = try w.required("position_embd.weight", dims: [d, c.positionCount]).matrix()
        outputNorm = try w.required("output_norm.weight", dims: [d]).floats()
        outputNormBias = try w.required("output_norm.bias", dims: [d]).floats()
        // lm_head is an nn.Linear (not a Conv1D): already [d, vocab] in both formats.
        output = try (w.optional("output.weight", dims: [d, c.vocabSize])?.matrix()) ?? tokenEmbedding
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            let qkv = try reader.projection(p + "attn_qkv.weight", inputs: d, outputs: 3 * d, parts: 3)
            let qkvBias = try w.required(p + "attn_qkv.bias", dims: [3 * d]).floats()
            return GPT2Layer(
                attnNorm: try w.required(p + "attn_norm.weight", dims: [d]).floats(),
                attnNormBias: try w.required(p + "attn_norm.bias", dims: [d]).floats(),
                wq: qkv[0], wk: qkv[1], wv: qkv[2],
                bq: Array(qkvBias[0..<d]), bk: Array(qkvBias[d..<(2 * d)]), bv: Array(qkvBias[(2 * d)..<(3 * d)]),
                wo: try reader.projection(p + "attn_output.weight", inputs: d, outputs: d)[0],
                bo: try w.required(p + "attn_output.bias", dims: [d]).floats(),
                ffnNorm: try w.required(p + "ffn_norm.weight", dims: [d]).floats(),
                ffnNormBias: try w.required(p + "ffn_norm.bias", dims: [d]).floats(),
                wUp: try reader.projection(p + "ffn_up.weight", inputs: d, outputs: f)[0],
                bUp: try w.required(p + "ffn_up.bias", dims: [f]).floats(),
                wDown: try reader.projection(p + "ffn_down.weight", inputs: f, outputs: d)[0],
                bDown: try w.required(p + "ffn_down.bias", dims: [d]).floats())
        }
    }

    public func makeWorkspace(batch: Int, capacity: Int, threads: Int) -> Workspace {
        let ws = Workspace()
        _ = ws.buffer("x", batch * config.hiddenSize)
        return ws
    }

    public func forward(_ batch: ForwardBatch, logits: UnsafeMutablePointer<Float>, workspace ws: Workspace,
                        pool: ThreadPool) throws {
        let c = config
        let tokens = batch.tokens, positions = batch.positions, outputRows = batch.outputRows
        let n = tokens.count
        let d = c.hiddenSize, hd = c.headDim, H = c.headCount, f = c.feedForwardSize
        guard positions.count == n else {
            throw LoomError.invalidArgument("\(n) tokens but \(positions.count) positions")
        }
        let x = ws.buffer("x", n * d)            // residual stream [n, d]
        let xn = ws.buffer("xn", n * d)          // LayerNorm output [n, d]
        let q = ws.buffer("q", n * d)            // [n, H·hd]
        let k = ws.buffer("k", n * d)
        let v = ws.buffer("v", n * d)
        let att = ws.buffer("att", n * d)        // attention output [n, H·hd]
        let proj = ws.buffer("proj", n * d)
        let hidden = ws.buffer("hidden", n * f)  // MLP activations [n, f]
        let positionRow = ws.buffer("positionRow", d)

        for i in 0..<n {
            let t = Int(tokens[i]), pos = Int(positions[i])
            guard t >= 0, t < c.vocabSize else { throw LoomError.outOfRange("token id \(t) is outside 0..<\(c.vocabSize)") }
            guard pos >= 0, pos < c.positionCount else {
                throw LoomError.outOfRange("position \(pos) is outside GPT-2's \(c.positionCount) learned positions (use n_ctx ≤ \(c.positionCount))")
            }
            tokenEmbedding.dequantizeRow(t, into: x + i * d)
            positionEmbedding.dequantizeRow(pos, into: positionRow)
            addInPlace(x + i * d, positionRow, d)
        }

        for run in batch.runs {
            for i in run.rows where Int(positions[i]) >= run.cache.capacity {
                throw LoomError.outOfRange("position \(positions[i]) is outside the KV cache's \(run.cache.capacity) positions")
            }
        }

        for (l, layer) in layers.enumerated() {
            try batch.checkAbort()
            layerNormRows(n, x, layer.attnNorm, layer.attnNormBias, xn, pool: pool)
            matmul(layer.wq, xn, q, n: n, bias: layer.bq, pool: pool)
            matmul(layer.wk, xn, k, n: n, bias: layer.bk, pool: pool)
            matmul(layer.wv, xn, v, n: n, bias: layer.bv, pool: pool)
            batch.store(keys: k, values: v, heads: H, headDim: hd, layer: l)
            // causalAttention scales scores by 1/√hd; other HF scalings are folded into q.
            var qScale: Float = c.scalesAttentionByHeadDim ? 1 : Float(hd).squareRoot()
            if c.scalesAttentionByInverseLayer { qScale /= Float(l + 1) }
            if qScale != 1 { for j in 0..<(n * d) { q[j] *= qScale } }
            try batch.attend(q: q, heads: H, kvHeads: H, headDim: hd, layer: l, out: att, workspace: ws, pool: pool)
            matmul(layer.wo, att, proj, n: n, bias: layer.bo, pool: pool)
            addInPlace(x, proj, n * d)

            layerNormRows(n, x, layer.ffnNorm, layer.ffnNormBias, xn, pool: pool)
            matmul(layer.wUp, xn, hidden, n: n, bias: layer.bUp, pool: pool)
            activateInPlace(c.activation, hidden, n * f, pool: pool)
            matmul(layer.wDown, hidden, proj, n: n, bias: layer.bDown, pool: pool)
            addInPlace(x, proj, n * d)
        }
        batch.commit()

        guard !outputRows.isEmpty else { return }
        let rows = outputRows.count
        let normed = ws.buffer("final", rows * d)
        for (j, i) in outputRows.enumerated() {
            guard i >= 0, i < n else { throw LoomError.outOfRange("output row \(i) is outside the batch of \(n)") }
            layerNorm(x + i * d, outputNorm, outputNormBias, normed + j * d, n: d, eps: c.layerNormEps)
        }
        matmul(output, normed, logits, n: rows, pool: pool)
    }

    /// LayerNorm of `rows` rows of d values, split over the pool's threads for large batches.
    private func layerNormRows(_ rows: Int, _ x: UnsafePointer<Float>, _ weight: [Float], _ bias: [Float],
                               _ out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let d = config.hiddenSize, eps = config.layerNormEps
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let wp = w.baseAddress, bp = b.baseAddress
                guard rows * d >= 16_384, pool.activeThreads > 1 else {
                    for i in 0..<rows { layerNorm(x + i * d, wp, bp, out + i * d, n: d, eps: eps) }
                    return
                }
                pool.parallelFor(rows) { r in
                    for i in r { layerNorm(x + i * d, wp, bp, out + i * d, n: d, eps: eps) }
                }
            }
        }
    }
}

/// Owns transposed weight bytes that a matrix still points into (freed with the model).
final class TransposedWeightStorage: @unchecked Sendable {
    private var buffers: [UnsafeMutableRawPointer] = []

    func keep(_ buffer: UnsafeMutableRawPointer) { buffers.append(buffer) }

    deinit { for b in buffers { free(b) } }
}

/// Reads GPT-2's projection weights as kernel matrices (rows = output features). GGUF (llama.cpp's
/// converter) already stores them so; HF's Conv1D stores `weight[in, out]`, which is transposed
/// once here.
struct GPT2WeightReader {
    let source: WeightSource
    let storage: TransposedWeightStorage

    /// The `inputs → outputs` projection `name`, cut into `parts` equal blocks of output rows
    /// (c_attn / attn_qkv: q, k, v).
    func projection(_ name: String, inputs: Int, outputs: Int, parts: Int = 1) throws -> [WeightMatrix] {
        guard parts > 0, outputs % parts == 0 else {
            throw LoomError.format("'\(name)': \(outputs) outputs do not split into \(parts) parts")
        }
        let t: WeightTensor
        let base: UnsafeRawPointer
        var transposed: UnsafeMutableRawPointer?
        switch source.source {
        case .gguf:
            t = try source.required(name, dims: [inputs, outputs])
            base = t.data
        case .hf:
            t = try source.required(name, dims: [outputs, inputs])     // Conv1D weight[in, out]
            let buffer = try transposeConv1D(t, inputs: inputs, outputs: outputs)
            transposed = buffer
            base = UnsafeRawPointer(buffer)
        }
        var matrices: [WeightMatrix] = []
        var allCopied = true
        do {
            // Validates the type and gives the row size in its block format.
            let whole = try WeightMatrix(type: t.type, rows: outputs, cols: inputs, data: base)
            let rowsPerPart = outputs / parts
            for p in 0..<parts {
                let slice = try WeightMatrix(type: t.type, rows: rowsPerPart, cols: inputs,
                                             data: base + p * rowsPerPart * whole.rowBytes)
                let prepared = try slice.prepared(source: transposed == nil ? t.file : nil)
                if prepared.storage == nil { allCopied = false }
                matrices.append(prepared)
            }
        } catch {
            if let transposed { free(transposed) }
            throw error
        }
        if let transposed {
            if allCopied { free(transposed) } else { storage.keep(transposed) }
        }
        return matrices
    }

    /// Conv1D `weight[in, out]` (row-major; element size of its type) as `[out, in]` in new memory.
    private func transposeConv1D(_ t: WeightTensor, inputs: Int, outputs: Int) throws -> UnsafeMutableRawPointer {
        let elementSize: Int
        switch t.type {
        case .f32: elementSize = 4
        case .f16, .bf16: elementSize = 2
        default: throw LoomError.unsupported("'\(t.name)' has type \(t.type.name); GPT-2 Conv1D weights are read as F32, F16 or BF16")
        }
        let (count, overflow) = inputs.multipliedReportingOverflow(by: outputs)
        guard !overflow, count <= 1 << 34, let buffer = malloc(max(count * elementSize, 1)) else {
            throw LoomError(.outOfMemory, "cannot allocate \(inputs)×\(outputs) transposed weights for '\(t.name)'")
        }
        switch elementSize {
        case 4: transpose(t.data, into: buffer, rows: inputs, cols: outputs, as: UInt32.self)
        default: transpose(t.data, into: buffer, rows: inputs, cols: outputs, as: UInt16.self)
        }
        return buffer
    }

    /// dst[c][r] = src[r][c] for a rows × cols row-major matrix, in 64×64 tiles so both sides stay in cache.
    /// The source may be unaligned (a file offset); the destination is malloc'd.
    private func transpose<Element: BitwiseCopyable>(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer,
                                                     rows: Int, cols: Int, as: Element.Type) {
        let d = dst.assumingMemoryBound(to: Element.self), size = MemoryLayout<Element>.size
        let tile = 64
        for r0 in stride(from: 0, to: rows, by: tile) {
            for c0 in stride(from: 0, to: cols, by: tile) {
                for r in r0..<min(r0 + tile, rows) {
                    for c in c0..<min(c0 + tile, cols) {
                        d[c * rows + r] = src.loadUnaligned(fromByteOffset: (r * cols + c) * size, as: Element.self)
                    }
                }
            }
        }
    }
}
