import LoomCore
import LoomKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole-model types `quantizeModel` writes, with llama.cpp's `llama_ftype` ids (general.file_type).
public enum QuantizeFileType: String, CaseIterable, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", q8_0 = "Q8_0", q4_0 = "Q4_0", q4_1 = "Q4_1"
    case q5_0 = "Q5_0", q5_1 = "Q5_1", q4_K = "Q4_K", q6_K = "Q6_K"

    /// "q4_k", "Q4_K", "q8_0", "f16", ... (case-insensitive).
    public init?(name: String) {
        guard let t = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
        self = t
    }

    /// The type most tensors get.
    public var tensorType: TensorType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q4_K: return .q4_K
        case .q6_K: return .q6_K
        }
    }

    /// llama.cpp's LLAMA_FTYPE_* value written to general.file_type (Q4_K: MOSTLY_Q4_K_S, its closest).
    public var llamaFileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q4_K: return 14
        case .q6_K: return 18
        case .bf16: return 32
        }
    }

    /// The ABI's loom_ftype values (LOOM_FTYPE_*), which are llama_ftype's.
    public init?(llamaFileType v: UInt32) {
        guard let t = Self.allCases.first(where: { $0.llamaFileType == v }) else { return nil }
        self = t
    }
}

public struct QuantizeOptions {
    public var type: QuantizeFileType
    /// Worker threads; <= 0: the number of cores, at most 8.
    public var threads: Int = 0
    /// Re-quantize tensors that are already quantized (dequantized to f32 first). llama.cpp's default
    /// is false: such a model is refused.
    public var allowRequantize = false
    /// llama.cpp's quantize_output_tensor (default true): false keeps output.weight as it is.
    public var quantizeOutput = true
    /// Called after each tensor with (tensors done, total); false cancels (LoomError aborted, no output).
    public var progress: ((Int, Int) -> Bool)?

    public init(type: QuantizeFileType) { self.type = type }
}

/// What `quantizeModel` did to one tensor.
public struct QuantizedTensor: Sendable {
    public let name: String
    public let from: TensorType
    public let to: TensorType
    public let dims: [Int]
}

