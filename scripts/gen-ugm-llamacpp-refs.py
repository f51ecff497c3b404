#!/usr/bin/env python3
"""References for GGUF Unigram ("t5" / llama.cpp UGM) tokenization.

Runs llama.cpp (llama-cpp-python 0.3.36, vocab_only) on ggml-vocab-nomic-bert-moe.gguf over every
input of llama.cpp's llama-spm and bert-bge vocab suites plus texts that exercise the UGM path
(precompiled-charsmap normalization, white-space folding, unknown characters, special tokens,
invalid UTF-8), and writes Tests/Fixtures/tokenizers/nomic-bert-moe-llamacpp.json.

Each case: text (or text_hex for bytes that are not UTF-8), ids (add_special=false,
parse_special=false); some also ids_add_special (add_special=true), ids_parse_special
(parse_special=true). detokenized / detokenized_special: llama_detokenize of ids with
remove_special=false and unparse_special false / true (hex when not UTF-8).

It also writes Tests/Fixtures/tokenizers/tiny-ugm.gguf, a small "t5" vocabulary (the pieces of
tiny-t5/tokenizer.json plus user-defined, byte and unused tokens; nomic-bert-moe's charsmap;
add_space_prefix on, remove_extra_whitespaces off; the hyper-parameters of nomic-bert-moe so that
llama.cpp loads it)
and tiny-ugm-llamacpp.json, the same kind of references for it.

Run with the llama.cpp venv (which also needs the gguf package: `pip install gguf`, or PYTHONPATH
to a folder holding it and its imports):
~/.cache/loom/llamacpp-venv/bin/python scripts/gen-ugm-llamacpp-refs.py
"""
import ctypes
import json
import os
import sys

import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("LOOM_CACHE") or os.path.expanduser("~/.cache/loom")
SUITE = os.path.join(CACHE, "vocab-suite")
MODEL = os.path.join(SUITE, "ggml-vocab-nomic-bert-moe.gguf")
FIXTURES = os.path.join(ROOT, "Tests/Fixtures/tokenizers")
OUT = os.path.join(FIXTURES, "nomic-bert-moe-llamacpp.json")
TINY = os.path.join(FIXTURES, "tiny-ugm.gguf")
TINY_OUT = os.path.join(FIXTURES, "tiny-ugm-llamacpp.json")


def suite_inputs(name):
    with open(os.path.join(SUITE, f"ggml-vocab-{name}.gguf.inp"), "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    return text.split("\n__ggml_vocab_test__\n")


OWN = [
    # White space: folding, leading/trailing, tabs, newlines, CR LF, exotic spaces.
    "a  b   c", "   leading", "trailing   ", " ", "  ", "\t", "\n", "\r\n", "x\r\ny", "tab\tsep\tvalues",
    "line1\nline2\n\nline4", "\u00a0nbsp\u00a0here", "ideographic\u3000space", "thin\u2009space\u200ahair",
    "zero\u200bwidth\u200cjoiners\u200d", "\u2028line sep\u2029para sep", "\x0bvertical\x0cformfeed",
    # Full width, ligatures, compatibility forms, accents (composed and decomposed).
    "ＡＢＣ ａｂｃ １２３！？", "ﬁne ﬂow ﬀ ﬃ ﬄ ﬆ", "Ⅻ ⅷ ① ⑳ ㊿ ㍿ ㎏ ℃ ™ ½ x² H₂O", "ｱｲｳｴｵ ｶﾞｷﾞ ﾊﾟ",
    "café naïve résumé Ångström", "cafe\u0301 nai\u0308ve A\u030angstro\u0308m", "e\u0301\u0301\u0301",
    "ǅ ǈ ǋ ﬅ ℌ ℍ ℕ 𝐀𝐁𝐂 𝕏", "Straße ß ẞ", "İstanbul ıi", "Ωmega Ω K Å",
    # Scripts.
    "日本語のテキストです。", "中文字符和标点，句号。", "한국어 텍스트 각", "\u1100\u1161\u11a8 jamo",
    "Ελληνικά κείμενο", "Русский текст, ёлка", "العربية نص", "עברית טקסט", "हिन्दी पाठ क्षत्रिय",
    "ภาษาไทย ข้อความ", "ትግርኛ ፊደል", "ᚠᚢᚦᚨᚱᚲ runes",
    # Emoji: single, skin tone, ZWJ family, flags, keycaps, variation selectors.
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 1️⃣ ❤️ ☺︎", "🦙🦙🦙", "a😀b",
    # Control characters and odd code points.
    "\x00nul\x01\x02\x1f", "del\x7fchar", "c1\x80\x85\x9fcontrols", "bom\ufeffmark", "\ufffd replacement",
    "private \ue000\uf8ff", "noncharacter \ufdd0 \uffff", "astral \U0001F600 \U00010000 \U0010FFFD",
    "soft\u00adhyphen", "rtl\u202eoverride\u202c", "▁literal▁block", "▁", "▁▁ ▁",
    # Special and added tokens as text (parse_special false and true).
    "<s>", "</s>", "<unk>", "<pad>", "<mask>", "a <mask> b", "a<mask>b", "  <mask>  x", "<s>hello</s>",
    "[PAD250001]", "<s> <mask></s><unk>", "<<s>>",
    # Code, numbers, punctuation.
    "def f(x):\n    return x**2  # square", "3.14159 1,000,000 1e-9 0x1F", "!!!??? ... ,,, ;;;",
    "\"quotes\" 'single' «guillemets» „low“", "path/to/file.txt C:\\Windows\\ \\n",
    "user@example.com https://example.org/a?b=c&d=e#f", "((([[[{{{}}}]]])))",
    "The quick brown fox jumps over the lazy dog.", "Hello world", " Hello world", "Hello  world ",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a" * 200, "ab" * 64 + " " + "日本" * 20,
]

# Bytes that are not UTF-8 (llama.cpp turns each bad byte into U+FFFD).
OWN_BYTES = [
    b"\xff", b"abc\xffdef", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xe2\x82x", b"\xf0\x9f\x98", b"\xed\xa0\x80 surrogate",
    b"\xc0\xaf overlong", b"\xf8\x88\x80\x80\x80 five", b"\x80\x80\x80 continuation", b"mixed \xe6\x97\xa5\xff\xe6\x9c\xac",
]

PARSE_SPECIAL = {"<s>", "</s>", "<unk>", "<pad>", "<mask>", "a <mask> b", "a<mask>b", "  <mask>  x",
                 "<s>hello</s>", "[PAD250001]", "<s> <mask></s><unk>", "<<s>>", "Hello world"}


def detokenize(vocab, ids, unparse_special):
    n = len(ids)
    arr = (llama_cpp.llama_token * max(n, 1))(*ids)
    size = 64 + 16 * n
    buf = ctypes.create_string_buffer(size)
    got = llama_cpp.llama_detokenize(vocab, arr, n, buf, size, False, unparse_special)
    if got < 0:
        size = -got + 1
        buf = ctypes.create_string_buffer(size)
        got = llama_cpp.llama_detokenize(vocab, arr, n, buf, size, False, unparse_special)
    return buf.raw[:got]


def put_text(case, key, raw):
    try:
        case[key] = raw.decode("utf-8")
    except UnicodeDecodeError:
        case[key + "_hex"] = raw.hex()


# Added to the tiny vocabulary: (text, GGUF token type, score). Type 4 user-defined, 5 unused, 6 byte.
TINY_EXTRA = [("<sep>", 4, 0.0), ("[USER]", 4, 0.0), ("abc", 4, 0.0), ("日本", 4, 0.0), ("ab▁cd", 4, 0.0),
              ("x y", 4, 0.0), ("<|endoftext|>", 4, -1.0), ("zzz", 5, -2.0), ("[UNUSED]", 5, -1.5),
              ("<0x41>", 6, 0.0), ("<0xE6>", 6, 0.0), ("<0x0A>", 6, 0.0), ("ﬁx", 4, 0.0), ("Ａb", 4, 0.0)]

TINY_TEXTS = [
    "abc", "xabcx", "ab", "abd", "abcabc", "a b c", "<sep>", "a<sep>b", " <sep> ", "<se", "[USER] hi", "[USE]",
    "x y z", "x  y", "ab▁cd", "ab cd", "日本語", "日本", "日", "<|endoftext|>", "a<|endoftext|>b", "zzz", "zzzz",
    "[UNUSED]", "<0x41>", "AAA", "\n", " leading", "  double  space ", "trailing  ", "\t\n", "tab\tnew\nline",
    "Hello world", "The teacher taught the student with the book.", "ﬁ Ａ é e\u0301", "😀 emoji", "\x00\x01",
    # A path into a user-defined token is kept as it is (no charsmap rule): "ﬁ" of "ﬁx", "Ａ" of "Ａb".
    "ﬁy", "ﬁx", "ﬁ", "xﬁ", "Ａc", "Ａb", "ＡＡ", "ﬁﬁx",
]
TINY_PARSE_SPECIAL = {"<sep>", "a<sep>b", " <sep> ", "<|endoftext|>", "a<|endoftext|>b", "[USER] hi", "abc", "Hello world"}


def make_tiny():
    """A small UGM vocabulary from tiny-t5's pieces (see the module docstring)."""
    from gguf import GGUFReader, GGUFValueType, GGUFWriter
    with open(os.path.join(FIXTURES, "tiny-t5", "tokenizer.json"), encoding="utf-8") as f:
        pieces = json.load(f)["model"]["vocab"]
    tokens, types, scores = ["<pad>", "</s>", "<unk>"], [3, 3, 2], [0.0, 0.0, 0.0]
    for piece, score in pieces[3:]:
        tokens.append(piece)
        types.append(1)
        scores.append(score)
    for text, kind, score in TINY_EXTRA:
        tokens.append(text)
        types.append(kind)
        scores.append(score)
    reader = GGUFReader(MODEL)
    writer = GGUFWriter(TINY, reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key.startswith("tokenizer.") or key == "general.architecture":
            continue
        value = field.contents()
        main = field.types[0]
        sub = field.types[-1] if main == GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, main, sub)
    writer.add_tokenizer_model("t5")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    charsmap = reader.fields["tokenizer.ggml.precompiled_charsmap"]
    writer.add_key_value("tokenizer.ggml.precompiled_charsmap", charsmap.contents(), GGUFValueType.ARRAY, GGUFValueType.UINT8)
    writer.add_add_space_prefix(True)
    writer.add_remove_extra_whitespaces(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    make_tiny()
    for model, out, inputs, parse_special in [
        (MODEL, OUT, [("llama-spm", t.encode("utf-8")) for t in suite_inputs("llama-spm")]
            + [("bert-bge", t.encode("utf-8")) for t in suite_inputs("bert-bge")]
            + [("own", t.encode("utf-8")) for t in OWN] + [("own-bytes", b) for b in OWN_BYTES], PARSE_SPECIAL),
        (TINY, TINY_OUT, [("own", t.encode("utf-8")) for t in TINY_TEXTS + OWN] + [("own-bytes", b) for b in OWN_BYTES],
            TINY_PARSE_SPECIAL | PARSE_SPECIAL),
    ]:
        write_refs(model, out, inputs, parse_special)


def write_refs(model, out, inputs, parse_special):
    llm = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    cases = []
    seen = set()
    for source, raw in inputs:
        if raw in seen:
            continue
        seen.add(raw)
        case = {"source": source}
        put_text(case, "text", raw)
        ids = llm.tokenize(raw, add_bos=False, special=False)
        case["ids"] = ids
        text = raw.decode("utf-8", errors="replace")
        if source == "own" and text in parse_special:
            case["ids_parse_special"] = llm.tokenize(raw, add_bos=False, special=True)
            case["ids_add_special"] = llm.tokenize(raw, add_bos=True, special=False)
        put_text(case, "detokenized", detokenize(vocab, ids, False))
        put_text(case, "detokenized_special", detokenize(vocab, ids, True))
        cases.append(case)
    doc = {
        "engine": f"llama.cpp (llama-cpp-python {llama_cpp.__version__}), vocab_only",
        "model": os.path.basename(model) + " (tokenizer.ggml.model = t5)",
        "cases": cases,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    sys.exit(main())
