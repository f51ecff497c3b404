#!/usr/bin/env python3
"""Generate Loom's Unicode normalization tables and their test fixture from Python's unicodedata.

Writes
  Sources/LoomTokenizers/Unicode/NormalizationData.swift   tables as compact text, parsed once at run time
  Tests/Fixtures/tokenizers/unicode-normalization-cases.json  NFD/NFC/NFKD/NFKC of every code point
      that some form changes (Hangul syllables sampled), hand-picked tricky strings and seeded random ones

The tables are text, not Swift array literals, because large array literals compile very slowly.
Needs Python 3.11 (unicodedata 14.0.0) so that the tables match the fixture and HF tokenizers' era.

Usage: python3 scripts/gen-unicode-normalization.py [--root DIR]
"""
import argparse
import json
import os
import random
import sys
import unicodedata as ud

UNICODE_VERSION = "14.0.0"
SEED = 20250614
RANDOM_CASES = 400
HANGUL_SAMPLE_STEP = 53  # every 53rd syllable goes to the fixture (all 11172 would be ~400 KB)

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
S_COUNT = L_COUNT * V_COUNT * T_COUNT
FORMS = ("NFD", "NFC", "NFKD", "NFKC")
MAX_CP = 0x110000


def is_hangul_syllable(cp):
    return S_BASE <= cp < S_BASE + S_COUNT


def raw_decomposition(cp):
    """(is_compatibility, [code points]) from UnicodeData, or None."""
    d = ud.decomposition(chr(cp))
    if not d:
        return None
    parts = d.split()
    compat = parts[0].startswith("<")
    return compat, [int(x, 16) for x in (parts[1:] if compat else parts)]


def full_decomposition(cp, compat):
    """Recursive decomposition, not yet canonically ordered (the Swift side reorders)."""
    d = raw_decomposition(cp)
    if d is None or (d[0] and not compat):
        return [cp]
    out = []
    for c in d[1]:
        out += full_decomposition(c, compat)
    return out


def ranges(cps):
    """Sorted code points as (first, last) runs."""
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] + 1 == cp:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def hexs(cps):
    return ".".join("%X" % c for c in cps)


def wrap(tokens, width=118):
    lines, line = [], ""
    for t in tokens:
        if line and len(line) + 1 + len(t) > width:
            lines.append(line)
            line = t
        else:
            line = t if not line else line + " " + t
    if line:
        lines.append(line)
    return "\n".join("    " + l for l in lines)


def build_tables():
    ccc = {cp: ud.combining(chr(cp)) for cp in range(MAX_CP) if ud.combining(chr(cp))}
    canonical, compatibility = {}, {}
    for cp in range(MAX_CP):
        if raw_decomposition(cp) is None:
            continue
        canon = full_decomposition(cp, False)
        compat = full_decomposition(cp, True)
        if canon != [cp]:
            canonical[cp] = canon
        if compat != canon:
            compatibility[cp] = compat
    # Primary composites: two-code-point canonical decompositions that NFC keeps (this leaves out
    # composition exclusions, singletons and non-starter decompositions, exactly as unicodedata does).
    compositions = []
    for cp in sorted(canonical):
        d = raw_decomposition(cp)
        if d and not d[0] and len(d[1]) == 2 and ud.normalize("NFC", chr(cp)) == chr(cp):
            compositions.append((d[1][0], d[1][1], cp))
    nfc_unstable = [cp for cp in range(MAX_CP) if ud.normalize("NFC", chr(cp)) != chr(cp)]
    nfkc_unstable = [cp for cp in range(MAX_CP) if ud.normalize("NFKC", chr(cp)) != chr(cp)]
    return ccc, canonical, compatibility, compositions, nfc_unstable, nfkc_unstable


def stable_below(ccc, canonical, compatibility, seconds, nfc_unstable, nfkc_unstable):
    """The largest bound below which every code point is a normalization boundary for each form."""

    def first(cps):
        return min(cps) if cps else MAX_CP

    common = min(first(ccc), first(seconds))
    return {
        "nfd": min(common, first(canonical)),
        "nfkd": min(common, first(canonical), first(compatibility)),
        "nfc": min(common, first(nfc_unstable)),
        "nfkc": min(common, first(nfkc_unstable)),
    }


