import LoomCore
import LoomFormats

/// convert_hf_to_gguf's BertModel for BertModel / BertForMaskedLM folders with a WordPiece
/// tokenizer.json: the encoder only (the `bert.` prefix removed; the MLM head `cls.*`, the pooler and
/// `embeddings.position_ids` dropped), `bert.*` keys with attention.causal false and, for a
/// sentence-transformers folder (modules.json), its pooling type.
/// Sequence-classification folders are refused: Loom reads no classifier from a GGUF file.
struct BertConverter: HFArchitectureConverter {
    let name = "bert"
    let folder: String
    let config: HFConfig
    let model: BertConfig
    let tokenizer: HFTokenizerFile
    let vocabSize: Int

    /// GGUF -> HF (BertModel's names, without the `bert.` prefix); `{i}` is the layer index. Bert.swift
    /// spells the same pairs where it loads them.
    static let names: [(gguf: String, hf: String)] = [
        ("token_embd", "embeddings.word_embeddings"),
        ("position_embd", "embeddings.position_embeddings"),
        ("token_types", "embeddings.token_type_embeddings"),
        ("token_embd_norm", "embeddings.LayerNorm"),
        ("blk.{i}.attn_q", "encoder.layer.{i}.attention.self.query"),
        ("blk.{i}.attn_k", "encoder.layer.{i}.attention.self.key"),
        ("blk.{i}.attn_v", "encoder.layer.{i}.attention.self.value"),
        ("blk.{i}.attn_output", "encoder.layer.{i}.attention.output.dense"),
        ("blk.{i}.attn_output_norm", "encoder.layer.{i}.attention.output.LayerNorm"),
        ("blk.{i}.ffn_up", "encoder.layer.{i}.intermediate.dense"),
        ("blk.{i}.ffn_down", "encoder.layer.{i}.output.dense"),
        ("blk.{i}.layer_output_norm", "encoder.layer.{i}.output.LayerNorm"),
    ]

    init(folder: String, config: HFConfig) throws {
        if let head = config.architectures.first(where: { $0.hasSuffix("ForSequenceClassification") }) {
            throw LoomError.unsupported("convert: \(head) is not converted (a GGUF file would lose its classifier; load the HF folder instead)")
        }
        let c = try BertConfig.fromHF(config)
        try c.validate()
        self.folder = folder
        self.config = config
        model = c
        tokenizer = try HFTokenizerFile(folder: folder, architecture: "BERT", kind: .wordPiece, described: "WordPiece")
        vocabSize = config.vocabSize ?? tokenizer.tokens.count
    }

    /// The GGUF name of a checkpoint tensor, nil for the ones llama.cpp drops.
    static func ggufName(forHF hf: String) -> String?? {
        var name = hf.hasPrefix("bert.") ? String(hf.dropFirst("bert.".count)) : hf
        if name.hasSuffix(".gamma") { name = String(name.dropLast(".gamma".count)) + ".weight" }
        if name.hasSuffix(".beta") { name = String(name.dropLast(".beta".count)) + ".bias" }
        if ["embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"].contains(name)
            || name.hasPrefix("cls.predictions") || name.hasPrefix("cls.seq_relationship") {
            return .some(nil)
        }
        for suffix in [".weight", ".bias"] where name.hasSuffix(suffix) {
            if let base = LoomModels.ggufName(forHF: String(name.dropLast(suffix.count)), in: names) { return base + suffix }
        }
        return nil
    }

    func tensors(_ checkpoint: [CheckpointTensor]) throws -> [ConvertTensor] {
        var out: [ConvertTensor] = []
        for t in checkpoint {
            guard let mapped = Self.ggufName(forHF: t.name) else {
                throw LoomError.unsupported("convert: BERT tensor '\(t.name)' has no GGUF name")
            }
            if let gguf = mapped { out.append(ConvertTensor(t, as: gguf)) }
        }
        return out
    }

    func addParameters(_ w: inout GGUFWriter, fileType: UInt32) throws {
        w.add(key: "bert.block_count", value: try uint32Parameter(model.layerCount, "num_hidden_layers"))
        w.add(key: "bert.context_length", value: try uint32Parameter(model.maxPositions, "max_position_embeddings"))
        w.add(key: "bert.embedding_length", value: try uint32Parameter(model.hiddenSize, "hidden_size"))
        w.add(key: "bert.feed_forward_length", value: try uint32Parameter(model.intermediateSize, "intermediate_size"))
        w.add(key: "bert.attention.head_count", value: try uint32Parameter(model.headCount, "num_attention_heads"))
        w.add(key: "bert.attention.layer_norm_epsilon", value: .float32(model.layerNormEps))
        w.add(key: "general.file_type", value: .uint32(fileType))
        w.add(key: "bert.attention.causal", value: .bool(false))
        if let pooling = try sentenceTransformersPooling() { w.add(key: "bert.pooling_type", value: .uint32(pooling)) }
    }

    /// convert_hf_to_gguf's _try_set_pooling_type: the Pooling module of modules.json, as llama.cpp's
    /// pooling type (1 mean, 2 CLS, 3 last token); nil without modules.json or a Pooling module.
    func sentenceTransformersPooling() throws -> UInt32? {
        let modulesPath = folder + "/modules.json"
        guard fileExists(modulesPath) else { return nil }
        let modules = try JSONParser.parse(try readWholeFile(modulesPath, limit: 1 << 20))
        guard let path = (modules.array ?? []).first(where: { $0["type"]?.string?.hasSuffix("Pooling") == true })?["path"]?.string else {
            return nil
        }
        guard !path.contains(".."), !path.hasPrefix("/") else {
            throw LoomError.format("convert: modules.json names the pooling folder '\(path)'")
        }
        let pooling = try JSONParser.parse(try readWholeFile(folder + "/" + path + "/config.json", limit: 1 << 20))
        if pooling["pooling_mode_mean_tokens"]?.bool == true { return 1 }
        if pooling["pooling_mode_cls_token"]?.bool == true { return 2 }
        if pooling["pooling_mode_lasttoken"]?.bool == true { return 3 }
        switch pooling["pooling_mode"]?.string {
        case "mean": return 1
        case "cls": return 2
        case "lasttoken": return 3
        default: throw LoomError.unsupported("convert: only mean, CLS and last-token pooling are converted")
        }
    }

    func addVocabulary(_ w: inout GGUFWriter) throws {
        try addBertVocabulary(&w, tokenizer, vocabSize: vocabSize, tokenTypeCount: model.tokenTypeCount, folder: folder, config: config)
    }
}
