import LoomCore
import LoomFormats
import LoomKernels

/// Output types of `convertHF` (llama.cpp convert_hf_to_gguf.py's --outtype f32 / f16 / bf16 / q8_0).
public enum ConvertType: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0

    public init?(name: String) { self.init(rawValue: name.lowercased()) }

    var tensorType: TensorType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        }
    }

    var fileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .bf16: return 32
        case .q8_0: return 7
        }
    }
}

/// Converts an HF folder (config.json, tokenizer.json, safetensors) to a GGUF file as llama.cpp's
/// convert_hf_to_gguf.py does, so that the result loads in Loom and in llama.cpp. Architectures, by
/// config.json `model_type` (each in its own file, with its metadata keys, tensor names and vocabulary):
///
/// - llama (LlamaForCausalLM; ConvertLlama.swift): byte-level BPE vocabulary ("gpt2"), Q/K rows permuted
///   from HF's rotate-half layout to GGUF's interleaved pairs.
/// - gpt2 (GPT2LMHeadModel; ConvertGPT2.swift): byte-level BPE vocabulary, Conv1D weights transposed.
/// - bert (BertModel, BertForMaskedLM; ConvertBert.swift): the encoder only (the MLM head and the pooler
///   are dropped, as llama.cpp does), WordPiece vocabulary ("bert", "##" pieces in the "▁" convention).
/// - t5 (T5ForConditionalGeneration; ConvertT5.swift): encoder-decoder, the Unigram vocabulary of
///   tokenizer.json ("t5", with scores).
///
/// Common to all, in convert_hf_to_gguf's order:
/// - Metadata: general.architecture/type/name/size_label (name from the folder name as gguf-py's
///   heuristic titles it, "tiny-llama" -> "Tiny Llama", or `name` when given, like --model-name; size
///   label from the parameter count, "152K"), the architecture's hyper-parameters and general.file_type,
///   general.quantization_version, then the vocabulary (ConvertTokenizer.swift: tokens, token types,
///   scores / merges, then gguf-py SpecialVocab's special token ids, add_*_token flags, chat template
///   and normalizer flags).
/// - Tensors in the checkpoint's order (shards by file name, names sorted within each), renamed to
///   GGUF names; `.attention.masked_bias`, `.attention.bias` and `.rotary_emb.inv_freq` are dropped.
/// - Types: 1-D tensors, norms, position / token-type embeddings and tensors not named *.weight are
///   F32; others `type`; Q8_0 falls back to F16 for rows that are not a multiple of 32. Data is
///   converted with LoomKernels.quantize (gguf-py's bytes).
///
/// For Tests/Fixtures/tiny-llama this gives the committed model.{f32,f16,q8_0}.gguf byte for byte, and
/// for tiny-gpt2 / tiny-bert their model.f32.gguf (tiny-gpt2 with `name: "G2"`, the name that file
/// carries). Other model types, tokenizers this cannot express, and configurations the GGUF graph cannot
/// represent throw LoomError.unsupported; unreadable input LoomError.io / .format.
/// `weights`, when given, supplies a tensor's values (HF row order, by GGUF name) in place of the
/// checkpoint's, or nil to keep them: how `Model.save` writes an HF model with merged adapters.
public func convertHF(folder: String, output: String, type: ConvertType, name: String? = nil,
                      weights: ((String) throws -> [Float]?)? = nil) throws {
    let hf = try HFFolder(path: folder, loadWeights: true)
    guard let config = hf.config else { throw LoomError.io("'\(folder)' has no config.json") }
    let arch = try hfArchitecture(folder: folder, config: config)

    // The checkpoint's tensors, in convert_hf_to_gguf's order.
    var checkpoint: [CheckpointTensor] = []
    let files = hf.weightFiles.sorted { $0.file.path.utf8.lexicographicallyPrecedes($1.file.path.utf8) }
    for file in files {
        for info in file.tensors.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            if [".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq"].contains(where: { info.name.hasSuffix($0) }) {
                continue
            }
            checkpoint.append(CheckpointTensor(file: file, info: info))
        }
    }
    let tensors = try arch.tensors(checkpoint)
    // Checked on what is written: dropped tensors (e.g. BERT's I64 position_ids) may have any dtype.
    for t in tensors where !["F32", "F16", "BF16"].contains(t.dtype) {
        throw LoomError.unsupported("convert: tensor '\(t.source)' has dtype \(t.dtype) (F32, F16 and BF16 are converted)")
    }
    let parameters = tensors.reduce(0) { $0 + $1.elementCount }

    var w = GGUFWriter()
    w.add(key: "general.architecture", value: .string(arch.name))
    w.add(key: "general.type", value: .string("model"))
    w.add(key: "general.name", value: .string(name ?? modelName(folder: folder)))
    if parameters > 0 { w.add(key: "general.size_label", value: .string(sizeLabel(parameters))) }
    try arch.addParameters(&w, fileType: type.fileType)
    w.add(key: "general.quantization_version", value: .uint32(2))
    try arch.addVocabulary(&w)

    for t in tensors {
        let dims = Array(t.shape.reversed())
        guard let row = dims.first, row > 0 else { throw LoomError.format("convert: tensor '\(t.source)' is empty") }
        var target = type.tensorType
        if dims.count <= 1 || t.gguf.hasSuffix("_norm.weight") || !t.gguf.hasSuffix(".weight")
            || t.gguf == "position_embd.weight" || t.gguf == "token_types.weight" {
            target = .f32
        }
        if row % target.blockSize != 0 { target = .f16 }
        try w.add(tensor: t.gguf, type: target, dims: dims) { out in
            let raw = try weights?(t.gguf) ?? t.read()
            let values = try t.transform(raw)
            guard values.count == t.elementCount, let dst = out.baseAddress else {
                throw LoomError.format("convert: tensor '\(t.source)' has the wrong size")
            }
            let rowBytes = target.byteCount(elements: row) ?? 0
            try values.withUnsafeBufferPointer { src in
                guard let base = src.baseAddress else { return }
                for r in 0..<(values.count / row) {
                    try quantize(target, base + r * row, dst + r * rowBytes, count: row)
                }
            }
        }
    }
    try w.write(to: output)
}