def write_swift(path, ccc, canonical, compatibility, compositions, nfc_unstable, nfkc_unstable):
    seconds = {b for _, b, _ in compositions}
    limits = stable_below(ccc, canonical, compatibility, seconds, nfc_unstable, nfkc_unstable)
    ccc_tokens = []
    for first, last in ranges(ccc):
        # Split runs where the class changes.
        start = first
        for cp in range(first, last + 2):
            if cp > last or ccc[cp] != ccc[start]:
                end = cp - 1
                span = "%X" % start if start == end else "%X-%X" % (start, end)
                ccc_tokens.append("%s:%X" % (span, ccc[start]))
                start = cp
    canonical_tokens = ["%X:%s" % (cp, hexs(d)) for cp, d in sorted(canonical.items())]
    compatibility_tokens = ["%X:%s" % (cp, hexs(d)) for cp, d in sorted(compatibility.items())]
    composition_tokens = ["%X.%X:%X" % t for t in compositions]

    def range_tokens(cps):
        return ["%X" % a if a == b else "%X-%X" % (a, b) for a, b in ranges(cps)]

    # The Swift side keeps lengths in a byte and record offsets in 16 bits.
    assert max(len(d) for d in list(canonical.values()) + list(compatibility.values())) < 256
    assert 1 + sum(1 + len(canonical.get(cp, [])) + len(compatibility.get(cp, []))
                   for cp in set(canonical) | set(compatibility)) <= 1 << 16
    last_data = max(list(ccc) + list(canonical) + list(compatibility) + list(seconds)
                    + nfc_unstable + nfkc_unstable + [S_BASE + S_COUNT - 1])
    src = f"""// Generated by scripts/gen-unicode-normalization.py from Python {sys.version_info.major}.{sys.version_info.minor}'s unicodedata
// (Unicode {ud.unidata_version}). Do not edit; run the script again instead.
//
// The tables are text rather than array literals because large literals compile very slowly.
// Each is a list of tokens separated by white space; a token is hexadecimal numbers joined by
// '-' (a range), ':' or '.'. NormalizationTables parses them once, on first use.

enum NormalizationData {{
    static let unicodeVersion = "{ud.unidata_version}"

    /// Below these bounds every code point has class 0, no mapping and composes with nothing
    /// before it, so such text is already normalized.
    static let nfdStableBelow: UInt32 = 0x{limits['nfd']:X}
    static let nfcStableBelow: UInt32 = 0x{limits['nfc']:X}
    static let nfkdStableBelow: UInt32 = 0x{limits['nfkd']:X}
    static let nfkcStableBelow: UInt32 = 0x{limits['nfkc']:X}

    /// No code point at or above this has a class, a mapping or a quick-check entry.
    static let dataLimit: UInt32 = 0x{last_data + 1:X}

    /// Non-zero canonical combining classes: `first[-last]:class`.
    static let combiningClasses: StaticString = \"\"\"
{wrap(ccc_tokens)}
    \"\"\"

    /// Full (recursive) canonical decompositions, before canonical ordering: `cp:d1.d2…`.
    /// Hangul syllables are left to the algorithm.
    static let canonicalDecompositions: StaticString = \"\"\"
{wrap(canonical_tokens)}
    \"\"\"

    /// Full compatibility decompositions where they differ from the canonical ones: `cp:d1.d2…`.
    static let compatibilityDecompositions: StaticString = \"\"\"
{wrap(compatibility_tokens)}
    \"\"\"

    /// Primary composites (no exclusions, singletons or non-starter decompositions):
    /// `first.second:composite`. Hangul is left to the algorithm.
    static let compositions: StaticString = \"\"\"
{wrap(composition_tokens)}
    \"\"\"

    /// Code points that cannot appear in NFC (NFC_Quick_Check=No): `first[-last]`.
    static let nfcUnstable: StaticString = \"\"\"
{wrap(range_tokens(nfc_unstable))}
    \"\"\"

    /// Code points that cannot appear in NFKC (NFKC_Quick_Check=No): `first[-last]`.
    static let nfkcUnstable: StaticString = \"\"\"
{wrap(range_tokens(nfkc_unstable))}
    \"\"\"
}}
"""
    with open(path, "w") as f:
        f.write(src)
    return len(src)


