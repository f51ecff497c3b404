/// Extended grapheme cluster boundaries (UAX #29) over code points, for HF's Precompiled
/// normalizer, which rewrites text one grapheme at a time.
///
/// Between two code points below U+0300 there is always a boundary except inside CR LF (no
/// Extend, SpacingMark, Prepend, ZWJ, regional indicator or Hangul jamo lives there), so Latin
/// text is cut without any table. Stretches that need the full rules are handed to the standard
/// library's `Character` segmentation.
enum GraphemeClusters {
    /// Calls `body(start, end)` for every grapheme of `text`, in order.
    static func forEach(_ text: UnsafeBufferPointer<UInt32>, _ body: (Int, Int) throws -> Void) rethrows {
        let n = text.count
        var i = 0
        while i < n {
            if i + 1 == n {
                try body(i, n)
                return
            }
            if quickBoundary(text[i], text[i + 1]) {
                try body(i, i + 1)
                i += 1
                continue
            }
            // A stretch that ends at the next certain boundary (or the end of the text).
            var end = i + 1
            while end < n && !quickBoundary(text[end - 1], text[end]) { end += 1 }
            try segment(UnsafeBufferPointer(rebasing: text[i..<end]), offset: i, body)
            i = end
        }
    }

    /// True when the rules certainly put a boundary between `a` and `b`.
    @inline(__always)
    static func quickBoundary(_ a: UInt32, _ b: UInt32) -> Bool {
        a < 0x300 && b < 0x300 && !(a == 0x0D && b == 0x0A)
    }

    private static func segment(_ run: UnsafeBufferPointer<UInt32>, offset: Int, _ body: (Int, Int) throws -> Void) rethrows {
        var scalars = String.UnicodeScalarView()
        for c in run {
            // Surrogates and out-of-range values (from lenient UTF-8 decoding) segment like U+FFFD.
            scalars.append(Unicode.Scalar(c) ?? "\u{FFFD}")
        }
        var start = offset
        for ch in String(scalars) {
            let count = ch.unicodeScalars.count
            try body(start, start + count)
            start += count
        }
    }
}
