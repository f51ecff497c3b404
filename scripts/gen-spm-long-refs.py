#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/spm-llama2-long.json: HF tokenizers' ids for long inputs
(whole licence paragraphs, a single pre-tokenizer-free word each) with the Llama-2-style
spm-llama2.tokenizer.json, to check that Loom's segmented merging equals merging the whole run."""
import json
import os

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizers")
tok = Tokenizer.from_file(os.path.join(FIX, "spm-llama2.tokenizer.json"))
texts = []
for name in ["Apache-2.0", "MPL-2.0", "GPL-3"]:
    t = open("/usr/share/common-licenses/" + name, encoding="utf-8").read()[:4000]
    texts.append(t)
texts.append("ünïcödé ﬁ 日本語 " * 40 + "emoji 😀😀😀 " * 20)
texts.append("a" * 500 + " " + "ab" * 300)
cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]
with open(os.path.join(FIX, "spm-llama2-long.json"), "w") as f:
    json.dump({"cases": cases}, f, ensure_ascii=False)
print("wrote", len(cases), "cases")