# Hand-picked strings: Hangul, reordering, blocking, exclusions, compatibility, scripts, emoji.
TRICKY = [
    # Compatibility ligatures and look-alikes.
    "ﬁ", "ﬃ", "ﬁx", "Å", "Å", "A\u030A", "Å\u0301", "Ω", "K", "ſ", "ẛ", "ẛ\u0323", "ſ\u0307",
    "½", "™", "Ⅻ", "①", "⑴", "㍿", "㌀", "ﷺ", "ﷻ", "ｆｉ", "ＡＢＣ１２３", "𝐀𝐁𝐂", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "µ", "ª", "²", "\u00A0",
    "\u2003", "\u3000", "…", "‥", "ℌ", "ℂ", "ℵ", "㏒", "㎏", "ǆ", "Ǆ", "ǅ", "ĳ", "Ŀ", "ŉ", "ｶﾞ", "ﾊﾟ", "ｱｲｳ",
    "ｶ\u3099", "か\u3099", "カ\u309A", "ガ", "か\u3099\u3099", "\uFF9E", "\u309B", "\u309C", "\u3131\u314F",
    "\u3131\u314F\u3131", "\uFFA1\uFFC2",
    # Hangul syllables and conjoining jamo.
    "\u1100\u1161", "\u1100\u1161\u11A8", "\uAC00\u11A8", "\uAC01\u11A8", "\u1100\u1100\u1161", "\u1161\u1100",
    "\u1100\u0301\u1161", "\u11A8", "\uAC00\u11A7", "\uAC00\u11C3", "\u1112\u1175\u11C2", "\u1112\u1175\u11C3",
    "\uAC00\u1161", "\u1100\uAC00", "\uD7A3", "\uD7A3\u11A8", "\u1113\u1161", "\u1100\u1176", "\u115F\u1160",
    "한국어", "\u1112\u1161\u11AB\u1100\u116E\u11A8\u110B\u1165", "\uAC00\u0300\u11A8", "\u1100\u1161\u0300\u11A8",
    "\u1100\u302E\u1161", "\u1100\u1161\u302E",
    # Canonical ordering of combining marks.
    "a\u0301\u0316", "a\u0316\u0301", "a\u0301\u0300\u0316\u0323", "e\u0302\u0323", "e\u0323\u0302",
    "a\u0315\u0300", "a\u035C\u0301", "A\u0300\u0301", "A\u0301\u0300", "q\u0307\u0323", "q\u0323\u0307",
    "\u1E0B\u0323", "\u1E0D\u0307", "d\u0307\u0323", "\u00C5\u0323", "\u01FA\u0316", "\u00C0\u0316",
    "\u1EA0\u0301", "o\u031B\u0323\u0301", "o\u0301\u0323\u031B", "u\u0308\u0304", "u\u0304\u0308",
    "a" + "\u0301\u0316\u0300\u0323\u0345\u0327\u0328\u031B\u05B0\u0591\u093C\u0E48\u3099\u1DCE\u20D0\u0F71\u0F72\u0F74\u0F80\u0301",
    "\u05D0\u05B8\u05B7\u05BC", "\u05E9\u05BC\u05C1", "\u05E9\u05C1\u05BC", "\uFB2C", "\uFB2C\u0591", "\uFB4B",
    "\u0301a", "\u0301\u0300", "\u0316\u0301a", "\u0345", "\u03B1\u0345\u0301", "\u03B1\u0301\u0345",
    "\u1FB3\u0301", "\u0390", "\u03B9\u0308\u0301", "\u1FEE", "\u1FEE\u0345", "\u0344", "\u0340\u0341",
    "\u0343\u0342", "\u0374", "\u037E", "\u0387", "\u1FBE", "\u1FFD",
    # Blocked and starter-starter compositions.
    "\u0B47\u0B3E", "\u0B47\u0B56", "\u0B47\u0B57", "\u0B47\u0300\u0B3E", "\u0B47\u0B4D\u0B3E",
    "\u0CC6\u0CC2\u0CD5", "\u0CC6\u0CD5", "\u0CC6\u0CD6", "\u0DD9\u0DCA", "\u0DD9\u0DCF\u0DCA", "\u0DD9\u0DDF",
    "\u0BC6\u0BBE", "\u0BC6\u0BD7", "\u0BC7\u0BBE", "\u0D46\u0D3E", "\u0D46\u0D57", "\u1025\u102E",
    "\u1B05\u1B35", "\u1B3A\u1B35", "\U00011099\U000110BA", "\U00011131\U00011127", "\U00011132\U00011127",
    "\U00011347\U0001133E", "\U00011347\U00011357", "\U000114B9\U000114BA", "\U000114B9\U000114B0",
    "\U000115B8\U000115AF", "\U00011935\U00011930", "\u0915\u093C", "\u0928\u093C", "\u0929", "\u0958",
    "\u0958\u0951", "\u09C7\u09BE", "\u09C7\u09D7", "\u0F40\u0FB5", "\u0F69", "\u0F73", "\u0F75\u0F71",
    "\u0F71\u0F72", "\u0F72\u0F71", "\u0F77", "\u0F81", "\u0FB2\u0F80", "\U0001D15E", "\U0001D15F\U0001D165",
    "\U0001D157\U0001D165", "\U0001D1BB\U0001D16E", "\u2ADC", "\u2ADD\u0338", "=\u0338", "<\u0338\u0338",
    "\u2260", "\u226E\u0338",
    # Singletons and CJK compatibility ideographs.
    "\u2126", "\u212A", "\u212B", "\uF900", "\uFA10", "\uFA6C", "\U0002F800", "\U0002FA1D", "\u2F00", "\u3038",
    # Vietnamese, precomposed and decomposed.
    "Tiếng Việt", "Tie\u0302\u0301ng Vie\u0323\u0302t", "Tie\u0301\u0302ng", "Nguyễn Trãi", "Đà Nẵng", "ư\u0323",
    "o\u031B\u0303", "\u01A1\u0309", "a\u0306\u0323", "a\u0323\u0306",
    # Other scripts and everyday text.
    "नमस्ते", "हिन्दी", "क़ख़ग़", "\u0915\u093C\u094D", "বাংলা", "ਖ਼", "\u0A16\u0A3C", "ଡ଼", "தமிழ்", "ಕನ್ನಡ",
    "മലയാളം", "ශ්‍රී", "ไทย", "ພາສາລາວ", "བོད་", "Ελληνικά", "ἄλφα", "Ἀθῆναι", "Русский", "й", "и\u0306",
    "ё", "е\u0308", "عربي", "\u0627\u0653", "\u0627\u0654", "\u0648\u0654", "\uFEF5", "\uFDF2", "עִבְרִית",
    "日本語", "カタカナ", "ひらがな", "中文", "Ünïcödé", "naïve café", "cafe\u0301", "Ⅷ世紀", "①②③",
    "Straße", "ﬀ", "Ǳ", "ℏ", "℃", "℉", "㈱", "㊙", "🅰", "🄰", "🈀", "Ꞔ", "ᴬ", "ₐ", "ᵃ",
    # Emoji and joiners.
    "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇯🇵", "1️⃣", "#️⃣", "❤️", "\u200D", "\u200C", "a\u200Db", "é\u200D\u0301",
    "\uFE0F", "e\uFE0F\u0301", "🧑🏿‍🤝‍🧑🏻",
    # Unassigned, private use, noncharacters and lone surrogates pass through.
    "\u0378", "\uE000", "\uFFFF", "\U0010FFFF", "\U000E0001", "\ud800", "a\ud800\u0301", "\udfff\u0300a",
    "\u0301\ud800", "\uFFFD\u0301",
    # Long combining runs and repetitions.
    "a" + "\u0301" * 40, "a" + "\u0316\u0301" * 20, "a" + "\u0301\u0316" * 20, "\u1100" * 5 + "\u1161" * 5,
    "\u0300" * 3 + "a", "ﬁ" * 10, "Å" * 5 + "\u0323",
]

