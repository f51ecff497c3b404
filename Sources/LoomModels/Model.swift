import LoomCore
import LoomFormats
import LoomTokenizers

/// How to load a model.
public struct ModelParams: Sendable {
    /// Load only the vocabulary and metadata (any GGUF, whatever its architecture; no weights checked).
    public var vocabOnly = false
    /// Called on the loading thread with the load's progress, rising strictly from 0 (file parsed,
    /// tokenizer built) to 1 (model complete); returning false cancels the load, which then throws
    /// `LoomError` with status `.aborted` after releasing everything it took.
    public var progress: (@Sendable (Float) -> Bool)?
    public init(vocabOnly: Bool = false, progress: (@Sendable (Float) -> Bool)? = nil) {
        self.vocabOnly = vocabOnly
        self.progress = progress
    }
}

/// A loaded model: its file(s), metadata and tokenizer. Immutable after loading except for LoRA merges
/// (`mergeLoRA`, only while no context is open), so one model may be shared by any number of threads.
public final class Model: @unchecked Sendable {
    public enum Source: Sendable {
        case gguf(GGUFFile)
        case hf(HFFolder)
    }

    public let path: String
    public let source: Source
    public let params: ModelParams
    /// Metadata as text, in file order (GGUF key/values, or config.json's top-level keys).
    public let metadata: [(key: String, value: String)]
    private let metadataIndex: [String: Int]
    private let tokenizerResult: Result<Tokenizer, LoomError>
    /// The decoder network (nil for vocab_only loads and encoders). Immutable; shared by every context.
    public let network: CausalLM?
    /// The encoder network of an encoder-only architecture (`Architectures.encoder`, e.g. BERT); nil
    /// otherwise. Immutable; shared by any number of threads.
    public let encoder: EncoderModel?
    /// The network of an encoder-decoder architecture (`Architectures.seq2seq`, e.g. T5); nil otherwise.
    /// Immutable; shared by any number of threads.
    public let seq2seq: T5Model?
    /// The sequence-classification head (reward models included) an HF folder's config.json
    /// `architectures` names (`Architectures.sequenceClassification`); nil otherwise. Immutable.
    public let classifier: SequenceClassificationHead?
    /// LoRA merges and the count of open contexts (a merge needs none open; see `ModelEdits`).
    let edits = ModelEdits()

    public static func load(path: String, params: ModelParams = ModelParams()) throws -> Model {
        let started = monotonicSeconds()
        let progress = params.progress.map { LoadProgress(callback: $0) }
        let model = try LoadProgress.with(progress) { try load(path: path, params: params, progress: progress) }
        try progress?.report(1)
        if Log.isEnabled(.info) {
            let (count, bytes) = model.tensorTotals
            let kind: String
            switch model.source {
            case .gguf(let g): kind = "GGUF v\(g.version)"
            case .hf(let f): kind = "HF folder, \(f.weightFiles.count) safetensors file(s)"
            }
            let ms = Int(((monotonicSeconds() - started) * 1000).rounded())
            let what = params.vocabOnly ? "vocabulary and metadata only" : "\(count) tensors, \(formatBytes(bytes))"
            Log.info("loaded '\(path)' (\(kind)): architecture \(model.architecture ?? "?"), \(what), in \(ms) ms")
        }
        if Log.isEnabled(.debug), let n = model.network {
            Log.debug("'\(path)': \(n.layerCount) layers, hidden size \(n.hiddenSize), \(n.vocabSize) tokens, trained context \(n.trainedContextLength)")
        }
        return model
    }

