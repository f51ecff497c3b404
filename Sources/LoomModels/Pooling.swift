import LoomCore
import LoomFormats
import LoomKernels
import LoomTokenizers

/// How token states become one embedding per text (sentence-transformers' Pooling + Normalize).
public struct Pooling: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Average of the row's token states.
        case mean
        /// The first token's state ([CLS]).
        case cls
        /// Element-wise maximum over the row's tokens.
        case max
        /// Sum divided by √(token count) (sentence-transformers `mean_sqrt_len_tokens`).
        case meanSqrtLength
        /// No pooling: every token's state, concatenated (length × hidden values per text).
        case none
    }

    public var mode: Mode
    /// L2-normalise each embedding (sentence-transformers' Normalize module).
    public var normalize: Bool

    public init(mode: Mode = .mean, normalize: Bool = false) {
        self.mode = mode
        self.normalize = normalize
    }

    /// A sentence-transformers folder's settings: modules.json (Pooling path, Normalize present) and
    /// the Pooling module's config.json. Nil when the folder has no modules.json.
    public static func sentenceTransformers(folder: String) throws -> Pooling? {
        let modulesPath = folder + "/modules.json"
        guard fileExists(modulesPath) else { return nil }
        let modules = try JSONParser.parse(try readWholeFile(modulesPath, limit: 1 << 20))
        guard let list = modules.array else { throw LoomError.format("'\(modulesPath)' is not a JSON list") }
        var pooling = Pooling(mode: .none, normalize: false)
        for module in list {
            let type = module["type"]?.string ?? ""
            if type.hasSuffix(".Normalize") { pooling.normalize = true }
            guard type.hasSuffix(".Pooling") else { continue }
            let sub = module["path"]?.string ?? ""
            // A relative folder inside this one, never elsewhere.
            guard !sub.hasPrefix("/"), !sub.split(separator: "/").contains("..") else {
                throw LoomError.format("'\(modulesPath)': pooling path '\(sub)' leaves the folder")
            }
            let configPath = folder + "/" + (sub.isEmpty ? "" : sub + "/") + "config.json"
            let config = try JSONParser.parse(try readWholeFile(configPath, limit: 1 << 20))
            pooling.mode = try mode(sentenceTransformersConfig: config, path: configPath)
        }
        return pooling
    }

    static func mode(sentenceTransformersConfig c: JSONValue, path: String) throws -> Mode {
        if let m = c["pooling_mode"]?.string {
            switch m {
            case "mean": return .mean
            case "cls": return .cls
            case "max": return .max
            case "mean_sqrt_len_tokens": return .meanSqrtLength
            default: throw LoomError.unsupported("'\(path)': pooling mode '\(m)' is not supported")
            }
        }
        if c["pooling_mode_cls_token"]?.bool == true { return .cls }
        if c["pooling_mode_mean_tokens"]?.bool == true { return .mean }
        if c["pooling_mode_max_tokens"]?.bool == true { return .max }
        if c["pooling_mode_mean_sqrt_len_tokens"]?.bool == true { return .meanSqrtLength }
        for key in ["pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"] where c[key]?.bool == true {
            throw LoomError.unsupported("'\(path)': \(key) is not supported")
        }
        return .mean
    }

    /// llama.cpp's GGUF `<arch>.pooling_type` (0 none, 1 mean, 2 cls); nil when absent or other.
    static func gguf(_ g: GGUFFile) -> Mode? {
        guard let arch = g.architecture, let t = g[arch + ".pooling_type"]?.int else { return nil }
        switch t {
        case 0: return Mode.none
        case 1: return .mean
        case 2: return .cls
        default: return nil
        }
    }

    /// One embedding per row of `output`.
    public func apply(_ output: EncoderOutput) -> [[Float]] {
        let d = output.hiddenSize
        return (0..<output.rowLengths.count).map { r in
            let states = output.row(r)
            let length = output.rowLengths[r]
            var e: [Float]
            switch mode {
            case .none: e = Array(states)
            case .cls: e = Array(states.prefix(d))
            case .mean, .meanSqrtLength:
                var sum = [Double](repeating: 0, count: d)
                for t in 0..<length { for j in 0..<d { sum[j] += Double(states[states.startIndex + t * d + j]) } }
                let divisor = mode == .mean ? Double(length) : Double(length).squareRoot()
                e = sum.map { Float($0 / divisor) }
            case .max:
                e = Array(states.prefix(d))
                for t in 1..<max(length, 1) { for j in 0..<d { e[j] = Swift.max(e[j], states[states.startIndex + t * d + j]) } }
            }
            if normalize {
                // torch.nn.functional.normalize: x / max(‖x‖, 1e-12).
                let norm = e.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                let inv = Float(1 / Swift.max(norm, 1e-12))
                for j in e.indices { e[j] *= inv }
            }
            return e
        }
    }
}