# Building blocks for the random strings: starters that compose, marks of many classes,
# composites, exclusions, compatibility characters, jamo and starter-starter pairs.
RANDOM_POOL = (
    "aeouAEsſαιωυзиеקכक়কかカがはᄀᄁ가각\u1161\u1175\u11A8\u11C2\u11A7ㄱㅏ"
    "\u0300\u0301\u0302\u0303\u0306\u0307\u0308\u030A\u030C\u0316\u031B\u0323\u0327\u0328\u0345\u0342"
    "\u05B0\u05B7\u05BC\u05C1\u0591\u093C\u094D\u0951\u0E48\u0E38\u3099\u309A\u0F71\u0F72\u0F74\u0F80\u1DCE\u20D0"
    "\u0340\u0341\u0343\u0344\u0F73\u0F75\u0958\uFB2C\u212B\u2126\u00C0\u00C5\u1E9B\u01FA\u1EA0\u1FB3\u0390"
    "\uFB01\uFF76\uFF9E\u00A0\u2460\u3131\u314F\u00BD\u2163\uFDFA\u01C4\u1FEE\u1FBF\u1FC1\u00A8\u00B4\u02D8"
    "\u0B47\u0B3E\u0B56\u0CC6\u0CC2\u0CD5\u0DD9\u0DCA\u0DCF\u0BC6\u0BBE\u102E\u1025\u1B05\u1B35"
    "\U0001D15E\U0001D165\U0001D16E\U000110BA\U00011099\U0001133E\U00011347"
    "\u200D\uFE0F\u0020\u00E9\u0065"
)


