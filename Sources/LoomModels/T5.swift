import LoomCore
import LoomFormats
import LoomKernels
import LoomTokenizers

/// Hyper-parameters of a T5 encoder-decoder (HF `T5ForConditionalGeneration` config.json, or GGUF `t5.*`).
public struct T5Config: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var modelDim: Int                // d (d_model)
    public var headDim: Int                 // dkv (d_kv): width of one attention head
    public var feedForwardDim: Int          // f (d_ff)
    public var encoderLayerCount: Int
    public var decoderLayerCount: Int
    public var headCount: Int               // H
    public var relativeBucketCount: Int
    public var relativeMaxDistance: Int
    /// `feed_forward_proj` "relu" → (.relu, false); "gated-gelu" → (.geluTanh, true).
    public var activation: FeedForwardActivation
    public var gatedFeedForward: Bool
    public var layerNormEps: Float
    public var tieWordEmbeddings: Bool
    /// Scale the decoder output by d^-0.5 before the output projection: config.json
    /// `scale_decoder_outputs` (saved by transformers ≥ 5.17), else `tie_word_embeddings` (older configs).
    public var scaleDecoderOutput: Bool
    public var decoderStartTokenID: Int
    public var eosTokenIDs: [Int]

    /// H·dkv: width of the attention projections (need not equal d).
    public var attentionWidth: Int { headCount * headDim }

    static func fromHF(_ c: HFConfig) throws -> T5Config {
        let o = c.raw
        guard let d = o["d_model"]?.int, let f = o["d_ff"]?.int, let layers = o["num_layers"]?.int,
              let heads = o["num_heads"]?.int, let vocab = o["vocab_size"]?.int
        else {
            throw LoomError.format("T5 config.json lacks d_model, d_ff, num_layers, num_heads or vocab_size")
        }
        let (activation, gated) = try parseFeedForward(o["feed_forward_proj"]?.string ?? "relu")
        let tied = o["tie_word_embeddings"]?.bool ?? true
        return T5Config(
            vocabSize: vocab, modelDim: d, headDim: o["d_kv"]?.int ?? 64, feedForwardDim: f,
            encoderLayerCount: layers, decoderLayerCount: o["num_decoder_layers"]?.int ?? layers, headCount: heads,
            relativeBucketCount: o["relative_attention_num_buckets"]?.int ?? 32,
            relativeMaxDistance: o["relative_attention_max_distance"]?.int ?? 128,
            activation: activation, gatedFeedForward: gated,
            layerNormEps: Float(o["layer_norm_epsilon"]?.double ?? 1e-6),
            tieWordEmbeddings: tied, scaleDecoderOutput: o["scale_decoder_outputs"]?.bool ?? tied,
            decoderStartTokenID: o["decoder_start_token_id"]?.int ?? o["pad_token_id"]?.int ?? 0,
            eosTokenIDs: c.eosTokenIDs.isEmpty ? [1] : c.eosTokenIDs)
    }

    /// HF's reading of `feed_forward_proj`: "ACT" or "gated-ACT"; "gated-gelu" means the tanh GELU.
    static func parseFeedForward(_ proj: String) throws -> (FeedForwardActivation, Bool) {
        let parts = proj.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let gated = parts.count == 2 && parts[0] == "gated"
        guard parts.count == 1 || gated else {
            throw LoomError.format("T5 feed_forward_proj '\(proj)' is not 'ACT' or 'gated-ACT'")
        }
        if proj == "gated-gelu" { return (.geluTanh, true) }
        switch parts[parts.count - 1] {
        case "relu": return (.relu, gated)
        case "gelu": return (.geluExact, gated)
        case "gelu_new", "gelu_pytorch_tanh": return (.geluTanh, gated)
        case "silu", "swish": return (.silu, gated)
        default: throw LoomError.unsupported("T5 feed_forward_proj '\(proj)': activation not supported")
        }
    }

    /// llama.cpp's `t5` keys. Its converter stores neither the maximum distance (always 128 there), nor
    /// the activation (a model with ffn_gate tensors is gated-gelu, one without is relu), nor output
    /// scaling (llama.cpp's decoder graph applies none; neither does Loom for a GGUF).
    static func fromGGUF(_ g: GGUFFile, gated: Bool) throws -> T5Config {
        let arch = g.architecture ?? "t5"
        func int(_ key: String) throws -> Int {
            guard let v = g[arch + "." + key]?.int, v > 0 else {
                throw LoomError.format("GGUF metadata '\(arch).\(key)' is missing or not a positive integer")
            }
            return v
        }
        let d = try int("embedding_length")
        let heads = try int("attention.head_count")
        let layers = try int("block_count")
        let vocab = g.tensor(named: "token_embd.weight")?.dims.last ?? 0
        return T5Config(
            vocabSize: vocab, modelDim: d, headDim: g[arch + ".attention.key_length"]?.int ?? d / max(heads, 1),
            feedForwardDim: try int("feed_forward_length"), encoderLayerCount: layers,
            decoderLayerCount: g[arch + ".decoder_block_count"]?.int ?? layers, headCount: heads,
            relativeBucketCount: g[arch + ".attention.relative_buckets_count"]?.int ?? 32, relativeMaxDistance: 128,
            activation: gated ? .geluTanh : .relu, gatedFeedForward: gated,
            layerNormEps: Float(g[arch + ".attention.layer_norm_rms_epsilon"]?.double ?? 1e-6),
            tieWordEmbeddings: g.tensor(named: "output.weight") == nil,
            scaleDecoderOutput: false,
            decoderStartTokenID: g[arch + ".decoder_start_token_id"]?.int ?? g["tokenizer.ggml.padding_token_id"]?.int ?? 0,
            eosTokenIDs: [g["tokenizer.ggml.eos_token_id"]?.int ?? 1])
    }

    func validate() throws {
        let positive = [vocabSize, modelDim, headDim, feedForwardDim, encoderLayerCount, decoderLayerCount, headCount,
                        relativeBucketCount, relativeMaxDistance]
        guard positive.allSatisfy({ $0 > 0 }), vocabSize <= 1 << 22, modelDim <= 1 << 16, headDim <= 1 << 12,
              headCount <= 1024, attentionWidth <= 1 << 16, feedForwardDim <= 1 << 18,
              encoderLayerCount <= 1024, decoderLayerCount <= 1024, relativeBucketCount <= 1 << 16,
              relativeMaxDistance <= 1 << 24, (0..<vocabSize).contains(decoderStartTokenID),
              layerNormEps.isFinite, layerNormEps >= 0
        else {
            throw LoomError.format("inconsistent T5 hyper-parameters: \(self)")
        }
    }
}

