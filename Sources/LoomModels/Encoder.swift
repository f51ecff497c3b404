import LoomCore
import LoomFormats
import LoomKernels

/// What an encoder-only architecture (BERT and kin) offers: the last hidden state of every token of
/// a batch of independent sequences, attended bidirectionally. Implementations are immutable
/// (weights are read-only; scratch is per call), so one instance serves any number of threads.
public protocol EncoderModel: AnyObject, Sendable {
    var vocabSize: Int { get }
    var hiddenSize: Int { get }
    var layerCount: Int { get }
    /// The longest sequence the model accepts (its position table).
    var maxSequenceLength: Int { get }
    /// Token type ids accepted (BERT segment A/B); 0 is always valid.
    var tokenTypeCount: Int { get }
    /// Whether `tokenLogits` is available (e.g. BERT's masked-LM head).
    var hasTokenLogitsHead: Bool { get }

    /// Runs the encoder over `rows` sequences packed back to back in `tokens` (row r is the
    /// `rowLengths[r]` tokens after the previous rows; positions restart at 0 in every row) and
    /// writes each token's last hidden state to `hidden` (tokens.count × hiddenSize, same order).
    /// A row's result does not depend on the other rows. `tokenTypes`, when given, has one id per token.
    func encode(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?,
                hidden: UnsafeMutablePointer<Float>, pool: ThreadPool) throws

    /// `encode` with the weight matmuls in `precision` (an architecture without reduced-precision
    /// kernels, or a CPU without them, computes in f32).
    func encode(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?,
                hidden: UnsafeMutablePointer<Float>, pool: ThreadPool, precision: MatmulPrecision) throws

    /// Per-token vocabulary logits from hidden states (count × hiddenSize -> count × vocabSize).
    func tokenLogits(hidden: UnsafePointer<Float>, count: Int, logits: UnsafeMutablePointer<Float>, pool: ThreadPool) throws
}

/// Hidden states of a batch, one row per input sequence, packed without padding.
public struct EncoderOutput: Sendable {
    public let hiddenSize: Int
    public let rowLengths: [Int]
    /// Σ rowLengths × hiddenSize values: row r's token t at (rowStarts[r] + t) · hiddenSize.
    public let hiddenStates: [Float]
    public let rowStarts: [Int]

    /// Row r's hidden states (rowLengths[r] × hiddenSize).
    public func row(_ r: Int) -> ArraySlice<Float> {
        hiddenStates[(rowStarts[r] * hiddenSize)..<((rowStarts[r] + rowLengths[r]) * hiddenSize)]
    }
}

extension EncoderModel {
    public func encode(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?,
                       hidden: UnsafeMutablePointer<Float>, pool: ThreadPool, precision: MatmulPrecision) throws {
        try encode(tokens: tokens, rowLengths: rowLengths, tokenTypes: tokenTypes, hidden: hidden, pool: pool)
    }

    /// Encodes rows of token ids of any lengths (1 ... maxSequenceLength each). No padding is
    /// computed: rows are packed and each attends only to itself, so every row equals its result alone.
    /// `precision` is that of the weight matmuls (`.f32`: exact).
    public func encode(_ rows: [[Int32]], tokenTypes: [[Int32]]? = nil, pool: ThreadPool,
                       precision: MatmulPrecision = .f32) throws -> EncoderOutput {
        if let tokenTypes {
            guard tokenTypes.count == rows.count, zip(rows, tokenTypes).allSatisfy({ $0.count == $1.count }) else {
                throw LoomError.invalidArgument("token type ids must have the shape of the token ids")
            }
        }
        let lengths = rows.map(\.count)
        var starts: [Int] = []
        var total = 0
        for l in lengths { starts.append(total); total += l }
        let flat = Array(rows.joined())
        let types = tokenTypes.map { Array($0.joined()) }
        var hidden = [Float](repeating: 0, count: total * hiddenSize)
        try flat.withUnsafeBufferPointer { tokens in
            try hidden.withUnsafeMutableBufferPointer { out in
                guard let base = out.baseAddress else { return }
                if let types {
                    try types.withUnsafeBufferPointer { tt in
                        try encode(tokens: tokens, rowLengths: lengths, tokenTypes: tt, hidden: base, pool: pool,
                                   precision: precision)
                    }
                } else {
                    try encode(tokens: tokens, rowLengths: lengths, tokenTypes: nil, hidden: base, pool: pool,
                               precision: precision)
                }
            }
        }
        return EncoderOutput(hiddenSize: hiddenSize, rowLengths: lengths, hiddenStates: hidden, rowStarts: starts)
    }