def case_row(s):
    cps = [ord(c) for c in s]
    row = [" ".join("%X" % c for c in cps)]
    for form in FORMS:
        out = ud.normalize(form, s)
        # "" stands for "unchanged" to keep the file small.
        row.append("" if out == s else " ".join("%X" % ord(c) for c in out))
    return row


def write_fixture(path):
    rng = random.Random(SEED)
    singles = []
    for cp in range(MAX_CP):
        s = chr(cp)
        if all(ud.normalize(f, s) == s for f in FORMS):
            continue
        if is_hangul_syllable(cp) and (cp - S_BASE) % HANGUL_SAMPLE_STEP != 0 and cp != S_BASE + S_COUNT - 1:
            continue
        singles.append(case_row(s))
    tricky = [case_row(s) for s in TRICKY]
    random_rows = []
    for _ in range(RANDOM_CASES):
        n = rng.randint(2, 10)
        random_rows.append(case_row("".join(rng.choice(RANDOM_POOL) for _ in range(n))))
    doc = {
        "description": "Unicode normalization of code point sequences by Python %d.%d's unicodedata, "
                       "made by scripts/gen-unicode-normalization.py" % sys.version_info[:2],
        "unicode_version": ud.unidata_version,
        "format": "each case is [input, NFD, NFC, NFKD, NFKC]; code points in hex separated by spaces; "
                  "an empty string means the form leaves the input unchanged",
        "single_code_points": singles,
        "strings": tricky,
        "random_strings": random_rows,
    }
    text = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    # One case per line keeps diffs readable.
    text = text.replace("],[", "],\n[")
    with open(path, "w") as f:
        f.write(text + "\n")
    return len(singles), len(tricky), len(random_rows), len(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = ap.parse_args()
    args.root = os.path.normpath(args.root)
    if ud.unidata_version != UNICODE_VERSION:
        sys.exit("gen-unicode-normalization: needs unicodedata %s (Python 3.11), found %s"
                 % (UNICODE_VERSION, ud.unidata_version))
    tables = build_tables()
    ccc, canonical, compatibility, compositions, _, _ = tables
    swift_path = os.path.join(args.root, "Sources/LoomTokenizers/Unicode/NormalizationData.swift")
    size = write_swift(swift_path, *tables)
    print("%s: %d classes, %d canonical, %d compatibility, %d compositions, %d bytes"
          % (swift_path, len(ccc), len(canonical), len(compatibility), len(compositions), size))
    fixture_path = os.path.join(args.root, "Tests/Fixtures/tokenizers/unicode-normalization-cases.json")
    singles, tricky, random_rows, size = write_fixture(fixture_path)
    print("%s: %d single code points, %d strings, %d random strings, %d bytes"
          % (fixture_path, singles, tricky, random_rows, size))


if __name__ == "__main__":
    main()