/// Q, K, V and output projections of one attention sub-layer (no biases in T5).
struct T5AttentionWeights: @unchecked Sendable {
    let q: WeightMatrix        // [d, H·dkv]
    let k: WeightMatrix        // [d, H·dkv]
    let v: WeightMatrix        // [d, H·dkv]
    let o: WeightMatrix        // [H·dkv, d]
}

/// The feed-forward sub-layer: down(act(gate·x) ⊙ up·x) when gated, down(act(up·x)) otherwise.
struct T5FeedForwardWeights: @unchecked Sendable {
    let norm: [Float]          // [d]
    let gate: WeightMatrix?    // [d, f]  HF wi_0 (gated only)
    let up: WeightMatrix       // [d, f]  HF wi_1 (gated) or wi
    let down: WeightMatrix     // [f, d]  HF wo
}

struct T5EncoderLayer: @unchecked Sendable {
    let selfAttentionNorm: [Float]       // [d]
    let selfAttention: T5AttentionWeights
    let feedForward: T5FeedForwardWeights
}

struct T5DecoderLayer: @unchecked Sendable {
    let selfAttentionNorm: [Float]       // [d]
    let selfAttention: T5AttentionWeights
    let crossAttentionNorm: [Float]      // [d]
    let crossAttention: T5AttentionWeights
    let feedForward: T5FeedForwardWeights
}

/// The encoder's output for one input: `count` rows of `width` (= d) floats, row-major.
public struct T5EncoderStates: Sendable {
    public let count: Int
    public let width: Int
    public let values: [Float]
}

