/// Turns the bytes of generated tokens into text that is safe to show as it arrives: only whole
/// UTF-8 characters, and never text that could still turn out to be the start of a stop string
/// (that text is held back until it is known not to be).
struct TextStream {
    let stops: [[UInt8]]
    private(set) var bytes: [UInt8] = []
    /// Bytes already handed out.
    private(set) var emitted = 0
    /// Where a stop string was found (the text ends there).
    private(set) var stopAt: Int?

    init(stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    /// Adds a token's bytes; returns the newly releasable text (possibly empty).
    mutating func append(_ piece: [UInt8]) -> [UInt8] {
        let searchFrom = max(0, bytes.count - (stops.map(\.count).max() ?? 0) + 1)
        bytes += piece
        if !stops.isEmpty, let hit = firstStop(from: searchFrom) {
            stopAt = hit
            return release(upTo: hit)
        }
        return release(upTo: safeEnd())
    }

    /// Everything not yet released (at the end of generation).
    mutating func flush() -> [UInt8] {
        release(upTo: stopAt ?? bytes.count)
    }

    /// The final text (cut before a stop string if one was found).
    var text: [UInt8] { Array(bytes[0..<(stopAt ?? bytes.count)]) }

    private mutating func release(upTo end: Int) -> [UInt8] {
        guard end > emitted else { return [] }
        let out = Array(bytes[emitted..<end])
        emitted = end
        return out
    }

    private func firstStop(from start: Int) -> Int? {
        var best: Int?
        for s in stops where bytes.count >= s.count {
            var i = max(0, start - s.count + 1)
            while i + s.count <= bytes.count {
                if bytes[i] == s[0], bytes[i..<(i + s.count)].elementsEqual(s) {
                    if best == nil || i < best! { best = i }
                    break
                }
                i += 1
            }
        }
        return best
    }

    /// End of the text that is both whole UTF-8 and not a possible stop-string prefix.
    private func safeEnd() -> Int {
        var end = bytes.count
        // Hold back the longest suffix that is a proper prefix of some stop string.
        for s in stops {
            var k = min(s.count - 1, bytes.count)
            while k > 0 {
                if bytes[(bytes.count - k)...].elementsEqual(s[0..<k]) {
                    end = min(end, bytes.count - k)
                    break
                }
                k -= 1
            }
        }
        // Hold back an incomplete UTF-8 sequence at the end.
        var i = end - 1
        var back = 0
        while i >= 0, back < 4, bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        if i >= 0 {
            let lead = bytes[i]
            let need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            if end - i < need { end = i }
        }
        return max(end, emitted)
    }
}