/// llama-quantize for the plain (non-mixture) types: reads a GGUF model, writes it with its weight
/// matrices converted to `options.type`, following llama.cpp's `llama_model_quantize` (src/llama-quant.cpp)
/// without an importance matrix:
///
/// - Metadata: every entry copied in order; `general.quantization_version` (2) and `general.file_type`
///   set (llama.cpp's set: removed, then appended, in that order); `split.*` entries removed.
/// - Tensor order: llama.cpp's — tensors outside `blk.N.` first, then by layer N; by name (bytes) within.
/// - Which tensors are converted (tensor_allows_quantization): at least 2 dimensions not counting trailing
///   1s, a name ending in "weight", and none of: "_norm.weight" (norms stay as they are, f32),
///   output.weight when `quantizeOutput` is false, position_embd.weight / token_types.weight (learned
///   positions and BERT's token types), ffn_gate_inp (MoE routers), attn_rel_b (T5), ssm_conv1d, and the
///   other small tensors llama.cpp lists. Everything else keeps its type and bytes.
/// - Target type of a converted tensor: `options.type.tensorType`, except, for the block types (not
///   F32/F16/BF16):
///   * output.weight — and token_embd.weight when the model has no output.weight (tied embeddings) — gets
///     Q6_K, or stays Q8_0 for Q8_0; Q8_0 when its rows are not a multiple of Q6_K's 256 (or the model is
///     Falcon);
///   * attn_v / attn_qkv / attn_k of a model with exactly 8 experts get Q8_0;
///   * then the shape fallback: rows not a multiple of the block size move Q4_K -> Q5_0, Q6_K -> Q8_0,
///     and to F16 when still not a multiple (e.g. a 32-block type on rows of 80).
///   The Q4_K type is llama.cpp's Q4_K_S file type without its mixture bumps (llama.cpp moves attn_v of
///   the first 4 layers and ffn_down of the first 1/8 of the layers to Q5_K, which Loom cannot write).
/// - Data: a tensor already of its target type is copied byte for byte; otherwise it is read as f32
///   (F32 directly, F16/BF16 widened, quantized types dequantized when `allowRequantize`) and quantized
///   row by row with `LoomKernels.quantize` (bit-exact with gguf-py / ggml's reference quantizers).
///   One tensor is in memory at a time; the output is written atomically (GGUFWriter).
///
/// For tiny-llama this writes the bytes llama-quantize writes for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
/// Q5_1 and Q6_K (Tests/LoomFormatsTests/QuantizeTests.swift).
///
/// - Throws: `LoomError` — io/format for unreadable input, invalidArgument when input and output are the
///   same path, unsupported for a quantized source without `allowRequantize` or a tensor type Loom cannot
///   read, aborted when `progress` cancels.
@discardableResult
public func quantizeModel(input: String, output: String, options: QuantizeOptions) throws -> [QuantizedTensor] {
    guard input != output else {
        throw LoomError.invalidArgument("quantize: the output path is the input path '\(input)'")
    }
    let file = try GGUFFile(path: input)
    let plan = quantizationPlan(file, options)
    var writer = GGUFWriter()
    writer.addMetadata(from: file)
    writer.set(key: "general.quantization_version", value: .uint32(2))
    writer.set(key: "general.file_type", value: .uint32(options.type.llamaFileType))
    for key in ["split.no", "split.count", "split.tensors.count"] { writer.remove(key: key) }

    let threads = options.threads > 0 ? min(options.threads, 256) : max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    let pool = ThreadPool(threadCount: threads)
    for (info, target) in plan {
        guard let source = info.type else {
            throw LoomError.unsupported("quantize: tensor '\(info.name)' has a type (\(info.rawType)) Loom cannot read")
        }
        if source == target {
            try writer.add(tensor: info, from: file)
            continue
        }
        if !isPlainFloat(source) && !options.allowRequantize {
            throw LoomError.unsupported(
                "quantize: tensor '\(info.name)' is already \(source.name); requantizing is disabled (allow_requantize)")
        }
        guard canDequantize(source) else {
            throw LoomError.unsupported("quantize: tensor '\(info.name)' of type \(source.name) cannot be read")
        }
        guard canQuantize(target) else { throw LoomError.unsupported("quantize: cannot write \(target.name)") }
        try writer.add(tensor: info.name, type: target, dims: info.dims) { out in
            try convertRows(file: file, info: info, from: source, to: target, out: out, pool: pool)
        }
    }
    try writer.write(to: output, progress: options.progress)
    return plan.compactMap { info, target in
        info.type.map { QuantizedTensor(name: info.name, from: $0, to: target, dims: info.dims) }
    }
}

/// Each tensor of `file` in llama.cpp's order, with the type `quantizeModel` gives it.
/// (Tensors of a type Loom does not know keep it: they are listed with `.f32` and make `quantizeModel` fail.)
public func quantizationPlan(_ file: GGUFFile, _ options: QuantizeOptions) -> [(GGUFTensorInfo, TensorType)] {
    let arch = file.architecture ?? ""
    let experts = file.metadata["\(arch).expert_count"]?.int ?? 0
    let tied = file.tensor(named: "output.weight") == nil
    let ordered = file.tensors.sorted { a, b in
        let la = layerIndex(a.name), lb = layerIndex(b.name)
        if la != lb { return la < lb }
        return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
    }
    let base = options.type.tensorType
    return ordered.map { info in
        guard info.type != nil, allowsQuantization(info, arch: arch, options: options) else {
            return (info, info.type ?? .f32)
        }
        guard base.blockSize > 1 else { return (info, base) }
        var target = base
        let isOutput = info.name == "output.weight"
        let isTokenEmbd = info.name == "token_embd.weight" || info.name == "per_layer_token_embd.weight"
        if isOutput || (tied && isTokenEmbd) {
            if arch == "falcon" || info.dims[0] % base.blockSize != 0 {
                target = .q8_0
            } else if base != .q8_0 {
                target = .q6_K
            }
        } else if experts == 8 && (info.name.contains("attn_v.weight") || info.name.contains("attn_qkv.weight")
                                   || info.name.contains("attn_kv_b.weight") || info.name.contains("attn_k.weight")) {
            target = .q8_0
        }
        // Shape fallback (tensor_type_fallback).
        if info.dims[0] % target.blockSize != 0 {
            switch target {
            case .q4_K: target = .q5_0
            case .q6_K: target = .q8_0
            default: break
            }
            if info.dims[0] % target.blockSize != 0 { target = .f16 }
        }
        return (info, target)
    }
}

