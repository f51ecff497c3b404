import LoomCore
import LoomFormats

/// A tokenizer that reproduces llama.cpp (for GGUF files) and HF tokenizers (for tokenizer.json)
/// exactly.
///
/// Encoding: special-token partition → a `TextEncoder` (normalizer → pre-tokenizer → subword
/// model, or one of llama.cpp's whole-fragment tokenizers) → post-processor ids (BOS/EOS).
/// Decoding: token pieces (or HF's decoder chain) → clean-up.
///
/// Immutable once loaded: every method may be called from any number of threads at once (each
/// call works in its own scratch memory).
public final class Tokenizer: @unchecked Sendable {
    let vocab: Vocabulary
    let encoder: any TextEncoder
    let specials: SpecialTokenMatcher
    /// Ids added around the text when `addSpecial` is set.
    let prefix: [Int32]
    let suffix: [Int32]
    let pieces: TokenPieces
    let cleanUp: CleanUp
    /// HF decoder chain over token strings; nil: concatenated pieces.
    let decoder: TokenDecoder?
    /// llama.cpp's add_space_prefix: detokenize drops one leading space of the first piece.
    let stripFirstSpace: Bool
    /// Which ids count as "special" (dropped by renderSpecial = false).
    let hiddenWhenNotRendering: [Bool]

    public let preTokenizerName: String
    /// tokenizer.json's truncation and padding settings (for `encodeBatch`; never applied by `tokenize`).
    public let defaultTruncation: Truncation?
    public let defaultPadding: Padding?
    public let addBOS: Bool
    public let addEOS: Bool

    struct Parts {
        var vocab: Vocabulary
        var encoder: any TextEncoder
        var specials: SpecialTokenMatcher
        var prefix: [Int32] = []
        var suffix: [Int32] = []
        var pieces: TokenPieces
        var cleanUp: CleanUp = .none
        var decoder: TokenDecoder? = nil
        var stripFirstSpace = false
        var preTokenizerName: String
        var defaultTruncation: Truncation? = nil
        var defaultPadding: Padding? = nil
        var addBOS = false
        var addEOS = false
    }

    init(_ p: Parts) {
        vocab = p.vocab
        encoder = p.encoder
        decoder = p.decoder
        specials = p.specials
        prefix = p.prefix
        suffix = p.suffix
        pieces = p.pieces
        cleanUp = p.cleanUp
        stripFirstSpace = p.stripFirstSpace
        preTokenizerName = p.preTokenizerName
        defaultTruncation = p.defaultTruncation
        defaultPadding = p.defaultPadding
        addBOS = p.addBOS
        addEOS = p.addEOS
        hiddenWhenNotRendering = p.vocab.attributes.map { !$0.intersection([.control, .unknown]).isEmpty }
    }

    // MARK: loading

    /// A tokenizer.json file, a folder holding tokenizer.json (and optionally
    /// tokenizer_config.json), or a .gguf file.
    public static func load(path: String) throws -> Tokenizer {
        if isDirectory(path) {
            let json = path + "/tokenizer.json"
            guard fileExists(json) else {
                throw LoomError.io("'\(path)' has no tokenizer.json")
            }
            let config = path + "/tokenizer_config.json"
            let configValue = fileExists(config) ? try JSONParser.parse(readWholeFile(config)) : nil
            return try load(tokenizerJSON: try JSONParser.parse(readWholeFile(json)), tokenizerConfig: configValue)
        }
        let file = try MappedFile(path: path)
        let b = file.bytes
        if b.count >= 4, b[0] == 0x47, b[1] == 0x47, b[2] == 0x55, b[3] == 0x46 {  // "GGUF"
            return try load(gguf: try GGUFFile(file: file))
        }
        guard file.count <= 1 << 30 else { throw LoomError.format("'\(path)' is larger than 1 GiB") }
        let json = try JSONParser.parse(b)
        // A tokenizer_config.json next to the file, if any.
        var config: JSONValue? = nil
        if let slash = path.lastIndex(of: "/") {
            let c = String(path[..<slash]) + "/tokenizer_config.json"
            if fileExists(c), !isDirectory(c) { config = try? JSONParser.parse(readWholeFile(c)) }
        } else if fileExists("tokenizer_config.json"), path != "tokenizer_config.json" {
            config = try? JSONParser.parse(readWholeFile("tokenizer_config.json"))
        }
        return try load(tokenizerJSON: json, tokenizerConfig: config)
    }

    // MARK: properties

