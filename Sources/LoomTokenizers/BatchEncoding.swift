import LoomCore

/// Cutting an encoding to a maximum length (HF `TruncationParams`, single sequences). The room
/// the post-processor's special tokens need is reserved, as HF does.
public struct Truncation: Sendable, Equatable {
    public var maxLength: Int
    /// Drop tokens from the start instead of the end.
    public var fromLeft: Bool

    public init(maxLength: Int, fromLeft: Bool = false) {
        self.maxLength = maxLength
        self.fromLeft = fromLeft
    }
}

/// Padding a batch to a common length (HF `PaddingParams`).
public struct Padding: Sendable, Equatable {
    public enum Length: Sendable, Equatable {
        /// The longest encoding of the batch.
        case longest
        /// At least this many tokens (longer encodings are not cut; that is truncation's job).
        case fixed(Int)
    }

    public var length: Length
    /// Round the padded length up to a multiple of this (nil: no rounding).
    public var multipleOf: Int?
    public var padID: Int32
    /// Pad on the left (decoder-only batching) instead of the right.
    public var left: Bool

    public init(length: Length = .longest, multipleOf: Int? = nil, padID: Int32, left: Bool = false) {
        self.length = length
        self.multipleOf = multipleOf
        self.padID = padID
        self.left = left
    }
}

/// Ids and attention masks of a batch, one row per input (rows have equal length when padded).
public struct EncodedBatch: Sendable, Equatable {
    public var ids: [[Int32]]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [[UInt8]]
}

extension Tokenizer {
    /// Encodes several texts, on up to `threads` threads (the tokenizer is shared; each thread
    /// has its own scratch). Truncation and padding apply only here, never to `tokenize`; pass
    /// `defaultTruncation` / `defaultPadding` to use the tokenizer.json settings.
    public func encodeBatch(_ texts: [String], addSpecial: Bool = true, parseSpecial: Bool = false,
                            truncation: Truncation? = nil, padding: Padding? = nil,
                            threads: Int = 1) throws -> EncodedBatch {
        if let t = truncation, t.maxLength < 0 { throw LoomError.invalidArgument("truncation max length is negative") }
        if let p = padding {
            if case .fixed(let n) = p.length, n < 0 { throw LoomError.invalidArgument("padding length is negative") }
            if let m = p.multipleOf, m <= 0 { throw LoomError.invalidArgument("pad_to_multiple_of must be positive") }
            guard vocab.contains(p.padID) else { throw LoomError.outOfRange("pad id \(p.padID) is outside the vocabulary") }
        }
        var rows = [[Int32]](repeating: [], count: texts.count)
        var firstError: LoomError? = nil
        let encodeRange = { (range: Range<Int>, rows: UnsafeMutableBufferPointer<[Int32]>) -> LoomError? in
            for i in range {
                do {
                    rows[i] = try self.encodeOne(texts[i], addSpecial: addSpecial, parseSpecial: parseSpecial,
                                                 truncation: truncation)
                } catch {
                    return (error as? LoomError) ?? LoomError(.internal, "\(error)")
                }
            }
            return nil
        }
        let nThreads = max(1, min(threads, texts.count))
        rows.withUnsafeMutableBufferPointer { buffer in
            if nThreads == 1 {
                firstError = encodeRange(0..<texts.count, buffer)
                return
            }
            let errors = UnsafeMutableBufferPointer<LoomError?>.allocate(capacity: nThreads)
            errors.initialize(repeating: nil)
            defer { errors.deinitialize(); errors.deallocate() }
            let pool = ThreadPool(threadCount: nThreads)
            let n = pool.activeThreads
            pool.run { t in
                let lo = texts.count * t / n, hi = texts.count * (t + 1) / n
                if lo < hi { errors[t] = encodeRange(lo..<hi, buffer) }
            }
            firstError = errors.lazy.compactMap { $0 }.first
        }
        if let firstError { throw firstError }

        var mask = rows.map { [UInt8](repeating: 1, count: $0.count) }
        if let p = padding {
            var target: Int
            switch p.length {
            case .longest: target = rows.map(\.count).max() ?? 0
            case .fixed(let n): target = n
            }
            if let m = p.multipleOf, target % m != 0 { target += m - target % m }
            for i in rows.indices where rows[i].count < target {
                let extra = target - rows[i].count
                if p.left {
                    rows[i].insert(contentsOf: repeatElement(p.padID, count: extra), at: 0)
                    mask[i].insert(contentsOf: repeatElement(0, count: extra), at: 0)
                } else {
                    rows[i].append(contentsOf: repeatElement(p.padID, count: extra))
                    mask[i].append(contentsOf: repeatElement(0, count: extra))
                }
            }
        }
        return EncodedBatch(ids: rows, attentionMask: mask)
    }

    /// One encoding: tokenize, truncate the content (keeping room for the special tokens), then
    /// add the special tokens.
    func encodeOne(_ text: String, addSpecial: Bool, parseSpecial: Bool, truncation: Truncation?) throws -> [Int32] {
        guard let truncation else { return try tokenize(text, addSpecial: addSpecial, parseSpecial: parseSpecial) }
        var content = try tokenize(text, addSpecial: false, parseSpecial: parseSpecial)
        let added = addSpecial ? prefix.count + suffix.count : 0
        // HF: no room left for content (max_length ≤ the special tokens) means no truncation.
        let room = max(0, truncation.maxLength - added)
        if room > 0 && content.count > room {
            if truncation.fromLeft { content.removeFirst(content.count - room) } else { content.removeLast(content.count - room) }
        }
        return addSpecial ? prefix + content + suffix : content
    }

    /// tokenizer.json's `truncation` / `padding` objects (null: none).
    static func truncation(json: JSONValue?) throws -> Truncation? {
        guard let json, !json.isNull else { return nil }
        guard let n = json["max_length"]?.int, n >= 0 else { throw LoomError.format("tokenizer.json: truncation without a valid max_length") }
        return Truncation(maxLength: n, fromLeft: json["direction"]?.string == "Left")
    }

    static func padding(json: JSONValue?, vocab: Vocabulary) throws -> Padding? {
        guard let json, !json.isNull else { return nil }
        var length = Padding.Length.longest
        if let fixed = json["strategy"]?["Fixed"] {
            guard let n = fixed.int, n >= 0 else { throw LoomError.format("tokenizer.json: padding Fixed length is invalid") }
            length = .fixed(n)
        }
        var padID = Int32(clamping: json["pad_id"]?.int ?? 0)
        if !vocab.contains(padID), let t = json["pad_token"]?.string, let id = vocab.id(of: t) { padID = id }
        guard vocab.contains(padID) else { throw LoomError.format("tokenizer.json: pad_id \(padID) is outside the vocabulary") }
        let multiple = json["pad_to_multiple_of"]?.int.flatMap { $0 > 0 ? $0 : nil }
        return Padding(length: length, multipleOf: multiple, padID: padID, left: json["direction"]?.string == "Left")
    }
}
