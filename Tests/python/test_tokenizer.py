import json
import threading

import pytest

import loom
from conftest import FIXTURES


def test_version():
    major, minor, patch = loom.version().split(".")
    assert int(major) >= 0 and int(minor) >= 0 and int(patch) >= 0


def test_smollm2_matches_llamacpp(smollm2):
    cases = json.loads((FIXTURES / "real" / "smollm2-llamacpp.json").read_text())["tokenizer_cases"]
    same = 0
    for c in cases:
        assert smollm2.tokenize(c["text"]) == c["ids"], c["text"]
        assert smollm2.tokenize(c["text"], parse_special=True) == c["ids_parse_special"], c["text"]
        assert smollm2.detokenize(smollm2.tokenize(c["text"], parse_special=True)) == c["text"]
        same += 1
    print(f"smollm2 through Python: {same}/{len(cases)} cases identical to llama.cpp")


def test_smollm2_metadata(smollm2):
    meta = smollm2.metadata
    assert meta["general.architecture"] == "llama"
    assert meta["tokenizer.ggml.model"] == "gpt2"
    assert meta["tokenizer.ggml.pre"] == "smollm"
    assert smollm2.tokenizer.n_vocab == 49152


def test_bytelevel_cases_from_tokenizer_json():
    cases = json.loads((FIXTURES / "bytelevel-bpe.tokenizer-cases.json").read_text())
    with loom.Tokenizer(FIXTURES / "tiny-llama" / "tokenizer.json") as tok:
        for c in cases["cases"]:
            ids = tok.tokenize(c["text"], add_special=cases.get("add_special_tokens", False))
            assert ids == c["ids"], c["text"]
            assert tok.detokenize(ids) == c["decoded"]


def test_hf_folder_model_and_special_tokens():
    with loom.Model(FIXTURES / "tiny-llama") as m:
        assert m.metadata["model_type"] == "llama"
        tok = m.tokenizer
        ids = tok.tokenize("Hello world", add_special=True)
        assert len(ids) >= 2


def test_streaming_decoder_holds_partial_utf8(smollm2):
    text = "naïve café 日本語 😀👍🏽"
    ids = smollm2.tokenize(text)
    step = smollm2.tokenizer.stream_decoder()
    pieces = [step(i) for i in ids]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


def test_errors_raise_loomerror():
    with pytest.raises(loom.LoomError) as e:
        loom.Model("/nonexistent/model.gguf")
    assert "nonexistent" in str(e.value) and e.value.status == -2
    with pytest.raises(loom.LoomError):
        loom.Tokenizer("/nonexistent/tokenizer.json")
    with pytest.raises(TypeError):
        loom.Model(42)
    with pytest.raises(TypeError):
        loom.Tokenizer(None)


def test_bad_ids_and_types(smollm2):
    tok = smollm2.tokenizer
    with pytest.raises(loom.LoomError):
        tok.detokenize([1, 10 ** 6])
    with pytest.raises(loom.LoomError):
        tok.token_to_piece(-3)
    with pytest.raises(loom.LoomError):
        tok.detokenize([2 ** 40])
    with pytest.raises(TypeError):
        tok.tokenize(12)
    with pytest.raises(TypeError):
        tok.detokenize(["a"])


def test_truncated_gguf_raises(tmp_path):
    data = (FIXTURES / "tiny-llama" / "model.f32.gguf").read_bytes()
    for cut in (0, 3, 20, 100, 1000, len(data) // 2, len(data) - 1):
        p = tmp_path / f"cut{cut}.gguf"
        p.write_bytes(data[:cut])
        with pytest.raises(loom.LoomError):
            loom.Model(p)


def test_closed_model_raises():
    m = loom.Model(FIXTURES / "tiny-llama" / "model.f32.gguf", vocab_only=True)
    tok = m.tokenizer
    m.close()
    with pytest.raises(loom.LoomError):
        m.metadata
    with pytest.raises(loom.LoomError):
        tok.tokenize("x")


def test_threads_share_a_tokenizer(smollm2):
    cases = json.loads((FIXTURES / "real" / "smollm2-llamacpp.json").read_text())["tokenizer_cases"]
    errors = []

    def work():
        for _ in range(20):
            for c in cases:
                if smollm2.tokenize(c["text"]) != c["ids"]:
                    errors.append(c["text"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