    public var vocabSize: Int { vocab.count }
    public var bosID: Int32? { vocab.bos }
    public var eosID: Int32? { vocab.eos }
    public var eotID: Int32? { vocab.eot }
    public var padID: Int32? { vocab.pad }
    public var unkID: Int32? { vocab.unk }
    public var sepID: Int32? { vocab.sep }
    public var maskID: Int32? { vocab.mask }

    /// End of generation: EOS, EOT, EOM and the other tokens llama.cpp treats as such.
    public func isEndOfGeneration(_ id: Int32) -> Bool { vocab.eog.contains(id) }
    /// Every end-of-generation token id, ascending.
    public var endOfGenerationTokens: [Int32] { vocab.eog.sorted() }

    public func isControl(_ id: Int32) -> Bool {
        vocab.contains(id) && vocab.attributes[Int(id)].contains(.control)
    }

    /// The vocabulary text of a token, as stored (byte-level spelling for normal tokens).
    public func tokenText(_ id: Int32) throws -> String {
        guard vocab.contains(id) else { throw outOfRange(id) }
        return vocab.texts[Int(id)]
    }

    /// The id of a vocabulary text, if there is one.
    public func tokenID(forText text: String) -> Int32? { vocab.id(of: text) }

    private func outOfRange(_ id: Int32) -> LoomError {
        LoomError.outOfRange("token id \(id) is outside the vocabulary (0..<\(vocab.count))")
    }

    // MARK: encoding

    public func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int32] {
        var t = text
        return try t.withUTF8 { try tokenize(UnsafeRawBufferPointer($0), addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// Tokenizes UTF-8 bytes (invalid sequences decode to U+FFFD, as in llama.cpp).
    public func tokenize(_ utf8: UnsafeRawBufferPointer, addSpecial: Bool, parseSpecial: Bool) throws -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(utf8.count / 3 + 4)
        if addSpecial { out.append(contentsOf: prefix) }
        try encoder.encode(utf8, specials.partition(utf8, parseSpecial: parseSpecial), parseSpecial: parseSpecial, into: &out)
        if addSpecial { out.append(contentsOf: suffix) }
        return out
    }

    // MARK: decoding

    /// The bytes of one token: may be a partial UTF-8 sequence (streaming callers buffer, see
    /// `StreamingDecoder`). With `renderSpecial` false, control and unknown tokens give nothing.
    public func tokenToPiece(_ id: Int32, renderSpecial: Bool) throws -> [UInt8] {
        guard vocab.contains(id) else { throw outOfRange(id) }
        if !renderSpecial && hiddenWhenNotRendering[Int(id)] { return [] }
        return pieces.bytes(Int(id))
    }

    /// The concatenated pieces, then the model's clean-up (llama.cpp's clean_spaces for GGUF
    /// vocabularies that set it; transformers' clean_up_tokenization_spaces for tokenizer.json).
    public func detokenize(_ ids: [Int32], renderSpecial: Bool) throws -> [UInt8] {
        try detokenize(ids, renderSpecial: renderSpecial, cleanUpSpaces: true)
    }

    /// As `detokenize(_:renderSpecial:)`; `cleanUpSpaces: false` skips the clean-up (the exact
    /// concatenation of pieces).
    public func detokenize(_ ids: [Int32], renderSpecial: Bool, cleanUpSpaces: Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        if let decoder {
            var tokens: [[UInt8]] = []
            tokens.reserveCapacity(ids.count)
            for id in ids {
                guard vocab.contains(id) else { throw outOfRange(id) }
                if !renderSpecial && hiddenWhenNotRendering[Int(id)] { continue }
                tokens.append(Array(vocab.texts[Int(id)].utf8))
            }
            out = decoder.decode(tokens)
        } else {
            out.reserveCapacity(ids.count * 4)
            var first = true
            for id in ids {
                guard vocab.contains(id) else { throw outOfRange(id) }
                defer { first = false }
                if !renderSpecial && hiddenWhenNotRendering[Int(id)] { continue }
                let start = out.count
                pieces.append(Int(id), to: &out)
                if first && stripFirstSpace && out.count > start && out[start] == 0x20 { out.remove(at: start) }
            }
        }
        return cleanUpSpaces ? cleanUp.apply(out) : out
    }

    /// Detokenized text as a String (invalid UTF-8 becomes U+FFFD).
    public func decode(_ ids: [Int32], renderSpecial: Bool) throws -> String {
        String(decoding: try detokenize(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }
}