    /// `encode` on a pool of `threads` threads made for this call.
    public func encode(_ rows: [[Int32]], tokenTypes: [[Int32]]? = nil,
                       threads: Int = ContextParams.defaultThreads, precision: MatmulPrecision = .f32) throws -> EncoderOutput {
        guard threads >= 1, threads <= 512 else {
            throw LoomError.invalidArgument("n_threads must be between 1 and 512, got \(threads)")
        }
        return try encode(rows, tokenTypes: tokenTypes, pool: ThreadPool(threadCount: threads), precision: precision)
    }

    /// Checks a packed batch against the model's limits (what every architecture must reject).
    func validate(tokens: UnsafeBufferPointer<Int32>, rowLengths: [Int], tokenTypes: UnsafeBufferPointer<Int32>?) throws {
        var total = 0
        for l in rowLengths {
            guard l >= 1, l <= maxSequenceLength else {
                throw LoomError.outOfRange("a row of \(l) tokens is outside 1...\(maxSequenceLength) (the model's positions)")
            }
            total += l
        }
        guard total == tokens.count else {
            throw LoomError.invalidArgument("row lengths add up to \(total), but \(tokens.count) tokens were given")
        }
        for t in tokens where t < 0 || Int(t) >= vocabSize {
            throw LoomError.outOfRange("token id \(t) is outside 0..<\(vocabSize)")
        }
        if let tokenTypes {
            guard tokenTypes.count == tokens.count else {
                throw LoomError.invalidArgument("\(tokenTypes.count) token type ids for \(tokens.count) tokens")
            }
            for t in tokenTypes where t < 0 || Int(t) >= tokenTypeCount {
                throw LoomError.outOfRange("token type id \(t) is outside 0..<\(tokenTypeCount)")
            }
        }
    }
}

extension WeightSource {
    /// A weight under its GGUF name in a GGUF file, or under the first of `hfNames` present in an
    /// HF folder (for architectures whose HF spelling is not in the shared `TensorNames` table).
    /// Its shape must be `dims` (GGUF order).
    func tensor(gguf: String?, hf hfNames: [String], dims: [Int]) throws -> WeightTensor? {
        var found: WeightTensor?
        switch source {
        case .gguf:
            if let gguf { found = try optional(gguf) }
        case .hf(let folder):
            for name in hfNames {
                guard let (file, t) = folder.tensor(named: name) else { continue }
                guard let type = t.type, let p = file.data(of: t) else {
                    throw LoomError.unsupported("'\(name)' has dtype \(t.dtypeName); Loom reads F32, F16 and BF16")
                }
                found = WeightTensor(name: name, type: type, dims: t.shape.reversed(), data: p, file: file.file)
                break
            }
        }
        guard let t = found else { return nil }
        guard t.dims == dims else { throw LoomError.format("'\(t.name)' has shape \(t.dims), expected \(dims)") }
        return t
    }

    func requiredTensor(gguf: String?, hf hfNames: [String], dims: [Int]) throws -> WeightTensor {
        guard let t = try tensor(gguf: gguf, hf: hfNames, dims: dims) else {
            let name: String
            if case .gguf = source { name = gguf ?? hfNames.first ?? "?" } else { name = hfNames.joined(separator: " or ") }
            throw LoomError.format("'\(path)' has no tensor '\(name)'")
        }
        return t
    }
}
