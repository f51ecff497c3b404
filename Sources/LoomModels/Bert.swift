import LoomCore
import LoomFormats
import LoomKernels

/// Hyper-parameters of a BERT encoder (HF BertModel / BertForMaskedLM config.json, or GGUF `bert`).
public struct BertConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int          // d
    public var intermediateSize: Int    // f
    public var layerCount: Int
    public var headCount: Int           // H (head width d / H)
    public var maxPositions: Int        // P
    public var tokenTypeCount: Int      // T
    public var layerNormEps: Float

    static func fromGGUF(_ g: GGUFFile) throws -> BertConfig {
        let arch = g.architecture ?? "bert"
        func int(_ key: String) throws -> Int {
            guard let v = g[arch + "." + key]?.int, v > 0 else {
                throw LoomError.format("GGUF metadata '\(arch).\(key)' is missing or not a positive integer")
            }
            return v
        }
        // The converter writes no vocabulary or token-type sizes: the tables' shapes carry them.
        guard let vocab = g.tensor(named: "token_embd.weight")?.dims.last else {
            throw LoomError.format("GGUF has no tensor 'token_embd.weight'")
        }
        let types = g.tensor(named: "token_types.weight")?.dims.last ?? 2
        return BertConfig(
            vocabSize: vocab, hiddenSize: try int("embedding_length"), intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: try int("attention.head_count"),
            maxPositions: try int("context_length"), tokenTypeCount: types,
            layerNormEps: Float(g[arch + ".attention.layer_norm_epsilon"]?.double ?? 1e-12))
    }

    static func fromHF(_ c: HFConfig) throws -> BertConfig {
        guard let d = c.hiddenSize, let f = c.intermediateSize, let layers = c.numHiddenLayers,
              let heads = c.numAttentionHeads, let vocab = c.vocabSize
        else {
            throw LoomError.format("config.json lacks hidden_size, intermediate_size, num_hidden_layers, num_attention_heads or vocab_size")
        }
        let act = c.raw["hidden_act"]?.string ?? "gelu"
        guard act == "gelu" else {
            throw LoomError.unsupported("BERT hidden_act '\(act)' is not supported (Loom implements 'gelu', the erf form)")
        }
        let positionType = c.raw["position_embedding_type"]?.string ?? "absolute"
        guard positionType == "absolute" else {
            throw LoomError.unsupported("BERT position_embedding_type '\(positionType)' is not supported (only 'absolute')")
        }
        return BertConfig(
            vocabSize: vocab, hiddenSize: d, intermediateSize: f, layerCount: layers, headCount: heads,
            maxPositions: c.maxPositionEmbeddings ?? 512, tokenTypeCount: c.raw["type_vocab_size"]?.int ?? 2,
            layerNormEps: Float(c.raw["layer_norm_eps"]?.double ?? 1e-12))
    }

    func validate() throws {
        guard vocabSize > 0, vocabSize <= 1 << 22, hiddenSize > 0, hiddenSize <= 1 << 16,
              intermediateSize > 0, intermediateSize <= 1 << 18, layerCount > 0, layerCount <= 1024,
              headCount > 0, hiddenSize % headCount == 0, maxPositions > 0, maxPositions <= 1 << 20,
              tokenTypeCount > 0, tokenTypeCount <= 1 << 16, layerNormEps.isFinite, layerNormEps >= 0
        else {
            throw LoomError.format("inconsistent BERT hyper-parameters: \(self)")
        }
    }
}

/// One encoder block's weights (shapes in GGUF order: [in, out]). Post-LayerNorm: each sub-layer's
/// output is added to its input and then normalised.
struct BertLayer: @unchecked Sendable {
    let wq, wk, wv: WeightMatrix              // [d, d] each
    let bq, bk, bv: [Float]                   // [d]
    let wo: WeightMatrix                      // [d, d]
    let bo: [Float]                           // [d]
    let attnNormWeight, attnNormBias: [Float] // [d]
    let wUp: WeightMatrix                     // [d, f]
    let bUp: [Float]                          // [f]
    let wDown: WeightMatrix                   // [f, d]
    let bDown: [Float]                        // [d]
    let outNormWeight, outNormBias: [Float]   // [d]
}