/// Text in, embeddings out: tokenizes (adding [CLS]/[SEP], truncating to `maxSequenceLength`),
/// encodes in batches and pools. Immutable, so one embedder may serve many threads.
public final class Embedder: @unchecked Sendable {
    public let model: Model
    public let encoder: EncoderModel
    public let tokenizer: Tokenizer
    public let pooling: Pooling
    /// Tokens per text after truncation (special tokens included).
    public let maxSequenceLength: Int

    /// `pooling` nil: the folder's sentence-transformers settings, else GGUF `pooling_type`, else mean
    /// without normalisation. `maxSequenceLength` nil: sentence_bert_config.json `max_seq_length`,
    /// else 512; never more than the model's positions.
    public init(model: Model, pooling: Pooling? = nil, maxSequenceLength: Int? = nil) throws {
        guard let encoder = model.encoder else {
            throw LoomError.invalidArgument("'\(model.path)' is not an encoder model with weights loaded (architecture '\(model.architecture ?? "?")')")
        }
        self.model = model
        self.encoder = encoder
        tokenizer = try model.tokenizer()
        var configured: Int? = nil
        switch model.source {
        case .hf:
            self.pooling = try pooling ?? Pooling.sentenceTransformers(folder: model.path) ?? Pooling()
            let stConfig = model.path + "/sentence_bert_config.json"
            if fileExists(stConfig) {
                configured = try JSONParser.parse(try readWholeFile(stConfig, limit: 1 << 20))["max_seq_length"]?.int
            }
        case .gguf(let g):
            self.pooling = pooling ?? Pooling(mode: Pooling.gguf(g) ?? .mean, normalize: false)
        }
        let length = maxSequenceLength ?? configured ?? 512
        guard length >= 1 else { throw LoomError.invalidArgument("max sequence length must be positive, got \(length)") }
        self.maxSequenceLength = min(length, encoder.maxSequenceLength)
    }

    /// Width of one embedding (pooling `.none`: per token).
    public var dimension: Int { encoder.hiddenSize }

    /// The token ids `embed` runs for each text.
    public func tokenize(_ texts: [String], threads: Int = 1) throws -> [[Int32]] {
        try tokenizer.encodeBatch(texts, addSpecial: true, parseSpecial: false,
                                  truncation: Truncation(maxLength: maxSequenceLength), threads: threads).ids
    }

    /// One embedding per text. `normalize` overrides the pooling's setting; `precision` is that of the
    /// encoder's weight matmuls (`.f32`: exact; `.bf16` / `.f16`: faster where the CPU has kernels).
    public func embed(_ texts: [String], normalize: Bool? = nil, batchSize: Int = 32,
                      threads: Int = ContextParams.defaultThreads, precision: MatmulPrecision = .f32) throws -> [[Float]] {
        try embed(ids: try tokenize(texts, threads: threads), normalize: normalize, batchSize: batchSize, threads: threads,
                  precision: precision)
    }

    /// One embedding per row of token ids (already tokenized; rows longer than the model's positions throw).
    public func embed(ids rows: [[Int32]], normalize: Bool? = nil, batchSize: Int = 32,
                      threads: Int = ContextParams.defaultThreads, precision: MatmulPrecision = .f32) throws -> [[Float]] {
        guard batchSize >= 1 else { throw LoomError.invalidArgument("batch size must be positive, got \(batchSize)") }
        guard threads >= 1, threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(threads)")
        }
        var p = pooling
        if let normalize { p.normalize = normalize }
        let pool = ThreadPool(threadCount: threads)
        var out: [[Float]] = []
        out.reserveCapacity(rows.count)
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + batchSize)
            out += p.apply(try encoder.encode(Array(rows[start..<end]), pool: pool, precision: precision))
            start = end
        }
        return out
    }
}