    private static func load(path: String, params: ModelParams, progress: LoadProgress?) throws -> Model {
        if isDirectory(path) {
            let folder = try HFFolder(path: path, loadWeights: !params.vocabOnly)
            let tokenizer: Result<Tokenizer, LoomError>
            do { tokenizer = .success(try Tokenizer.load(path: path)) } catch let e as LoomError {
                Log.warn("'\(path)': no usable tokenizer: \(e.message)")
                tokenizer = .failure(e)
            }
            try progress?.start(totalBytes: folder.weightFiles.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.byteCount } })
            let networks = params.vocabOnly ? Architectures.Networks() : try Architectures.load(
                architecture: folder.config?.modelType, weights: WeightSource(path: path, source: .hf(folder)))
            return Model(path: path, source: .hf(folder), params: params,
                         metadata: folder.config?.flattened ?? [], tokenizer: tokenizer, networks: networks)
        }
        let gguf = try GGUFFile(path: path)
        if !params.vocabOnly {
            for t in gguf.tensors where t.type == nil {
                throw LoomError.unsupported("'\(path)': tensor '\(t.name)' has GGML type \(t.rawType), which Loom does not read")
            }
        }
        let tokenizer: Result<Tokenizer, LoomError>
        do { tokenizer = .success(try Tokenizer.load(gguf: gguf)) } catch let e as LoomError {
            Log.warn("'\(path)': no usable tokenizer: \(e.message)")
            tokenizer = .failure(e)
        }
        let meta = gguf.metadataKeys.map { (key: $0, value: gguf.metadata[$0]?.displayString ?? "") }
        try progress?.start(totalBytes: gguf.tensors.reduce(0) { $0 + ($1.byteCount ?? 0) })
        let networks = params.vocabOnly ? Architectures.Networks() : try Architectures.load(
            architecture: gguf.architecture, weights: WeightSource(path: path, source: .gguf(gguf)))
        return Model(path: path, source: .gguf(gguf), params: params, metadata: meta, tokenizer: tokenizer,
                     networks: networks)
    }

    private init(path: String, source: Source, params: ModelParams, metadata: [(key: String, value: String)],
                 tokenizer: Result<Tokenizer, LoomError>, networks: Architectures.Networks) {
        self.network = networks.network
        self.encoder = networks.encoder
        self.seq2seq = networks.seq2seq
        self.classifier = networks.classifier
        self.path = path
        self.source = source
        self.params = params
        self.metadata = metadata
        var idx: [String: Int] = [:]
        for (i, kv) in metadata.enumerated() { idx[kv.key] = i }
        metadataIndex = idx
        tokenizerResult = tokenizer
    }

    /// The model's tokenizer; throws the reason when its vocabulary could not be built.
    public func tokenizer() throws -> Tokenizer { try tokenizerResult.get() }

    public func metadataValue(_ key: String) -> String? {
        metadataIndex[key].map { metadata[$0].value }
    }

    /// The chat template the model ships: GGUF `tokenizer.chat_template`, or an HF folder's
    /// chat_template.jinja / tokenizer_config.json `chat_template` (the "default" one of a list).
    public var chatTemplate: String? {
        switch source {
        case .gguf(let g):
            return g["tokenizer.chat_template"]?.string
        case .hf:
            if let bytes = try? readWholeFile(path + "/chat_template.jinja", limit: 4 << 20) {
                return String(decoding: bytes, as: UTF8.self)
            }
            guard let bytes = try? readWholeFile(path + "/tokenizer_config.json", limit: 64 << 20),
                  let json = try? JSONParser.parse(bytes), let t = json["chat_template"] else { return nil }
            if let s = t.string { return s }
            let named = t.array?.compactMap { e -> (String, String)? in
                guard let n = e["name"]?.string, let s = e["template"]?.string else { return nil }
                return (n, s)
            }
            return named?.first { $0.0 == "default" }?.1 ?? named?.first?.1
        }
    }

    /// Number of tensors in the model's file(s) and their bytes.
    public var tensorTotals: (count: Int, bytes: Int) {
        switch source {
        case .gguf(let g): return (g.tensors.count, g.tensors.reduce(0) { $0 + ($1.byteCount ?? 0) })
        case .hf(let f):
            return (f.weightFiles.reduce(0) { $0 + $1.tensors.count },
                    f.weightFiles.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.byteCount } })
        }
    }

    public var architecture: String? {
        switch source {
        case .gguf(let g): return g.architecture
        case .hf(let f): return f.config?.modelType
        }
    }
}