/// A decoder's per-sequence state: the self-attention keys/values of the positions decoded so far
/// (grows per step) and the cross-attention keys/values of the encoder states (computed once).
/// Belongs to the model that made it; one thread at a time.
public final class T5DecoderState: @unchecked Sendable {
    /// The model whose shapes the buffers have (kept alive with them).
    let owner: T5Model
    public let encoderLength: Int
    /// Positions decoded so far.
    public private(set) var count = 0
    var selfKeys: [[Float]]               // per layer [count × H·dkv]
    var selfValues: [[Float]]
    let crossKeys: [[Float]]              // per layer [encoderLength × H·dkv]
    let crossValues: [[Float]]

    init(owner: T5Model, encoderLength: Int, layers: Int, crossKeys: [[Float]], crossValues: [[Float]]) {
        self.owner = owner
        self.encoderLength = encoderLength
        selfKeys = Array(repeating: [], count: layers)
        selfValues = Array(repeating: [], count: layers)
        self.crossKeys = crossKeys
        self.crossValues = crossValues
    }

    func append(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, count n: Int) {
        selfKeys[layer].append(contentsOf: UnsafeBufferPointer(start: keys, count: n))
        selfValues[layer].append(contentsOf: UnsafeBufferPointer(start: values, count: n))
    }

    fileprivate func advance(by n: Int) { count += n }

    /// An independent copy (a beam forked from this one); the cross-attention buffers are shared.
    public func copy() -> T5DecoderState {
        let c = T5DecoderState(owner: owner, encoderLength: encoderLength, layers: selfKeys.count,
                               crossKeys: crossKeys, crossValues: crossValues)
        c.selfKeys = selfKeys
        c.selfValues = selfValues
        c.count = count
        return c
    }
}

/// T5 (HF `T5ForConditionalGeneration`): an encoder and a decoder of pre-norm blocks with T5's RMS
/// LayerNorm (no mean, no bias), unscaled dot-product attention (T5 folds 1/√dkv into its weights),
/// relative position biases learned by the first block of each stack and shared by the others
/// (bidirectional buckets in the encoder, causal ones in the decoder), cross-attention from the decoder
/// to the encoder states, and a ReLU or gated-GELU feed-forward. Immutable once loaded: every call
/// takes its scratch memory with it, so one model serves any number of threads.
public final class T5Model: @unchecked Sendable {
    public let config: T5Config
    let tokenEmbedding: WeightMatrix           // [d, vocab] (HF shared.weight)
    let encoderLayers: [T5EncoderLayer]
    let encoderRelativeBias: [Float]           // [buckets × H] (HF [buckets, H])
    let encoderFinalNorm: [Float]              // [d]
    let decoderLayers: [T5DecoderLayer]
    let decoderRelativeBias: [Float]           // [buckets × H]
    let decoderFinalNorm: [Float]              // [d]
    let output: WeightMatrix                   // [d, vocab] (the embedding when tied)
    let encoderPositions: T5RelativePosition
    let decoderPositions: T5RelativePosition
    /// Keeps the mapped files alive as long as the weights are used.
    let weights: WeightSource

    /// Longest encoder input or decoder sequence accepted (bounds the attention scratch).
    public static let maxSequenceLength = 1 << 16

    public var vocabSize: Int { config.vocabSize }

    public static func load(weights: WeightSource) throws -> T5Model {
        let config = try weights.config(
            gguf: { try T5Config.fromGGUF($0, gated: $0.tensor(named: "enc.blk.0.ffn_gate.weight") != nil) },
            hf: T5Config.fromHF)
        try config.validate()
        return try T5Model(weights: weights, config: config)
    }

