"""loom.train_bpe against HF tokenizers' own BpeTrainer, trained live the same way."""
import json
import os
import pathlib
import time

import pytest

import loom
from conftest import need

LICENSES = pathlib.Path("/usr/share/common-licenses")
SPECIALS = ["<|endoftext|>", "<pad>"]
OTHER_TEXTS = ["Hello world", "naïve café — 日本語のテキスト 😀👍🏽", "  indented\n\n\ttabs\r\n", "it's 1234 <|endoftext|>x",
               "Licensed under the Apache License, Version 2.0 (the \"License\");", ""]


def hf_tokenizers():
    if os.environ.get("LOOM_REQUIRE_TEST_DATA") == "1":
        import tokenizers
        return tokenizers
    return pytest.importorskip("tokenizers")


def corpus():
    need(LICENSES)
    files = [LICENSES / n for n in sorted(os.listdir(LICENSES)) if n != "Apache-2.0"]
    return files, need(LICENSES / "Apache-2.0").read_text(encoding="utf-8")


def hf_train(files_or_texts, vocab_size, specials, byte_level=True, unk_token=None):
    tk = hf_tokenizers()
    from tokenizers import decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    if byte_level:
        tok = tk.Tokenizer(BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel()
        extra = {"initial_alphabet": pre_tokenizers.ByteLevel.alphabet()}
    else:
        tok = tk.Tokenizer(BPE(unk_token=unk_token))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        extra = {}
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False, **extra)
    start = time.perf_counter()
    if files_or_texts and isinstance(files_or_texts[0], pathlib.Path):
        tok.train([str(f) for f in files_or_texts], trainer)
    else:
        tok.train_from_iterator(files_or_texts, trainer)
    return tok, time.perf_counter() - start


def same_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@pytest.mark.parametrize("vocab_size", [1000, 4000])
def test_byte_level_matches_hf(tmp_path, vocab_size):
    tk = hf_tokenizers()
    files, apache = corpus()
    out = tmp_path / "tokenizer.json"
    start = time.perf_counter()
    tok = loom.train_bpe(files, vocab_size, special_tokens=SPECIALS, output=out)
    loom_seconds = time.perf_counter() - start
    assert tok.n_vocab == vocab_size

    # The written file, loaded by HF, encodes exactly as Loom's tokenizer does.
    from_file = tk.Tokenizer.from_file(str(out))
    for text in [apache] + OTHER_TEXTS:
        assert tok.tokenize(text, parse_special=True) == from_file.encode(text).ids, text[:40]
        assert tok.detokenize(tok.tokenize(text)) == text

    # HF's own trainer, trained the same way.
    hf, hf_seconds = hf_train(files, vocab_size, SPECIALS)
    n_bytes = len(apache.encode("utf-8"))
    loom_tpb = len(tok.tokenize(apache)) / n_bytes
    hf_tpb = len(hf.encode(apache).ids) / n_bytes
    ours = json.loads(out.read_text(encoding="utf-8"))["model"]
    theirs = json.loads(hf.to_str())["model"]
    agree = same_prefix(ours["merges"], theirs["merges"])
    print(f"\nvocab {vocab_size}: Loom {loom_tpb:.5f} tokens/byte in {loom_seconds:.3f} s, HF {hf_tpb:.5f} in "
          f"{hf_seconds:.3f} s, ratio {loom_tpb / hf_tpb:.4f}; merges identical: {agree}/{len(theirs['merges'])}; "
          f"tokenizer.json identical: {out.read_text(encoding='utf-8') == hf.to_str()}")
    assert abs(loom_tpb / hf_tpb - 1) <= 0.01
    assert agree >= min(100, len(theirs["merges"]))


def test_texts_and_whitespace_mode_match_hf(tmp_path):
    tk = hf_tokenizers()
    _, apache = corpus()
    texts = apache.split("\n\n") * 2 + ["a\u0001b \"q\" \\ é 日本 foo_bar x2y 3.14"]
    out = tmp_path / "ws.json"
    tok = loom.train_bpe(texts, 700, special_tokens=["[UNK]", "[PAD]"], byte_level=False, unk_token="[UNK]",
                         output=str(out))
    hf, _ = hf_train(texts, 700, ["[UNK]", "[PAD]"], byte_level=False, unk_token="[UNK]")
    ours, theirs = json.loads(out.read_text(encoding="utf-8")), json.loads(hf.to_str())
    assert ours["model"]["vocab"] == theirs["model"]["vocab"]
    assert ours["model"]["merges"] == theirs["model"]["merges"]
    from_file = tk.Tokenizer.from_file(str(out))
    for text in [apache, "unseen ζ characters", "hello, world!!"]:
        assert tok.tokenize(text) == from_file.encode(text).ids == hf.encode(text).ids


def test_byte_level_texts_match_hf_json(tmp_path):
    texts = ["the cat sat on the mat", "the dog sat on the log 😀", "x\u0001y\u00a0z \t tabs\r\n"] * 5
    out = tmp_path / "t.json"
    loom.train_bpe(texts, 300, special_tokens=["<s>", "a\"b\\c\n"], output=out)
    hf, _ = hf_train(texts, 300, ["<s>", "a\"b\\c\n"])
    assert out.read_text(encoding="utf-8") == hf.to_str()


def test_errors():
    with pytest.raises(loom.LoomError) as e:
        loom.train_bpe(["some text"], 100)  # below the 256 byte-level symbols
    assert e.value.status == -1 and "vocab_size" in str(e.value)
    with pytest.raises(loom.LoomError) as e:
        loom.train_bpe([pathlib.Path("/nonexistent/corpus.txt")], 300)
    assert e.value.status == -2
    with pytest.raises(loom.LoomError):
        loom.train_bpe(["text"], 300, special_tokens=[""])
    with pytest.raises(loom.LoomError):
        loom.train_bpe(["text"], -1)
    with pytest.raises(loom.LoomError):
        loom.train_bpe([], 10, byte_level=False)
    with pytest.raises(loom.LoomError):
        loom.train_bpe(["text"], 300, output="/nonexistent/dir/tokenizer.json")
    with pytest.raises(TypeError):
        loom.train_bpe([42], 300)
    with pytest.raises(TypeError):
        loom.train_bpe(["text"], "300")
    with pytest.raises(TypeError):
        loom.train_bpe(None, 300)