/// One tensor of the checkpoint.
struct CheckpointTensor {
    let file: SafetensorsFile
    let info: SafetensorsTensorInfo
    var name: String { info.name }
    var shape: [Int] { info.shape }
    func floats() throws -> [Float] { try file.floats(info.name) }
}

/// A tensor to write: its GGUF name, its shape after `transform` (HF order, outermost first), the
/// values of its source in HF row order, and how they become the written values.
struct ConvertTensor {
    let gguf: String
    let shape: [Int]
    /// The checkpoint name (for messages) and dtype.
    let source: String
    let dtype: String
    let read: () throws -> [Float]
    var transform: ([Float]) throws -> [Float] = { $0 }

    var elementCount: Int { shape.reduce(1, *) }

    /// A checkpoint tensor written as it is under the GGUF name `gguf`.
    init(_ t: CheckpointTensor, as gguf: String) {
        self.gguf = gguf
        shape = t.shape
        source = t.name
        dtype = t.info.dtypeName
        read = t.floats
    }

    /// The values of the checkpoint tensor `t`, made into a tensor of shape `shape` by `transform`.
    init(gguf: String, shape: [Int], from t: CheckpointTensor, transform: @escaping ([Float]) throws -> [Float]) {
        self.gguf = gguf
        self.shape = shape
        source = t.name
        dtype = t.info.dtypeName
        read = t.floats
        self.transform = transform
    }
}

/// One architecture's part of a conversion (convert_hf_to_gguf's ModelBase subclass).
protocol HFArchitectureConverter {
    /// general.architecture.
    var name: String { get }
    /// The tensors to write, in order, from the checkpoint's (already in convert_hf_to_gguf's order).
    func tensors(_ checkpoint: [CheckpointTensor]) throws -> [ConvertTensor]
    /// The `<arch>.*` hyper-parameters with general.file_type among them (set_gguf_parameters).
    func addParameters(_ w: inout GGUFWriter, fileType: UInt32) throws
    /// The tokenizer.* metadata (set_vocab).
    func addVocabulary(_ w: inout GGUFWriter) throws
}