    init(weights w: WeightSource, config c: T5Config) throws {
        self.weights = w
        self.config = c
        let names = T5TensorNames(source: w, gated: c.gatedFeedForward)
        let d = c.modelDim, a = c.attentionWidth, f = c.feedForwardDim, H = c.headCount
        tokenEmbedding = try names.required("token_embd.weight", dims: [d, c.vocabSize]).matrix()
        if c.tieWordEmbeddings {
            output = tokenEmbedding
        } else {
            output = try names.required("output.weight", dims: [d, c.vocabSize]).matrix()
        }

        func attention(_ p: String) throws -> T5AttentionWeights {
            T5AttentionWeights(q: try names.required(p + "q.weight", dims: [d, a]).matrix(),
                               k: try names.required(p + "k.weight", dims: [d, a]).matrix(),
                               v: try names.required(p + "v.weight", dims: [d, a]).matrix(),
                               o: try names.required(p + "o.weight", dims: [a, d]).matrix())
        }
        func feedForward(_ p: String) throws -> T5FeedForwardWeights {
            T5FeedForwardWeights(
                norm: try names.required(p + "ffn_norm.weight", dims: [d]).floats(),
                gate: c.gatedFeedForward ? try names.required(p + "ffn_gate.weight", dims: [d, f]).matrix() : nil,
                up: try names.required(p + "ffn_up.weight", dims: [d, f]).matrix(),
                down: try names.required(p + "ffn_down.weight", dims: [f, d]).matrix())
        }

        let biasDims = [H, c.relativeBucketCount]
        encoderRelativeBias = try names.required("enc.blk.0.attn_rel_b.weight", dims: biasDims).floats()
        decoderRelativeBias = try names.required("dec.blk.0.attn_rel_b.weight", dims: biasDims).floats()
        encoderFinalNorm = try names.required("enc.output_norm.weight", dims: [d]).floats()
        decoderFinalNorm = try names.required("dec.output_norm.weight", dims: [d]).floats()
        encoderLayers = try (0..<c.encoderLayerCount).map { i in
            let p = "enc.blk.\(i)."
            return T5EncoderLayer(selfAttentionNorm: try names.required(p + "attn_norm.weight", dims: [d]).floats(),
                                  selfAttention: try attention(p + "attn_"), feedForward: try feedForward(p))
        }
        decoderLayers = try (0..<c.decoderLayerCount).map { i in
            let p = "dec.blk.\(i)."
            return T5DecoderLayer(selfAttentionNorm: try names.required(p + "attn_norm.weight", dims: [d]).floats(),
                                  selfAttention: try attention(p + "attn_"),
                                  crossAttentionNorm: try names.required(p + "cross_attn_norm.weight", dims: [d]).floats(),
                                  crossAttention: try attention(p + "cross_attn_"), feedForward: try feedForward(p))
        }
        encoderPositions = T5RelativePosition(bucketCount: c.relativeBucketCount, maxDistance: c.relativeMaxDistance,
                                              bidirectional: true)
        decoderPositions = T5RelativePosition(bucketCount: c.relativeBucketCount, maxDistance: c.relativeMaxDistance,
                                              bidirectional: false)
    }

    // MARK: - Encoder

    /// The encoder's last hidden states (after its final norm) for `ids`.
    public func encode(_ ids: [Int32], pool: ThreadPool? = nil) throws -> T5EncoderStates {
        let c = config
        let n = ids.count
        guard n > 0, n <= Self.maxSequenceLength else {
            throw LoomError.invalidArgument("T5 input of \(n) tokens (1...\(Self.maxSequenceLength) accepted)")
        }
        let pool = pool ?? ThreadPool(threadCount: 1)
        let ws = Workspace()
        let d = c.modelDim, a = c.attentionWidth
        let x = ws.buffer("x", n * d)
        let xn = ws.buffer("xn", n * d)
        let q = ws.buffer("q", n * a), k = ws.buffer("k", n * a), v = ws.buffer("v", n * a)
        let att = ws.buffer("att", n * a)
        let proj = ws.buffer("proj", n * d)
        try embed(ids, into: x)

        let bias = encoderPositions.biasTable(encoderRelativeBias, heads: c.headCount, minRelative: -(n - 1), maxRelative: n - 1)
        for layer in encoderLayers {
            rmsNorm(rows: n, x, layer.selfAttentionNorm, xn, n: d, eps: c.layerNormEps, pool: pool)
            let w = layer.selfAttention
            matmul(w.q, xn, q, n: n, pool: pool)
            matmul(w.k, xn, k, n: n, pool: pool)
            matmul(w.v, xn, v, n: n, pool: pool)
            bias.withUnsafeBufferPointer { b in
                attend(q: q, queries: n, firstPosition: 0, keys: k, values: v, keyCount: n, causal: false,
                       bias: b.baseAddress, biasMinRelative: -(n - 1), biasSpan: 2 * n - 1, out: att, pool: pool)
            }
            matmul(w.o, att, proj, n: n, pool: pool)
            addInPlace(x, proj, n * d)
            feedForward(layer.feedForward, x, rows: n, workspace: ws, pool: pool)
        }
        var out = [Float](repeating: 0, count: n * d)
        out.withUnsafeMutableBufferPointer { o in
            rmsNorm(rows: n, x, encoderFinalNorm, o.baseAddress!, n: d, eps: c.layerNormEps, pool: pool)
        }
        return T5EncoderStates(count: n, width: d, values: out)
    }

