import LoomCore

/// llama.cpp's UGM tokenizer (`llm_tokenizer_ugm_session`) for GGUF "t5" vocabularies, per text
/// fragment:
///
/// 1. Normalization, prefix by prefix of the raw bytes: the longest path down the trie of
///    user-defined tokens is kept as it is (a path, not necessarily a whole token, as llama.cpp's
///    `get_longest_prefix`); otherwise the longest rule of the precompiled charsmap replaces its
///    match; otherwise one UTF-8 character is kept (a malformed byte becomes U+FFFD). Spaces in
///    the result become "▁" (escape_whitespaces); with remove_extra_whitespaces each run of
///    non-space bytes gets one "▁" before it and other spaces vanish, otherwise add_space_prefix
///    puts one "▁" before the first run.
/// 2. `UnigramViterbi` over a trie of normal, user-defined (score 0) and unused tokens; a
///    character no single token covers scores min(normal score) − 10 (in float) as unknown.
/// 3. Consecutive unknown tokens become one.
struct LlamaUnigramEncoder: TextEncoder {
    let tokens: PieceTrie
    let userDefined: PieceTrie
    let charsMap: PrecompiledCharsMap?
    let unknownScore: Double
    let unk: Int32?
    let addSpacePrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    let treatWhitespaceAsSuffix: Bool

    private struct Scratch {
        var normalized: [UInt8] = []
        var viterbi = UnigramViterbi.Scratch()
    }

    /// "▁" (U+2581), the escaped space.
    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]
    private static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]
    private static let noRules = [Bool](repeating: false, count: 256)

    func encode(_ utf8: UnsafeRawBufferPointer, _ fragments: [Fragment], parseSpecial: Bool,
                into out: inout [Int32]) throws {
        var s = Scratch()
        for f in fragments {
            switch f {
            case .token(let id):
                out.append(id)
            case .text(let a, let b):
                guard a >= 0, a <= b, b <= utf8.count else { throw LoomError(.internal, "bad text fragment") }
                try encodeText(UnsafeRawBufferPointer(rebasing: utf8[a..<b]).assumingMemoryBound(to: UInt8.self), &s, &out)
            }
        }
    }

    private func encodeText(_ text: UnsafeBufferPointer<UInt8>, _ s: inout Scratch, _ out: inout [Int32]) throws {
        try normalize(text, into: &s.normalized)
        s.normalized.withUnsafeBufferPointer { normalized in
            tokens.withView { view in
                UnigramViterbi.search(normalized, view, unknownScore: unknownScore, start: .lowestFinite, scratch: &s.viterbi)
            }
        }
        // Unknown characters carry the unk id (none: dropped); a run of unknowns gives one token.
        let unkID = unk ?? -1
        var previousUnknown = false
        for token in s.viterbi.pathTokens {
            let id = token == UnigramViterbi.unknown ? unkID : token
            let isUnknown = id == unkID
            if !(previousUnknown && isUnknown) && id >= 0 { out.append(id) }
            previousUnknown = isUnknown
        }
    }

    // MARK: normalization

    /// The white-space rules, applied to normalized bytes as they come.
    private struct SpaceFolding {
        var out: [UInt8]
        let space: (UInt8, UInt8, UInt8, count: Int)
        let prependSpace: Bool
        let mergeSpaces: Bool
        var spacePrepended = false
        var inWord = false

        @inline(__always)
        mutating func appendSpace() {
            out.append(space.0)
            if space.count == 3 {
                out.append(space.1)
                out.append(space.2)
            }
        }

        @inline(__always)
        mutating func emit(_ c: UInt8) {
            if c != 0x20 {
                if !inWord {
                    inWord = true
                    if (prependSpace && !spacePrepended) || mergeSpaces {
                        appendSpace()
                        spacePrepended = true
                    }
                }
                out.append(c)
            } else {
                inWord = false
                if !mergeSpaces { appendSpace() }
            }
        }

        mutating func emit(_ chunk: UnsafeBufferPointer<UInt8>) {
            for c in chunk { emit(c) }
        }
    }

    private func normalize(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) throws {
        let escaped = Self.escapedSpace
        var folding = SpaceFolding(out: [], space: escapeWhitespaces ? (escaped[0], escaped[1], escaped[2], 3) : (0x20, 0, 0, 1),
                                   prependSpace: !treatWhitespaceAsSuffix && addSpacePrefix, mergeSpaces: removeExtraWhitespaces)
        swap(&folding.out, &out)
        folding.out.removeAll(keepingCapacity: true)
        folding.out.reserveCapacity(input.count + input.count / 2 + 8)
        defer { swap(&folding.out, &out) }
        try userDefined.withView { user in
            try (charsMap?.strings ?? []).withUnsafeBufferPointer { strings in
                try normalizePrefixes(input, user, strings, &folding)
            }
        }
        if treatWhitespaceAsSuffix && addSpacePrefix { folding.appendSpace() }
    }

    /// llama.cpp's `normalize_prefix`, prefix after prefix.
    private func normalizePrefixes(_ input: UnsafeBufferPointer<UInt8>, _ user: PieceTrie.View,
                                   _ strings: UnsafeBufferPointer<UInt8>, _ folding: inout SpaceFolding) throws {
        let n = input.count
        let startsRule = charsMap?.startsRule ?? Self.noRules
        var offset = 0
        while offset < n {
            let b = input[offset]
            // Most ASCII starts no user-defined token and no rule: it stays as it is.
            if b < 0x80 && !startsRule[Int(b)] && user.child(0, b) == 0 {
                folding.emit(b)
                offset += 1
                continue
            }
            let rest = UnsafeBufferPointer(rebasing: input[offset...])
            // How far the user-defined token trie follows the input.
            var depth = 0
            var node = 0
            while depth < rest.count {
                node = user.child(node, rest[depth])
                if node == 0 { break }
                depth += 1
            }
            if depth > 0 {
                folding.emit(UnsafeBufferPointer(rebasing: rest[..<depth]))
                offset += depth
                continue
            }
            if let map = charsMap, let match = try map.longestMatch(rest) {
                folding.emit(UnsafeBufferPointer(rebasing: strings[try map.replacement(at: match.offset)]))
                offset += match.length
                continue
            }
            let length = Self.validSequenceLength(rest)
            if length > 0 {
                folding.emit(UnsafeBufferPointer(rebasing: rest[..<length]))
                offset += length
            } else {
                for c in Self.replacementCharacter { folding.emit(c) }
                offset += 1
            }
        }
    }

    /// Length of the UTF-8 sequence at the start of `b` by llama.cpp's `unicode_cpt_from_utf8`
    /// (a lead byte and enough continuation bytes; overlong forms and surrogates pass), 0 when
    /// malformed.
    @inline(__always)
    static func validSequenceLength(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        let b0 = b[0]
        let length: Int
        if b0 & 0x80 == 0 { return 1 }
        if b0 & 0x40 == 0 { return 0 }
        if b0 & 0x20 == 0 { length = 2 } else if b0 & 0x10 == 0 { length = 3 } else if b0 & 0x08 == 0 { length = 4 } else { return 0 }
        guard b.count >= length else { return 0 }
        for k in 1..<length where b[k] & 0xC0 != 0x80 { return 0 }
        return length
    }
}