/// The converter for a folder's config.json: `model_type`, else the first `architectures` entry.
private func hfArchitecture(folder: String, config: HFConfig) throws -> HFArchitectureConverter {
    let kind = config.modelType ?? config.architectures.first ?? "unknown"
    switch kind {
    case "llama", "LlamaForCausalLM": return try LlamaConverter(folder: folder, config: config)
    case "gpt2", "GPT2LMHeadModel": return try GPT2Converter(folder: folder, config: config)
    case "bert", "BertModel", "BertForMaskedLM": return try BertConverter(folder: folder, config: config)
    case "t5", "T5ForConditionalGeneration": return try T5Converter(folder: folder, config: config)
    default:
        throw LoomError.unsupported(
            "convert: model_type '\(kind)' of '\(folder)' is not converted (llama, gpt2, bert and t5 are)")
    }
}

/// The GGUF name of an HF tensor name by a (GGUF, HF) table with `{i}` as the layer index
/// (TensorNames, read backwards).
func ggufName(forHF name: String, in table: [(gguf: String, hf: String)]) -> String? {
    for (gguf, hf) in table {
        if !hf.contains("{i}") {
            if hf == name { return gguf }
            continue
        }
        let parts = hf.split(separator: "{i}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, name.hasPrefix(parts[0]), name.hasSuffix(parts[1]),
              name.count > parts[0].count + parts[1].count else { continue }
        let middle = name.dropFirst(parts[0].count).dropLast(parts[1].count)
        guard let layer = Int(middle), layer >= 0, String(layer) == middle else { continue }
        return gguf.replacing("{i}", with: String(layer))
    }
    return nil
}

/// A positive integer hyper-parameter for a uint32 key, or a format error naming it.
func uint32Parameter(_ value: Int?, _ key: String) throws -> GGUFValue {
    guard let v = value, v >= 0, v <= Int(UInt32.max) else {
        throw LoomError.format("convert: config.json has no valid '\(key)'")
    }
    return .uint32(UInt32(v))
}

/// gguf-py's Metadata name for a folder (its directory-name fallback): the base name, '-' as spaces,
/// each all-lowercase word title-cased unless it looks like a version ("tiny-llama" -> "Tiny Llama").
/// Not ported: a README model card's name, config.json `_name_or_path`, and the basename / finetune /
/// version / size-label keys gguf-py also reads from names such as "SmolLM2-135M-Instruct".
func modelName(folder: String) -> String {
    let base = folder.split(separator: "/").last.map(String.init) ?? folder
    let words = base.replacing("-", with: " ").split(whereSeparator: { $0.isWhitespace })
    return words.map { word -> String in
        let w = String(word)
        let cased = w.contains { $0.isCased }
        let lower = cased && !w.contains { $0.isUppercase }
        // ^(v\d+(?:\.\d+)*|\d.*)$
        let looksLikeVersion = w.first?.isWholeNumber == true
            || (w.first == "v" && w.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isWholeNumber) })
        guard lower, !looksLikeVersion else { return w }
        // Python's str.title(): a cased character is upper-cased after an uncased one, lower-cased otherwise.
        var out = "", previousCased = false
        for c in w {
            out += previousCased ? c.lowercased() : c.uppercased()
            previousCased = c.isCased
        }
        return out
    }.joined(separator: " ")
}

/// gguf-py's model_weight_count_rounded_notation(n, min_digits: 2).
func sizeLabel(_ n: Int) -> String {
    let (scaled, suffix): (Double, String) = n > 1_000_000_000_000 ? (Double(n) * 1e-12, "T")
        : n > 1_000_000_000 ? (Double(n) * 1e-9, "B") : n > 1_000_000 ? (Double(n) * 1e-6, "M") : (Double(n) * 1e-3, "K")
    let rounded = String(Int(scaled.rounded(.toNearestOrEven)))
    let digits = rounded.drop(while: { $0 == "0" }).count
    let fix = max(2 - digits, 0)
    var text = String(Int(scaled.rounded(.toNearestOrEven)))
    if fix > 0 {
        let scale = pow10(fix)
        let v = (scaled * scale).rounded(.toNearestOrEven) / scale
        let whole = Int(v)
        let frac = Int(((v - Double(whole)) * scale).rounded())
        let fracText = String(frac)
        text = "\(whole)." + String(repeating: "0", count: max(0, fix - fracText.count)) + fracText
    }
    return text + suffix
}

private func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }
