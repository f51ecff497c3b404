#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/pipeline/: tokenizer.json variants that swap in every HF
normalizer, pre-tokenizer, post-processor and decoder Loom implements, with HF tokenizers' ids and
decoded text for a set of tricky texts (cases.json). Needs `pip install tokenizers` (0.23.3 made
the committed files)."""
import glob
import json
import os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizers", "pipeline")
LICENSES = sorted(p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p) and not p.endswith("Apache-2.0"))
CORPUS = [open(p, encoding="utf-8", errors="replace").read() for p in LICENSES]
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"]

TEXTS = [
    "Hello world",
    "  leading and trailing spaces  ",
    "multiple   spaces\tand\ttabs\nand\nnewlines\r\n",
    "Punctuation! Does it work? (yes: it does) -- [maybe]; 'quotes' \"double\"",
    "Numbers 1234567 and 3.14159 and 1,000,000",
    "ÀÉÎÕÜ àéîõü Ñandú Çà",
    "ﬁancé ﬂow Ⅻ ① ｆｕｌｌｗｉｄｔｈ Å Å",
    "中文字符和日本語のテキスト 한국어",
    "emoji 😀👍🏽 and ZWJ 👨‍👩‍👧",
    "UPPER lower MiXeD CaSe İstanbul ǅ",
    "e\u0301 a\u0300\u0316 composed vs decomposed",
    "control\u0000chars\u0007here\u200b zero\u00a0width",
    "The Licensor grants You a worldwide, royalty-free, non-exclusive license.",
    "x",
    "",
    "   ",
    "[CLS] special [SEP] tokens <s> in </s> text",
    "abc<sep>def and a <sep> between, HELLO there, Hello: read the license now",
    "don't can't won't I'm you're it's",
    "snake_case and kebab-case and CamelCase",
    "path/to/file.txt and https://example.com/?q=1&r=2",
]


def train(byte_level):
    tok = Tokenizer(models.BPE(unk_token=None if byte_level else "[UNK]"))
    if byte_level:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS, limit_alphabet=100)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def comp(obj):
    """A component's JSON through a throwaway tokenizer (components have no to_str)."""
    t = Tokenizer(models.BPE())
    kind = {"normalizers": "normalizer", "pre_tokenizers": "pre_tokenizer", "decoders": "decoder",
            "processors": "post_processor"}[type(obj).__module__.split(".")[-1]]
    setattr(t, kind, obj)
    return json.loads(t.to_str())[kind]