/// A block's matrices packed for the reduced-precision kernels (same shapes as `BertLayer`).
struct PackedBertLayer: @unchecked Sendable {
    let wq, wk, wv, wo: LowPrecisionWeights   // [d, d]
    let wUp: LowPrecisionWeights              // [d, f]
    let wDown: LowPrecisionWeights            // [f, d]

    init(_ l: BertLayer, format: MatmulPrecision) throws {
        wq = try LowPrecisionWeights(l.wq, format: format)
        wk = try LowPrecisionWeights(l.wk, format: format)
        wv = try LowPrecisionWeights(l.wv, format: format)
        wo = try LowPrecisionWeights(l.wo, format: format)
        wUp = try LowPrecisionWeights(l.wUp, format: format)
        wDown = try LowPrecisionWeights(l.wDown, format: format)
    }
}

/// BERT's masked-LM head: dense + GELU + LayerNorm, then the (tied) word embeddings and a bias.
struct BertMaskedLMHead: @unchecked Sendable {
    let transform: WeightMatrix               // [d, d]
    let transformBias: [Float]                // [d]
    let normWeight, normBias: [Float]         // [d]
    let decoder: WeightMatrix                 // [d, vocab] (the word embeddings when tied)
    let decoderBias: [Float]                  // [vocab]
}

/// The BERT encoder: word + position + token-type embeddings, LayerNorm, then post-LN blocks of
/// bidirectional multi-head attention and a GELU feed-forward. Weights stay in their own format.
public final class BertModel: EncoderModel, @unchecked Sendable {
    public let config: BertConfig
    let wordEmbedding: WeightMatrix           // [d, vocab]
    let positionEmbedding: WeightMatrix       // [d, P]
    let tokenTypeEmbedding: [Float]           // [d, T]
    let embedNormWeight, embedNormBias: [Float] // [d]
    let layers: [BertLayer]
    let maskedLMHead: BertMaskedLMHead?       // HF BertForMaskedLM only (GGUF drops it)
    /// Keeps the mapped files alive as long as the weights are used.
    let weights: WeightSource
    /// The layers' matrices in bf16 / f16 panels, packed on the first encode that asks for them.
    let packedLayers = LowPrecisionCache<[PackedBertLayer]>()

    public var vocabSize: Int { config.vocabSize }
    public var hiddenSize: Int { config.hiddenSize }
    public var layerCount: Int { config.layerCount }
    public var maxSequenceLength: Int { config.maxPositions }
    public var tokenTypeCount: Int { config.tokenTypeCount }
    public var hasTokenLogitsHead: Bool { maskedLMHead != nil }

    public static func load(_ weights: WeightSource) throws -> EncoderModel {
        let config = try weights.config(gguf: BertConfig.fromGGUF, hf: BertConfig.fromHF)
        try config.validate()
        return try BertModel(weights: weights, config: config)
    }

