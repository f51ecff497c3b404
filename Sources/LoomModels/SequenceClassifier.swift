import LoomCore
import LoomFormats
import LoomKernels
import LoomTokenizers
#if canImport(Glibc)
import Glibc
#endif

/// A sequence-classification head (HF `*ForSequenceClassification`): one vector of `labelCount`
/// logits per text, read from the network's last hidden states. A reward model is such a head with
/// one label: its logit is the reward.
///
/// Two readouts, as transformers computes them:
///  - `lastToken` (LlamaForSequenceClassification, MistralForSequenceClassification): `score.weight`
///    [labels × hidden], no bias, applied to the final hidden state (after the output norm) of the last
///    token whose id is not `pad_token_id` (the last token when there is no pad id; the first when every
///    token is the pad id — HF's argmax over an all-false mask). Tokens after it cannot change it
///    (causal attention), so they are not computed.
///  - `pooledFirstToken` (BertForSequenceClassification): the pooler (`bert.pooler.dense`, tanh) on the
///    first token ([CLS]), then `classifier.weight` [labels × hidden] + `classifier.bias`.
/// Immutable after loading: shared by any number of threads (each call makes its own scratch).
public final class SequenceClassificationHead: @unchecked Sendable {
    public enum Readout: Sendable, Equatable {
        case lastToken(padID: Int32?)
        case pooledFirstToken
    }

    public let readout: Readout
    /// config.json `id2label` in label order ("LABEL_i" where it names none).
    public let labels: [String]
    /// config.json `problem_type` ("regression", "single_label_classification", ...), when given.
    public let problemType: String?
    let pooler: (weight: WeightMatrix, bias: [Float])?   // [d, d], [d]
    let weight: WeightMatrix                            // [d, labels]
    let bias: [Float]?                                  // [labels]
    /// Keeps the mapped files alive as long as the weights are used.
    let weights: WeightSource

    public var labelCount: Int { labels.count }

    init(readout: Readout, labels: [String], problemType: String?, pooler: (WeightMatrix, [Float])?,
         weight: WeightMatrix, bias: [Float]?, weights: WeightSource) {
        self.readout = readout
        self.labels = labels
        self.problemType = problemType
        self.pooler = pooler.map { (weight: $0.0, bias: $0.1) }
        self.weight = weight
        self.bias = bias
        self.weights = weights
    }

    /// The number of labels a head matrix has (its HF shape is [labels, hidden]); HF folders only.
    private static func labelRows(_ w: WeightSource, names: [String], hidden: Int) throws -> Int {
        guard case .hf(let folder) = w.source else {
            throw LoomError.unsupported("'\(w.path)': sequence-classification heads load from HF folders only")
        }
        for name in names {
            guard let (_, t) = folder.tensor(named: name) else { continue }
            guard t.shape.count == 2, t.shape[1] == hidden, t.shape[0] >= 1, t.shape[0] <= 1 << 16 else {
                throw LoomError.format("'\(name)' has shape \(t.shape), expected [labels, \(hidden)]")
            }
            return t.shape[0]
        }
        throw LoomError.format("'\(w.path)' has no tensor '\(names.joined(separator: "' or '"))' (the classification head)")
    }

    /// `id2label` of config.json, checked against the head's rows.
    private static func labels(_ w: WeightSource, count: Int) throws -> (labels: [String], problemType: String?) {
        var labels = (0..<count).map { "LABEL_\($0)" }
        guard case .hf(let folder) = w.source, let raw = folder.config?.raw else { return (labels, nil) }
        if let map = raw["id2label"]?.object {
            for key in map.keys {
                guard let i = Int(key), i >= 0, i < count else {
                    throw LoomError.format("'\(w.path)/config.json': id2label key '\(key)' is outside 0..<\(count) (the head has \(count) labels)")
                }
                if let name = map[key]?.string { labels[i] = name }
            }
        }
        return (labels, raw["problem_type"]?.string)
    }

