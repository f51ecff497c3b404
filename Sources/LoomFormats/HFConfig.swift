import LoomCore

/// The fields of an HF `config.json` that Loom reads, with the raw JSON kept for the rest.
/// Architectures read their own extra keys from `raw`.
public struct HFConfig: Sendable {
    public let raw: JSONObject
    public let modelType: String?
    public let architectures: [String]
    public let vocabSize: Int?
    public let hiddenSize: Int?
    public let intermediateSize: Int?
    public let numHiddenLayers: Int?
    public let numAttentionHeads: Int?
    public let numKeyValueHeads: Int?
    public let headDim: Int?
    public let maxPositionEmbeddings: Int?
    public let rmsNormEps: Double?
    /// `rope_theta` at the top level, or inside `rope_parameters` / `rope_scaling` (newer transformers).
    public let ropeTheta: Double?
    public let tieWordEmbeddings: Bool
    public let bosTokenID: Int?
    /// `eos_token_id` may be a number or a list; all of them.
    public let eosTokenIDs: [Int]

    public init(path: String) throws {
        let bytes = try readWholeFile(path, limit: 16 << 20)
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch let e as LoomError {
            throw LoomError.format("'\(path)': \(e.message)")
        }
        try self.init(json: json, source: path)
    }

    public init(json: JSONValue, source: String = "config.json") throws {
        guard let o = json.object else { throw LoomError.format("'\(source)' is not a JSON object") }
        raw = o
        modelType = o["model_type"]?.string
        architectures = o["architectures"]?.array?.compactMap(\.string) ?? []
        vocabSize = o["vocab_size"]?.int
        hiddenSize = o["hidden_size"]?.int ?? o["n_embd"]?.int ?? o["d_model"]?.int
        intermediateSize = o["intermediate_size"]?.int ?? o["n_inner"]?.int ?? o["d_ff"]?.int
        numHiddenLayers = o["num_hidden_layers"]?.int ?? o["n_layer"]?.int ?? o["num_layers"]?.int
        numAttentionHeads = o["num_attention_heads"]?.int ?? o["n_head"]?.int ?? o["num_heads"]?.int
        numKeyValueHeads = o["num_key_value_heads"]?.int
        headDim = o["head_dim"]?.int
        maxPositionEmbeddings = o["max_position_embeddings"]?.int ?? o["n_positions"]?.int
        rmsNormEps = o["rms_norm_eps"]?.double ?? o["layer_norm_epsilon"]?.double ?? o["layer_norm_eps"]?.double
        ropeTheta = o["rope_theta"]?.double ?? o["rope_parameters"]?["rope_theta"]?.double
            ?? o["rope_scaling"]?["rope_theta"]?.double
        tieWordEmbeddings = o["tie_word_embeddings"]?.bool ?? true
        bosTokenID = o["bos_token_id"]?.int
        if let e = o["eos_token_id"] {
            eosTokenIDs = e.int.map { [$0] } ?? e.array?.compactMap(\.int) ?? []
        } else {
            eosTokenIDs = []
        }
    }

    /// Top-level keys with their values as text (the C ABI's metadata view of an HF folder).
    public var flattened: [(key: String, value: String)] {
        raw.keys.compactMap { k in raw[k].map { (k, jsonDisplayString($0)) } }
    }
}

/// Compact text form of a JSON value: strings bare at top level, everything else as JSON.
public func jsonDisplayString(_ v: JSONValue, topLevel: Bool = true) -> String {
    switch v {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .number(let d):
        if d.rounded() == d, abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    case .string(let s):
        return topLevel ? s : jsonQuoted(s)
    case .array(let a): return "[" + a.map { jsonDisplayString($0, topLevel: false) }.joined(separator: ", ") + "]"
    case .object(let o):
        return "{" + o.keys.map { k in jsonDisplayString(.string(k), topLevel: false) + ": " + jsonDisplayString(o[k] ?? .null, topLevel: false) }.joined(separator: ", ") + "}"
    }
}