    init(weights w: WeightSource, config c: BertConfig) throws {
        self.weights = w
        self.config = c
        let d = c.hiddenSize, f = c.intermediateSize
        // HF names as BertModel saves them; BertForMaskedLM & co. prefix the encoder with "bert.".
        func hf(_ name: String) -> [String] { [name, "bert." + name] }
        func matrix(_ gguf: String?, _ hfName: String, _ dims: [Int]) throws -> WeightMatrix {
            try w.requiredTensor(gguf: gguf, hf: hf(hfName), dims: dims).matrix()
        }
        func vector(_ gguf: String?, _ hfName: String, _ n: Int) throws -> [Float] {
            try w.requiredTensor(gguf: gguf, hf: hf(hfName), dims: [n]).floats()
        }
        wordEmbedding = try matrix("token_embd.weight", "embeddings.word_embeddings.weight", [d, c.vocabSize])
        positionEmbedding = try matrix("position_embd.weight", "embeddings.position_embeddings.weight", [d, c.maxPositions])
        tokenTypeEmbedding = try w.requiredTensor(gguf: "token_types.weight", hf: hf("embeddings.token_type_embeddings.weight"),
                                                  dims: [d, c.tokenTypeCount]).floats()
        embedNormWeight = try vector("token_embd_norm.weight", "embeddings.LayerNorm.weight", d)
        embedNormBias = try vector("token_embd_norm.bias", "embeddings.LayerNorm.bias", d)
        layers = try (0..<c.layerCount).map { i in
            let g = "blk.\(i).", h = "encoder.layer.\(i)."
            return BertLayer(
                wq: try matrix(g + "attn_q.weight", h + "attention.self.query.weight", [d, d]),
                wk: try matrix(g + "attn_k.weight", h + "attention.self.key.weight", [d, d]),
                wv: try matrix(g + "attn_v.weight", h + "attention.self.value.weight", [d, d]),
                bq: try vector(g + "attn_q.bias", h + "attention.self.query.bias", d),
                bk: try vector(g + "attn_k.bias", h + "attention.self.key.bias", d),
                bv: try vector(g + "attn_v.bias", h + "attention.self.value.bias", d),
                wo: try matrix(g + "attn_output.weight", h + "attention.output.dense.weight", [d, d]),
                bo: try vector(g + "attn_output.bias", h + "attention.output.dense.bias", d),
                attnNormWeight: try vector(g + "attn_output_norm.weight", h + "attention.output.LayerNorm.weight", d),
                attnNormBias: try vector(g + "attn_output_norm.bias", h + "attention.output.LayerNorm.bias", d),
                wUp: try matrix(g + "ffn_up.weight", h + "intermediate.dense.weight", [d, f]),
                bUp: try vector(g + "ffn_up.bias", h + "intermediate.dense.bias", f),
                wDown: try matrix(g + "ffn_down.weight", h + "output.dense.weight", [f, d]),
                bDown: try vector(g + "ffn_down.bias", h + "output.dense.bias", d),
                outNormWeight: try vector(g + "layer_output_norm.weight", h + "output.LayerNorm.weight", d),
                outNormBias: try vector(g + "layer_output_norm.bias", h + "output.LayerNorm.bias", d))
        }
        // The MLM head exists only in HF BertForMaskedLM checkpoints; its decoder is usually tied.
        let p = "cls.predictions."
        if let transform = try w.tensor(gguf: nil, hf: [p + "transform.dense.weight"], dims: [d, d]) {
            func headVector(_ name: String, _ n: Int) throws -> [Float] {
                try w.requiredTensor(gguf: nil, hf: [p + name], dims: [n]).floats()
            }
            let decoder = try w.tensor(gguf: nil, hf: [p + "decoder.weight"], dims: [d, c.vocabSize])?.matrix()
            let decoderBias = try w.tensor(gguf: nil, hf: [p + "bias", p + "decoder.bias"], dims: [c.vocabSize])?.floats()
            maskedLMHead = BertMaskedLMHead(
                transform: try transform.matrix(),
                transformBias: try headVector("transform.dense.bias", d),
                normWeight: try headVector("transform.LayerNorm.weight", d),
                normBias: try headVector("transform.LayerNorm.bias", d),
                decoder: decoder ?? wordEmbedding,
                decoderBias: decoderBias ?? [Float](repeating: 0, count: c.vocabSize))
        } else {
            maskedLMHead = nil
        }
    }

    public func encode(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?,
                       hidden x: UnsafeMutablePointer<Float>, pool: ThreadPool) throws {
        try encode(tokens: tokens, rowLengths: rowLengths, tokenTypes: tokenTypes, hidden: x, pool: pool, precision: .f32)
    }

    public func encode(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?,
                       hidden x: UnsafeMutablePointer<Float>, pool: ThreadPool, precision: MatmulPrecision) throws {
        try encode(tokens: tokens, rowLengths: rowLengths, tokenTypes: tokenTypes, hidden: x, pool: pool,
                   kernel: LowPrecisionKernel.best(for: precision))
    }