    /// LlamaForSequenceClassification & co.: `score.weight` at the last non-pad token.
    static func loadLastToken(_ w: WeightSource, hiddenSize d: Int) throws -> SequenceClassificationHead {
        let n = try labelRows(w, names: ["score.weight"], hidden: d)
        let (labels, problemType) = try labels(w, count: n)
        let weight = try w.requiredTensor(gguf: nil, hf: ["score.weight"], dims: [d, n]).matrix()
        let bias = try w.tensor(gguf: nil, hf: ["score.bias"], dims: [n])?.floats()
        var pad: Int32? = nil
        if case .hf(let folder) = w.source, let p = folder.config?.raw["pad_token_id"]?.int {
            guard p >= 0, p <= Int(Int32.max) else { throw LoomError.format("'\(w.path)/config.json': pad_token_id \(p) is out of range") }
            pad = Int32(p)
        }
        return SequenceClassificationHead(readout: .lastToken(padID: pad), labels: labels, problemType: problemType,
                                          pooler: nil, weight: weight, bias: bias, weights: w)
    }

    /// BertForSequenceClassification: pooler (dense + tanh on [CLS]) then `classifier`.
    static func loadPooled(_ w: WeightSource, hiddenSize d: Int) throws -> SequenceClassificationHead {
        let n = try labelRows(w, names: ["classifier.weight"], hidden: d)
        let (labels, problemType) = try labels(w, count: n)
        let poolerWeight = try w.requiredTensor(gguf: nil, hf: ["bert.pooler.dense.weight", "pooler.dense.weight"],
                                                dims: [d, d]).matrix()
        let poolerBias = try w.requiredTensor(gguf: nil, hf: ["bert.pooler.dense.bias", "pooler.dense.bias"],
                                              dims: [d]).floats()
        let weight = try w.requiredTensor(gguf: nil, hf: ["classifier.weight"], dims: [d, n]).matrix()
        let bias = try w.requiredTensor(gguf: nil, hf: ["classifier.bias"], dims: [n]).floats()
        return SequenceClassificationHead(readout: .pooledFirstToken, labels: labels, problemType: problemType,
                                          pooler: (poolerWeight, poolerBias), weight: weight, bias: bias, weights: w)
    }

    /// The row of `ids` the head reads (lastToken: the last non-pad token; pooled: 0).
    public func readoutIndex(_ ids: [Int32]) -> Int {
        switch readout {
        case .pooledFirstToken: return 0
        case .lastToken(let pad):
            guard let pad else { return max(ids.count - 1, 0) }
            return ids.lastIndex { $0 != pad } ?? 0
        }
    }

    /// Logits from hidden states (rows × hidden -> rows × labels).
    func apply(hidden: UnsafeMutablePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard rows > 0 else { return }
        var x = UnsafePointer(hidden)
        let d = weight.cols
        let pooled = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        defer { pooled.deallocate() }
        if let pooler {
            pooler.bias.withUnsafeBufferPointer { matmul(pooler.weight, x, pooled, n: rows, bias: $0.baseAddress, pool: pool) }
            for i in 0..<(rows * d) { pooled[i] = tanhf(pooled[i]) }
            x = UnsafePointer(pooled)
        }
        if let bias {
            bias.withUnsafeBufferPointer { matmul(weight, x, out, n: rows, bias: $0.baseAddress, pool: pool) }
        } else {
            matmul(weight, x, out, n: rows, pool: pool)
        }
    }
}

/// Where `Model.classify` gets its options.
public struct ClassifyParams: Sendable {
    /// Tokens per text after truncation (special tokens included); nil: the model's positions (BERT
    /// max_position_embeddings, llama the trained context length). Longer texts lose their end.
    public var maxLength: Int?
    /// Tokenize with the model's special tokens ([CLS]/[SEP], BOS as its tokenizer adds them), as
    /// transformers' tokenizer(text) does. Default true.
    public var addSpecial: Bool
    /// Parse special-token text ("<|im_start|>") in the texts as those tokens. Default false.
    public var parseSpecial: Bool
    /// Threads (the caller included).
    public var threads: Int

    public init(maxLength: Int? = nil, addSpecial: Bool = true, parseSpecial: Bool = false,
                threads: Int = ContextParams.defaultThreads) {
        self.maxLength = maxLength
        self.addSpecial = addSpecial
        self.parseSpecial = parseSpecial
        self.threads = threads
    }
}