    // MARK: - Decoder

    /// A fresh decoder state over `encoderStates`: the cross-attention keys/values of every layer.
    public func makeDecoderState(encoderStates e: T5EncoderStates, pool: ThreadPool? = nil) throws -> T5DecoderState {
        let d = config.modelDim, a = config.attentionWidth
        guard e.width == d, e.count > 0, e.count <= Self.maxSequenceLength, e.values.count == e.count * d else {
            throw LoomError.invalidArgument("encoder states of \(e.count)×\(e.width) do not fit this T5 model (width \(d))")
        }
        let pool = pool ?? ThreadPool(threadCount: 1)
        var keys: [[Float]] = [], values: [[Float]] = []
        for layer in decoderLayers {
            var k = [Float](repeating: 0, count: e.count * a), v = [Float](repeating: 0, count: e.count * a)
            e.values.withUnsafeBufferPointer { x in
                k.withUnsafeMutableBufferPointer { matmul(layer.crossAttention.k, x.baseAddress!, $0.baseAddress!, n: e.count, pool: pool) }
                v.withUnsafeMutableBufferPointer { matmul(layer.crossAttention.v, x.baseAddress!, $0.baseAddress!, n: e.count, pool: pool) }
            }
            keys.append(k)
            values.append(v)
        }
        return T5DecoderState(owner: self, encoderLength: e.count, layers: decoderLayers.count, crossKeys: keys, crossValues: values)
    }

    /// Runs `tokens` as the next decoder positions of `state` (appending their self-attention
    /// keys/values) and returns their logits, tokens.count × vocabSize.
    public func decode(_ tokens: [Int32], state: T5DecoderState, pool: ThreadPool? = nil) throws -> [Float] {
        let c = config
        let n = tokens.count
        let start = state.count
        guard state.owner === self else {
            throw LoomError.invalidArgument("this T5 decoder state was made by another model")
        }
        guard n > 0, start + n <= Self.maxSequenceLength else {
            throw LoomError.invalidArgument("T5 decode of \(n) tokens after \(start) (1...\(Self.maxSequenceLength) positions in all)")
        }
        let pool = pool ?? ThreadPool(threadCount: 1)
        let ws = Workspace()
        let d = c.modelDim, a = c.attentionWidth, total = start + n
        let x = ws.buffer("x", n * d)
        let xn = ws.buffer("xn", n * d)
        let q = ws.buffer("q", n * a), k = ws.buffer("k", n * a), v = ws.buffer("v", n * a)
        let att = ws.buffer("att", n * a)
        let proj = ws.buffer("proj", n * d)
        try embed(tokens, into: x)

        // Queries at start..<total see keys 0...their position: relative positions -(total-1)...0.
        let bias = decoderPositions.biasTable(decoderRelativeBias, heads: c.headCount, minRelative: -(total - 1), maxRelative: 0)
        for (l, layer) in decoderLayers.enumerated() {
            rmsNorm(rows: n, x, layer.selfAttentionNorm, xn, n: d, eps: c.layerNormEps, pool: pool)
            let w = layer.selfAttention
            matmul(w.q, xn, q, n: n, pool: pool)
            matmul(w.k, xn, k, n: n, pool: pool)
            matmul(w.v, xn, v, n: n, pool: pool)
            state.append(layer: l, keys: k, values: v, count: n * a)
            state.selfKeys[l].withUnsafeBufferPointer { keys in
                state.selfValues[l].withUnsafeBufferPointer { values in
                    bias.withUnsafeBufferPointer { b in
                        attend(q: q, queries: n, firstPosition: start, keys: keys.baseAddress!, values: values.baseAddress!,
                               keyCount: total, causal: true, bias: b.baseAddress, biasMinRelative: -(total - 1),
                               biasSpan: total, out: att, pool: pool)
                    }
                }
            }
            matmul(w.o, att, proj, n: n, pool: pool)
            addInPlace(x, proj, n * d)

            rmsNorm(rows: n, x, layer.crossAttentionNorm, xn, n: d, eps: c.layerNormEps, pool: pool)
            let cw = layer.crossAttention
            matmul(cw.q, xn, q, n: n, pool: pool)
            state.crossKeys[l].withUnsafeBufferPointer { keys in
                state.crossValues[l].withUnsafeBufferPointer { values in
                    attend(q: q, queries: n, firstPosition: 0, keys: keys.baseAddress!, values: values.baseAddress!,
                           keyCount: state.encoderLength, causal: false, bias: nil, biasMinRelative: 0, biasSpan: 0,
                           out: att, pool: pool)
                }
            }
            matmul(cw.o, att, proj, n: n, pool: pool)
            addInPlace(x, proj, n * d)
            feedForward(layer.feedForward, x, rows: n, workspace: ws, pool: pool)
        }
        state.advance(by: n)

        rmsNorm(rows: n, x, decoderFinalNorm, xn, n: d, eps: c.layerNormEps, pool: pool)
        if c.scaleDecoderOutput {
            let scale = 1 / Float(d).squareRoot()
            for i in 0..<(n * d) { xn[i] *= scale }
        }
        var logits = [Float](repeating: 0, count: n * c.vocabSize)
        logits.withUnsafeMutableBufferPointer { matmul(output, xn, $0.baseAddress!, n: n, pool: pool) }
        return logits
    }