    /// `encode` with the weight matmuls on `kernel` (tests force one; `.f32` is the exact path).
    func encode(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?,
                hidden x: UnsafeMutablePointer<Float>, pool: ThreadPool, kernel: LowPrecisionKernel) throws {
        try validate(tokens: tokens, rowLengths: rowLengths, tokenTypes: tokenTypes)
        let c = config
        let n = tokens.count, d = c.hiddenSize, f = c.intermediateSize
        guard n > 0 else { return }
        let position = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { position.deallocate() }

        // Embeddings: word + position (restarting in each row) + token type, then LayerNorm.
        var start = 0
        for length in rowLengths {
            for t in 0..<length {
                let i = start + t
                let row = x + i * d
                wordEmbedding.dequantizeRow(Int(tokens[i]), into: row)
                positionEmbedding.dequantizeRow(t, into: position)
                let type = Int(tokenTypes?[i] ?? 0)
                tokenTypeEmbedding.withUnsafeBufferPointer { tt in
                    for e in 0..<d { row[e] += position[e] + tt[type * d + e] }
                }
            }
            start += length
        }
        addLayerNorm(rows: n, x, add: nil, weight: embedNormWeight, bias: embedNormBias, n: d, eps: c.layerNormEps, pool: pool)

        var packed: [PackedBertLayer]? = nil
        if let format = kernel.format {
            packed = try packedLayers.value(format) { try layers.map { try PackedBertLayer($0, format: format) } }
        }
        // Rows in groups of about `groupTokens` tokens run through all layers one group at a time, so
        // that a group's activations stay in L2 (rows are independent: the result is the same).
        let groupTokens = 256
        var groups: [(rows: Range<Int>, tokens: Range<Int>)] = []
        var r0 = 0, t0 = 0, t = 0
        for (r, length) in rowLengths.enumerated() {
            if t > t0 && t + length - t0 > groupTokens {
                groups.append((r0..<r, t0..<t))
                r0 = r
                t0 = t
            }
            t += length
        }
        groups.append((r0..<rowLengths.count, t0..<t))
        let largest = groups.map(\.tokens.count).max() ?? n
        let ws = Workspace()                      // per call: the model stays shareable
        let q = ws.buffer("q", largest * d)       // [tokens, d]
        let k = ws.buffer("k", largest * d)
        let v = ws.buffer("v", largest * d)
        let att = ws.buffer("att", largest * d)   // attention output [tokens, d]
        let proj = ws.buffer("proj", largest * d)
        let up = ws.buffer("up", largest * f)     // [tokens, f]
        for group in groups {
            let m = group.tokens.count
            let xg = x + group.tokens.lowerBound * d
            var segments: [Range<Int>] = []
            var s0 = 0
            for r in group.rows {
                segments.append(s0..<(s0 + rowLengths[r]))
                s0 += rowLengths[r]
            }
            for (i, layer) in layers.enumerated() {
                let p = packed?[i]
                matmul([LowPrecisionProduct(layer.wq, packed: p?.wq, q, bias: layer.bq),
                        LowPrecisionProduct(layer.wk, packed: p?.wk, k, bias: layer.bk),
                        LowPrecisionProduct(layer.wv, packed: p?.wv, v, bias: layer.bv)], xg, n: m, pool: pool, kernel: kernel)
                segmentAttention(q: q, k: k, v: v, out: att, segments: segments, heads: c.headCount,
                                 headDim: d / c.headCount, pool: pool)
                matmul(layer.wo, packed: p?.wo, att, proj, n: m, bias: layer.bo, pool: pool, kernel: kernel)
                addLayerNorm(rows: m, xg, add: proj, weight: layer.attnNormWeight, bias: layer.attnNormBias, n: d,
                             eps: c.layerNormEps, pool: pool)
                matmul(layer.wUp, packed: p?.wUp, xg, up, n: m, bias: layer.bUp, pool: pool, kernel: kernel)
                geluErf(up, m * f, pool: pool)
                matmul(layer.wDown, packed: p?.wDown, up, proj, n: m, bias: layer.bDown, pool: pool, kernel: kernel)
                addLayerNorm(rows: m, xg, add: proj, weight: layer.outNormWeight, bias: layer.outNormBias, n: d,
                             eps: c.layerNormEps, pool: pool)
            }
        }
    }

    public func tokenLogits(hidden: UnsafePointer<Float>, count n: Int, logits: UnsafeMutablePointer<Float>,
                            pool: ThreadPool) throws {
        guard let head = maskedLMHead else {
            throw LoomError.unsupported("'\(weights.path)' has no masked-LM head (cls.predictions.*)")
        }
        guard n > 0 else { return }
        let d = config.hiddenSize
        let ws = Workspace()
        let t = ws.buffer("mlm", n * d)
        matmul(head.transform, hidden, t, n: n, bias: head.transformBias, pool: pool)
        geluErf(t, n * d, pool: pool)
        addLayerNorm(rows: n, t, add: nil, weight: head.normWeight, bias: head.normBias, n: d, eps: config.layerNormEps, pool: pool)
        matmul(head.decoder, t, logits, n: n, bias: head.decoderBias, pool: pool)
    }
}