extension Model {
    /// The sequence-classification head, or `unsupported` naming what the model is.
    public func requireClassifier() throws -> SequenceClassificationHead {
        guard let head = classifier else {
            throw LoomError.unsupported("'\(path)' has no sequence-classification head (config.json architectures \(hfArchitectures); supported: \(Architectures.sequenceClassification.keys.sorted().joined(separator: ", ")))")
        }
        return head
    }

    private var hfArchitectures: [String] {
        if case .hf(let f) = source { return f.config?.architectures ?? [] }
        return []
    }

    /// The token ids `classify(_:)` runs for each text.
    public func classificationIDs(_ texts: [String], params: ClassifyParams = ClassifyParams()) throws -> [[Int32]] {
        _ = try requireClassifier()
        let limit = network?.trainedContextLength ?? encoder?.maxSequenceLength ?? 512
        let maxLength = params.maxLength ?? limit
        guard maxLength >= 1 else { throw LoomError.invalidArgument("max length must be positive, got \(maxLength)") }
        guard params.threads >= 1, params.threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(params.threads)")
        }
        return try tokenizer().encodeBatch(texts, addSpecial: params.addSpecial, parseSpecial: params.parseSpecial,
                                           truncation: Truncation(maxLength: maxLength), threads: params.threads).ids
    }

    /// Logits of each text (texts.count rows of `labelCount`); see `SequenceClassificationHead`.
    public func classify(_ texts: [String], params: ClassifyParams = ClassifyParams()) throws -> [[Float]] {
        try classify(ids: try classificationIDs(texts, params: params), threads: params.threads)
    }

    /// Rewards of a reward model (a head with one label): one value per text.
    public func reward(_ texts: [String], params: ClassifyParams = ClassifyParams()) throws -> [Float] {
        let head = try requireClassifier()
        guard head.labelCount == 1 else {
            throw LoomError.unsupported("'\(path)' is a \(head.labelCount)-label classifier, not a reward model (one label); use classify")
        }
        return try classify(texts, params: params).map { $0[0] }
    }

    /// P(a preferred over b) under a reward model (Bradley–Terry: σ(r_a − r_b)), the two texts
    /// scored in one call with `params`.
    public func preferenceProbability(_ a: String, over b: String, params: ClassifyParams = ClassifyParams()) throws -> Float {
        let r = try reward([a, b], params: params)
        guard r.count == 2 else { throw LoomError.format("the reward model returned \(r.count) scores for 2 texts") }
        return LoomModels.preferenceProbability(r[0], r[1])
    }

    /// Logits of each row of token ids (any lengths ≥ 1; no padding is computed: each row is run alone).
    public func classify(ids rows: [[Int32]], threads: Int = ContextParams.defaultThreads) throws -> [[Float]] {
        let head = try requireClassifier()
        guard threads >= 1, threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(threads)")
        }
        for (i, r) in rows.enumerated() where r.isEmpty { throw LoomError.invalidArgument("row \(i) has no tokens") }
        guard !rows.isEmpty else { return [] }
        let pool = ThreadPool(threadCount: threads)
        var hidden: [Float]
        if let llama = network, head.readout != .pooledFirstToken {
            guard llama.supportsHiddenStateOutput else {
                throw LoomError.unsupported("'\(path)': architecture '\(architecture ?? "?")' gives no hidden states for a classification head")
            }
            hidden = try Self.lastTokenStates(llama, rows: rows.map { Array($0[...head.readoutIndex($0)]) }, pool: pool)
        } else if let encoder, head.readout == .pooledFirstToken {
            let d = encoder.hiddenSize
            hidden = [Float](repeating: 0, count: rows.count * d)
            // Encoded a few rows at a time; only each row's first state is kept.
            var start = 0
            while start < rows.count {
                let end = min(rows.count, start + 32)
                let out = try encoder.encode(Array(rows[start..<end]), pool: pool)
                for r in 0..<(end - start) {
                    let row = out.row(r)
                    for j in 0..<d { hidden[(start + r) * d + j] = row[row.startIndex + j] }
                }
                start = end
            }
        } else {
            throw LoomError.unsupported("'\(path)': the classification head does not fit the network")
        }
        let n = head.labelCount
        var logits = [Float](repeating: 0, count: rows.count * n)
        hidden.withUnsafeMutableBufferPointer { h in
            logits.withUnsafeMutableBufferPointer { l in
                guard let hb = h.baseAddress, let lb = l.baseAddress else { return }
                head.apply(hidden: hb, rows: rows.count, out: lb, pool: pool)
            }
        }
        return (0..<rows.count).map { Array(logits[($0 * n)..<(($0 + 1) * n)]) }
    }

    /// The final hidden state (after the output norm) of each row's last token: rows.count × hidden.
    /// Rows run together in forward passes of at most `batchTokens` tokens, each with its own KV cache.
    static func lastTokenStates(_ network: CausalLM, rows: [[Int32]], pool: ThreadPool,
                                batchTokens: Int = 512) throws -> [Float] {
        let d = network.hiddenSize
        for r in rows {
            guard r.count <= 1 << 16 else { throw LoomError.outOfRange("a row of \(r.count) tokens is longer than 65536") }
            for t in r where t < 0 || Int(t) >= network.vocabSize {
                throw LoomError.outOfRange("token id \(t) is outside 0..<\(network.vocabSize)")
            }
        }
        var out = [Float](repeating: 0, count: rows.count * d)
        let ws = network.makeWorkspace(batch: batchTokens, capacity: rows.map(\.count).max() ?? 1, threads: pool.activeThreads)
        var caches: [Int: KVCache] = [:]
        // Flattened rows: (row, position); consecutive rows of a batch form its runs.
        var rowOf: [Int] = [], tokens: [Int32] = [], positions: [Int32] = []
        for (r, ids) in rows.enumerated() {
            for (p, t) in ids.enumerated() {
                rowOf.append(r)
                tokens.append(t)
                positions.append(Int32(p))
            }
        }
        var done = 0
        while done < tokens.count {
            let end = min(tokens.count, done + batchTokens)
            var runs: [SequenceRun] = []
            var outputRows: [Int] = [], outputOf: [Int] = []
            var runStart = done
            for i in done..<end where i + 1 == end || rowOf[i + 1] != rowOf[i] {
                let r = rowOf[i]
                let cache: KVCache
                if let c = caches[r] {
                    cache = c
                } else {
                    cache = try KVCache(layers: network.layerCount, heads: network.kvHeads, headDim: network.headDim,
                                        capacity: rows[r].count, type: .f32)
                    caches[r] = cache
                }
                runs.append(SequenceRun(rows: (runStart - done)..<(i + 1 - done), cache: cache))
                if Int(positions[i]) == rows[r].count - 1 {
                    outputRows.append(i - done)
                    outputOf.append(r)
                }
                runStart = i + 1
            }
            var states = [Float](repeating: 0, count: max(1, outputRows.count * d))
            try tokens[done..<end].withUnsafeBufferPointer { tb in
                try positions[done..<end].withUnsafeBufferPointer { pb in
                    try states.withUnsafeMutableBufferPointer { sb in
                        var batch = ForwardBatch(tokens: tb, positions: pb, runs: runs, outputRows: outputRows)
                        batch.output = .hiddenStates
                        guard let base = sb.baseAddress else { return }
                        try network.forward(batch, logits: base, workspace: ws, pool: pool)
                    }
                }
            }
            for (j, r) in outputOf.enumerated() {
                for e in 0..<d { out[r * d + e] = states[j * d + e] }
                caches[r] = nil   // finished: release its cache
            }
            done = end
        }
        return out
    }
}

/// Bradley–Terry preference σ(r_a − r_b): the probability that the text with reward r_a is preferred
/// over the one with r_b (tanh form, as the Python package computes it: no exp to overflow).
public func preferenceProbability(_ rewardA: Float, _ rewardB: Float) -> Float {
    Float(0.5 * (1 + tanh(0.5 * (Double(rewardA) - Double(rewardB)))))
}