char_bpe = train(False).to_str()
byte_bpe = train(True).to_str()
N = normalizers
P = pre_tokenizers
D = decoders
variants = {
    # name: (base, {component: object})
    "nfc-whitespace": (char_bpe, {"normalizer": N.NFC(), "pre_tokenizer": P.Whitespace()}),
    "nfd-whitespace": (char_bpe, {"normalizer": N.NFD(), "pre_tokenizer": P.Whitespace()}),
    "nfkc-whitespacesplit": (char_bpe, {"normalizer": N.NFKC(), "pre_tokenizer": P.WhitespaceSplit()}),
    "nfkd-lowercase-strip": (char_bpe, {"normalizer": N.Sequence([N.NFKD(), N.Lowercase(), N.Strip()]),
                                        "pre_tokenizer": P.Whitespace()}),
    "stripaccents": (char_bpe, {"normalizer": N.Sequence([N.NFD(), N.StripAccents()]), "pre_tokenizer": P.Whitespace()}),
    "bert-normalizer": (char_bpe, {"normalizer": N.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                                   strip_accents=None, lowercase=True),
                                   "pre_tokenizer": P.BertPreTokenizer()}),
    "bert-normalizer-keep-accents": (char_bpe, {"normalizer": N.BertNormalizer(lowercase=False, strip_accents=False),
                                                "pre_tokenizer": P.BertPreTokenizer()}),
    "replace-regex-prepend": (char_bpe, {"normalizer": N.Sequence([N.Replace(Regex(r"\s+"), " "), N.Prepend("_"),
                                                                   N.Strip(left=False, right=True)]),
                                         "pre_tokenizer": P.Whitespace()}),
    "punctuation-isolated": (char_bpe, {"pre_tokenizer": P.Sequence([P.WhitespaceSplit(), P.Punctuation()])}),
    "punctuation-merged-previous": (char_bpe, {"pre_tokenizer": P.Sequence([P.WhitespaceSplit(),
                                                                           P.Punctuation("merged_with_previous")])}),
    "punctuation-removed-digits": (char_bpe, {"pre_tokenizer": P.Sequence([P.Punctuation("removed"),
                                                                          P.Digits(individual_digits=True),
                                                                          P.WhitespaceSplit()])}),
    "chardelimiter": (char_bpe, {"pre_tokenizer": P.CharDelimiterSplit(" ")}),
    "split-contiguous": (char_bpe, {"pre_tokenizer": P.Split(Regex(r"[a-z]+"), "contiguous")}),
    "metaspace-always": (char_bpe, {"pre_tokenizer": P.Metaspace(prepend_scheme="always"), "decoder": D.Metaspace()}),
    "metaspace-first": (char_bpe, {"pre_tokenizer": P.Metaspace(prepend_scheme="first"),
                                   "decoder": D.Metaspace(prepend_scheme="first")}),
    "metaspace-never-nosplit": (char_bpe, {"pre_tokenizer": P.Metaspace(prepend_scheme="never", split=False),
                                           "decoder": D.Metaspace(prepend_scheme="never")}),
    "bert-processing": (char_bpe, {"normalizer": N.BertNormalizer(), "pre_tokenizer": P.BertPreTokenizer(),
                                   "post_processor": processors.BertProcessing(("[SEP]", 2), ("[CLS]", 1)),
                                   "decoder": D.WordPiece(prefix="##")}),
    "template-processing": (char_bpe, {"pre_tokenizer": P.Whitespace(),
                                       "post_processor": processors.TemplateProcessing(
                                           single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
                                           special_tokens=[("<s>", 4), ("</s>", 5)])}),
    "bpe-decoder-strip-replace": (char_bpe, {"pre_tokenizer": P.WhitespaceSplit(),
                                             "decoder": D.Sequence([D.Replace("e", "E"), D.Strip(" ", 1, 1), D.Fuse()])}),
    "bytelevel": (byte_bpe, {"pre_tokenizer": P.ByteLevel(add_prefix_space=False), "decoder": D.ByteLevel(),
                             "post_processor": processors.ByteLevel()}),
    "bytelevel-prefix-space-lowercase": (byte_bpe, {"normalizer": N.Lowercase(),
                                                    "pre_tokenizer": P.ByteLevel(add_prefix_space=True),
                                                    "decoder": D.ByteLevel()}),
    "bytelevel-roberta": (byte_bpe, {"pre_tokenizer": P.ByteLevel(add_prefix_space=False), "decoder": D.ByteLevel(),
                                     "post_processor": processors.RobertaProcessing(("</s>", 5), ("<s>", 4))}),
    "bytelevel-digits-nfkc": (byte_bpe, {"normalizer": N.NFKC(),
                                         "pre_tokenizer": P.Sequence([P.Digits(individual_digits=False),
                                                                      P.ByteLevel(add_prefix_space=False)]),
                                         "decoder": D.ByteLevel()}),
}
# Added tokens with normalized=True are matched in normalized text with their content normalized
# (lowercased, "▁"-prefixed); normalized=False ones in the raw text.
ADDED = {
    "added-normalized-lowercase": (char_bpe, {"normalizer": N.Lowercase(), "pre_tokenizer": P.Whitespace()},
                                   [AddedToken("Hello", normalized=True), AddedToken("<sep>", normalized=False),
                                    AddedToken("license", normalized=True, single_word=True)]),
    "added-normalized-llama2": (char_bpe, {"normalizer": N.Sequence([N.Prepend("▁"), N.Replace(" ", "▁")]),
                                           "pre_tokenizer": None,
                                           "decoder": D.Sequence([D.Replace("▁", " "), D.ByteFallback(), D.Fuse(),
                                                                  D.Strip(" ", 1, 0)])},
                                [AddedToken("<sep>", normalized=True), AddedToken(" license", normalized=True),
                                 AddedToken("HELLO", normalized=False, lstrip=True)]),
}

os.makedirs(OUT, exist_ok=True)
cases = {"texts": TEXTS, "variants": []}
for name, (base, comps, *added) in list(variants.items()) + list(ADDED.items()):
    j = json.loads(base)
    for k, v in comps.items():
        j[k] = None if v is None else comp(v)
    tok = Tokenizer.from_str(json.dumps(j))
    for tokens in added:
        tok.add_tokens(tokens)
    # The trainer's special tokens are added tokens (special=True), matched in text.
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        f.write(tok.to_str())
    rows = []
    for text in TEXTS:
        for add_special in (False, True):
            enc = tok.encode(text, add_special_tokens=add_special)
            rows.append({"text": text, "add_special": add_special, "ids": enc.ids,
                         "decoded": tok.decode(enc.ids, skip_special_tokens=False),
                         "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True)})
    cases["variants"].append({"name": name, "file": name + ".json", "cases": rows})
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, ensure_ascii=False, indent=0)
print("wrote", len(variants) + len(ADDED), "variants")
