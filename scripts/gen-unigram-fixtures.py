#!/usr/bin/env python3
"""Unigram tokenizer.json fixtures with HF tokenizers' own ids (tokenizers 0.23.3).

A SentencePiece-style Unigram model is trained on the Debian common-licenses texts, then saved in
two variants, each with ~50 texts (full-width forms, ligatures, accents composed and decomposed,
CJK, emoji, runs of spaces, tabs and newlines, control characters, special tokens):

- unigram-precompiled.json: the normalizer replaced by XLM-RoBERTa's (a Precompiled normalizer
  with a real SentencePiece charsmap, here the one in llama.cpp's ggml-vocab-nomic-bert-moe.gguf,
  then Replace " {2,}" -> " "), Metaspace pre-tokenizer and decoder, "$A </s>" template.
- unigram-bytefallback.json: <0x00>..<0xFF> pieces added, byte_fallback on, NFKC, WhitespaceSplit +
  Metaspace, Llama-style decoder (Replace "▁" -> " ", ByteFallback, Fuse, Strip).

Each file: {"tokenizer": <tokenizer.json>, "add_special_tokens": true, "cases": [{text, ids,
tokens, decoded}]} (decoded with skip_special_tokens=False).

Run: python3 scripts/gen-unigram-fixtures.py   (needs `pip install tokenizers==0.23.3 gguf numpy`
and the vocab suite from scripts/fetch-test-data.sh)
"""
import base64
import glob
import json
import os

import gguf
import numpy as np
import tokenizers
from tokenizers import Tokenizer
from tokenizers.implementations import SentencePieceUnigramTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("LOOM_CACHE") or os.path.expanduser("~/.cache/loom")
GGUF = os.path.join(CACHE, "vocab-suite", "ggml-vocab-nomic-bert-moe.gguf")
OUT = os.path.join(ROOT, "Tests/Fixtures/tokenizers")

TEXTS = [
    "Hello world", " leading space", "trailing space ", "  two  spaces", "many      spaces   here",
    "tabs\tand\nnewlines\n\n", "windows\r\nline\r\nends", "\r\n", "\r", " ", "", "a",
    "The GNU General Public License is a free, copyleft license for software and other kinds of works.",
    "ＦＵＬＬ-ｗｉｄｔｈ １２３ ！？ （括弧）", "ﬁnancial ﬂow oﬀer eﬃcient ﬄuﬀy", "Ⅻ ⅷ ① ⑳ ㍿ ㎏ ℃ ™ ½ x² H₂O",
    "ｶﾀｶﾅ ｶﾞｷﾞ ﾊﾟﾋﾟ", "café naïve résumé Ångström", "cafe\u0301 nai\u0308ve A\u030angstro\u0308m",
    "e\u0301\u0301\u0301 x\u0301\u0302\u0303\u0304y", "Straße ß İstanbul ıi Ωmega Ω K",
    "日本語のテキストです。", "中文字符和标点，句号。", "한국어 텍스트 \u1100\u1161\u11a8", "Ελληνικά Русский العربية עברית",
    "हिन्दी क्षत्रिय ภาษาไทย", "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 1️⃣ ❤️", "🦙🦙🦙", "a😀b",
    "\x00nul\x01\x02\x1f", "del\x7fchar", "c1\x80\x85\x9fcontrols", "bom\ufeffmark", "zero\u200bwidth\u200cjoin\u200d",
    "\u00a0nbsp\u00a0\u3000ideographic\u2009thin", "\x0bvt\x0cff\u2028ls\u2029ps", "soft\u00adhyphen",
    "\ufffd replacement \ue000 private", "astral \U0001F600 \U00010000 \U0010FFFD",
    "▁literal▁block ▁", "</s> inside text</s>", "<pad><unk>", "<0x41> looks like a byte",
    "def f(x):\n    return x**2  # square", "3.14159 1,000,000 1e-9 0x1F",
    "\"quotes\" 'single' «guillemets» „low“ — dash – en", "path/to/file.txt C:\\Windows\\ user@example.com",
    "You may copy and distribute verbatim copies of this License document, but changing it is not allowed.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]


def train():
    files = sorted(glob.glob("/usr/share/common-licenses/*"))
    files = [f for f in files if os.path.isfile(f)]
    tok = SentencePieceUnigramTokenizer()
    tok.train(files, vocab_size=1200, show_progress=False, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    return json.loads(tok.to_str())


def charsmap():
    reader = gguf.GGUFReader(GGUF)
    field = reader.fields["tokenizer.ggml.precompiled_charsmap"]
    return bytes(np.array(field.contents(), dtype=np.uint8))


def template(doc):
    eos = next(i for i, (p, _) in enumerate(doc["model"]["vocab"]) if p == "</s>")
    doc["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "special_tokens": {"</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]}},
    }


def precompiled_variant(base):
    doc = json.loads(json.dumps(base))
    doc["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap()).decode("ascii")},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
    ]}
    doc["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    doc["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    template(doc)
    return doc


def byte_fallback_variant(base):
    doc = json.loads(json.dumps(base))
    vocab = doc["model"]["vocab"]
    low = min(s for _, s in vocab)
    present = {p for p, _ in vocab}
    for b in range(256):
        piece = f"<0x{b:02X}>"
        if piece not in present:
            vocab.append([piece, low - 1.0])
    doc["model"]["byte_fallback"] = True
    doc["normalizer"] = {"type": "NFKC"}
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    ]}
    doc["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0},
    ]}
    template(doc)
    return doc


def write(name, doc):
    tok = Tokenizer.from_str(json.dumps(doc))
    cases = []
    for text in TEXTS:
        enc = tok.encode(text, add_special_tokens=True)
        cases.append({"text": text, "ids": enc.ids, "tokens": enc.tokens,
                      "decoded": tok.decode(enc.ids, skip_special_tokens=False)})
    out = {"generator": f"HF tokenizers {tokenizers.__version__} (scripts/gen-unigram-fixtures.py)",
           "tokenizer": json.loads(tok.to_str()), "add_special_tokens": True, "cases": cases}
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


def main():
    base = train()
    write("unigram-precompiled.json", precompiled_variant(base))
    write("unigram-bytefallback.json", byte_fallback_variant(base))


if __name__ == "__main__":
    main()