    /// Logits (decoderIDs.count × vocabSize) of the decoder run on `decoderIDs` (which start with the
    /// decoder start token) over `encoderStates`.
    public func decoderLogits(_ encoderStates: T5EncoderStates, _ decoderIDs: [Int32], pool: ThreadPool? = nil) throws -> [Float] {
        let pool = pool ?? ThreadPool(threadCount: 1)
        let state = try makeDecoderState(encoderStates: encoderStates, pool: pool)
        return try decode(decoderIDs, state: state, pool: pool)
    }

    /// Greedy generation as HF `generate(num_beams=1, do_sample=False)`: the decoder start token, then
    /// up to `maxNewTokens` argmax tokens, ending early after an end-of-sequence token (which is kept).
    public func generateGreedy(_ ids: [Int32], maxNewTokens: Int, pool: ThreadPool? = nil) throws -> [Int32] {
        guard maxNewTokens >= 0, maxNewTokens < Self.maxSequenceLength else {
            throw LoomError.invalidArgument("maxNewTokens \(maxNewTokens) is outside 0..<\(Self.maxSequenceLength)")
        }
        let pool = pool ?? ThreadPool(threadCount: 1)
        let encoded = try encode(ids, pool: pool)
        let state = try makeDecoderState(encoderStates: encoded, pool: pool)
        var out: [Int32] = [Int32(config.decoderStartTokenID)]
        for _ in 0..<maxNewTokens {
            let logits = try decode([out[out.count - 1]], state: state, pool: pool)
            var best = 0
            for (j, value) in logits.enumerated() where value > logits[best] { best = j }
            out.append(Int32(best))
            if config.eosTokenIDs.contains(best) { break }
        }
        return out
    }

    // MARK: - Shared pieces

    private func embed(_ ids: [Int32], into x: UnsafeMutablePointer<Float>) throws {
        let d = config.modelDim
        for (i, id) in ids.enumerated() {
            let t = Int(id)
            guard t >= 0, t < config.vocabSize else {
                throw LoomError.outOfRange("token id \(t) is outside 0..<\(config.vocabSize)")
            }
            tokenEmbedding.dequantizeRow(t, into: x + i * d)
        }
    }

    /// x += down(act(gate·norm(x)) ⊙ up·norm(x)) (or down(act(up·norm(x))) when not gated).
    private func feedForward(_ w: T5FeedForwardWeights, _ x: UnsafeMutablePointer<Float>, rows n: Int,
                             workspace ws: Workspace, pool: ThreadPool) {
        let d = config.modelDim, f = config.feedForwardDim
        let xn = ws.buffer("ffn.xn", n * d)
        let up = ws.buffer("ffn.up", n * f)
        let proj = ws.buffer("ffn.proj", n * d)
        rmsNorm(rows: n, x, w.norm, xn, n: d, eps: config.layerNormEps, pool: pool)
        matmul(w.up, xn, up, n: n, pool: pool)
        if let gateWeights = w.gate {
            let gate = ws.buffer("ffn.gate", n * f)
            matmul(gateWeights, xn, gate, n: n, pool: pool)
            gatedActivation(config.activation, gate, up, n * f, pool: pool)
            matmul(w.down, gate, proj, n: n, pool: pool)
        } else {
            activateInPlace(config.activation, up, n * f, pool: pool)
            matmul(w.down, up, proj, n: n, pool: pool)
        }
        addInPlace(x, proj, n * d)
    }

    /// Multi-head attention without 1/√dkv scaling: query i (at position firstPosition + i) of head h
    /// attends to keys 0..<keyCount (only those at or before its position when `causal`) with scores
    /// q·k + bias[h, key − position]. q/out: [queries × H·dkv]; keys/values: [keyCount × H·dkv].
    private func attend(q: UnsafePointer<Float>, queries n: Int, firstPosition: Int, keys: UnsafePointer<Float>,
                        values: UnsafePointer<Float>, keyCount: Int, causal: Bool, bias: UnsafePointer<Float>?,
                        biasMinRelative: Int, biasSpan: Int, out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let H = config.headCount, hd = config.headDim, a = config.attentionWidth
        pool.parallelFor(H * n) { rows in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: keyCount)
            defer { scores.deallocate() }
            for r in rows {
                let h = r / n, i = r % n
                let position = firstPosition + i
                let visible = causal ? min(keyCount, position + 1) : keyCount
                let qi = q + i * a + h * hd
                for j in 0..<visible {
                    var s = dot(qi, keys + j * a + h * hd, hd)
                    if let bias { s += bias[h * biasSpan + (j - position - biasMinRelative)] }
                    scores[j] = s
                }
                softmaxInPlace(scores, visible)
                let o = out + i * a + h * hd
                o.update(repeating: 0, count: hd)
                for j in 0..<visible { axpy(scores[j], values + j * a + h * hd, o, hd) }
            }
        }
    }
}

/// T5's weights by their llama.cpp (GGUF) names, found in an HF folder under transformers' names.
struct T5TensorNames {
    let source: WeightSource
    let gated: Bool

    /// "enc.blk.3.attn_q.weight" -> "encoder.block.3.layer.0.SelfAttention.q.weight". The up projection
    /// is HF `wi_1` in gated feed-forwards and `wi` otherwise.
    static func hfName(_ gguf: String, gated: Bool) -> String? {
        switch gguf {
        case "token_embd.weight": return "shared.weight"
        case "output.weight": return "lm_head.weight"
        case "enc.output_norm.weight": return "encoder.final_layer_norm.weight"
        case "dec.output_norm.weight": return "decoder.final_layer_norm.weight"
        default: break
        }
        let parts = gguf.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[1] == "blk", let layer = Int(parts[2]), parts[3].hasSuffix(".weight") else { return nil }
        let stack: String, ffnLayer: Int
        switch parts[0] {
        case "enc": (stack, ffnLayer) = ("encoder", 1)
        case "dec": (stack, ffnLayer) = ("decoder", 2)
        default: return nil
        }
        let block = "\(stack).block.\(layer).layer."
        let ffn = block + "\(ffnLayer).DenseReluDense."
        switch String(parts[3].dropLast(".weight".count)) {
        case "attn_norm": return block + "0.layer_norm.weight"
        case "attn_q": return block + "0.SelfAttention.q.weight"
        case "attn_k": return block + "0.SelfAttention.k.weight"
        case "attn_v": return block + "0.SelfAttention.v.weight"
        case "attn_o": return block + "0.SelfAttention.o.weight"
        case "attn_rel_b": return block + "0.SelfAttention.relative_attention_bias.weight"
        case "cross_attn_norm" where parts[0] == "dec": return block + "1.layer_norm.weight"
        case "cross_attn_q" where parts[0] == "dec": return block + "1.EncDecAttention.q.weight"
        case "cross_attn_k" where parts[0] == "dec": return block + "1.EncDecAttention.k.weight"
        case "cross_attn_v" where parts[0] == "dec": return block + "1.EncDecAttention.v.weight"
        case "cross_attn_o" where parts[0] == "dec": return block + "1.EncDecAttention.o.weight"
        case "ffn_norm": return block + "\(ffnLayer).layer_norm.weight"
        case "ffn_gate": return ffn + "wi_0.weight"
        case "ffn_up": return ffn + (gated ? "wi_1.weight" : "wi.weight")
        case "ffn_down": return ffn + "wo.weight"
        default: return nil
        }
    }

    /// The tensor `gguf` (GGUF dimension order `dims`), or a format error naming it.
    func required(_ gguf: String, dims: [Int]) throws -> WeightTensor {
        switch source.source {
        case .gguf:
            return try source.required(gguf, dims: dims)
        case .hf(let folder):
            let name = Self.hfName(gguf, gated: gated)
            guard let hf = name, let (file, t) = folder.tensor(named: hf) else {
                throw LoomError.format("'\(source.path)' has no tensor '\(name ?? gguf)'")
            }
            guard let type = t.type, let p = file.data(of: t) else {
                throw LoomError.unsupported("'\(hf)' has dtype \(t.dtypeName); Loom reads F32, F16 and BF16")
            }
            let tensor = WeightTensor(name: hf, type: type, dims: t.shape.reversed(), data: p, file: file.file)
            guard tensor.dims == dims else {
                throw LoomError.format("'\(hf)' has shape \(tensor.dims), expected \(dims)")
            }
            return tensor
        }
    }
}

/// Generation with a model's encoder-decoder network (`Model.seq2seq`).
public struct Seq2SeqGeneration: Sendable, Equatable {
    /// The generated decoder tokens, without the decoder start token and without the end-of-sequence token.
    public var tokens: [Int32]
    /// True when generation stopped at an end-of-sequence token, false when it reached maxNewTokens.
    public var endedAtEOS: Bool
}

extension Model {
    /// Greedy generation (as HF `generate(do_sample=False, num_beams=1)`) from encoder input ids: up to
    /// `maxNewTokens` tokens, stopping at an end-of-sequence token. Throws `unsupported` for a model
    /// without an encoder-decoder network.
    public func seq2seqGenerate(ids: [Int32], maxNewTokens: Int, threadCount: Int = 1) throws -> Seq2SeqGeneration {
        guard let t5 = seq2seq else {
            throw LoomError.unsupported("'\(path)' is not an encoder-decoder model with weights (architecture '\(architecture ?? "?")')")
        }
        guard (1...512).contains(threadCount) else { throw LoomError.invalidArgument("threadCount \(threadCount) is outside 1...512") }
        let all = try t5.generateGreedy(ids, maxNewTokens: maxNewTokens, pool: ThreadPool(threadCount: threadCount))
        var tokens = Array(all.dropFirst())          // the decoder start token
        let endedAtEOS = tokens.last.map { t5.config.eosTokenIDs.contains(Int($0)) } ?? false
        if endedAtEOS { tokens.removeLast() }
        return Seq2SeqGeneration(tokens: tokens, endedAtEOS: endedAtEOS)
    }

    /// Greedy generation from text, tokenized with the model's tokenizer (`</s>` appended, special
    /// tokens such as `<extra_id_0>` recognised).
    public func seq2seqGenerate(text: String, maxNewTokens: Int, threadCount: Int = 1) throws -> Seq2SeqGeneration {
        let ids = try tokenizer().tokenize(text, addSpecial: true, parseSpecial: true)
        return try seq2seqGenerate(ids: ids, maxNewTokens: maxNewTokens, threadCount: threadCount)
    }
}