/// sscanf("blk.%d.") as llama.cpp's weight_name_comparer uses it: the layer, or -1.
private func layerIndex(_ name: String) -> Int {
    guard name.hasPrefix("blk.") else { return -1 }
    let rest = name.utf8.dropFirst(4)
    var value = 0, digits = 0, negative = false
    var it = rest.makeIterator()
    var c = it.next()
    if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
        negative = c == UInt8(ascii: "-")
        c = it.next()
    }
    while let d = c, d >= 48, d <= 57 {
        value = min(value * 10 + Int(d - 48), Int(Int32.max))
        digits += 1
        c = it.next()
    }
    return digits > 0 ? (negative ? -value : value) : -1
}

private func isPlainFloat(_ t: TensorType) -> Bool { t == .f32 || t == .f16 || t == .bf16 }

/// llama.cpp's tensor_allows_quantization.
private func allowsQuantization(_ info: GGUFTensorInfo, arch: String, options: QuantizeOptions) -> Bool {
    let nDims = (info.dims.lastIndex(where: { $0 > 1 }) ?? 0) + 1
    guard nDims >= 2 else { return false }
    let name = info.name
    guard name.hasSuffix("weight"), !name.contains("_norm.weight") else { return false }
    if !options.quantizeOutput && name == "output.weight" { return false }
    if name == "position_embd.weight" || name == "token_types.weight" { return false }
    let excluded = [
        "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
        "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
        "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
        "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
        ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    ]
    return !excluded.contains { name.contains($0) }
}

/// Converts one tensor row by row (rows split over the pool's threads).
private func convertRows(file: GGUFFile, info: GGUFTensorInfo, from source: TensorType, to target: TensorType,
                         out: UnsafeMutableRawBufferPointer, pool: ThreadPool) throws {
    guard let src = file.data(of: info), let dst = out.baseAddress else {
        throw LoomError.format("quantize: tensor '\(info.name)' has no data")
    }
    let rowLength = info.dims[0]
    let rows = info.elementCount / max(rowLength, 1)
    guard let srcRowBytes = source.byteCount(elements: rowLength), let dstRowBytes = target.byteCount(elements: rowLength),
          dstRowBytes * rows == out.count else {
        throw LoomError.invalidArgument("quantize: tensor '\(info.name)' rows do not fit \(target.name)")
    }
    let failure = FirstError()
    pool.parallelFor(rows) { range in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(rowLength, 1))
        defer { scratch.deallocate() }
        do {
            for r in range {
                try dequantize(source, src + r * srcRowBytes, scratch, count: rowLength)
                try quantize(target, scratch, dst + r * dstRowBytes, count: rowLength)
            }
        } catch {
            failure.record(error)
        }
    }
    if let e = failure.error { throw e }
}

/// The first error thrown on any pool thread.
private final class FirstError: @unchecked Sendable {
    private var stored: Error?
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(lock, nil) }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    func record(_ e: Error) {
        pthread_mutex_lock(lock)
        if stored == nil { stored = e }
        pthread_mutex_unlock(lock)
    }

    var error: Error? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return stored
    }
}
