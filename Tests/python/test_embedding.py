"""Encoder models through the C ABI: Model.embed / Model.encode against HF and sentence-transformers."""
import json

import numpy as np
import pytest

import loom
from conftest import CACHE, FIXTURES, need, read_safetensors

TINY_BERT = FIXTURES / "tiny-bert"
MINILM = CACHE / "models" / "all-MiniLM-L6-v2"


def test_tiny_bert_hidden_states():
    refs = read_safetensors(TINY_BERT / "refs.safetensors")
    sentences = json.loads((TINY_BERT / "refs.json").read_text())["sentences"]
    for path in (TINY_BERT, TINY_BERT / "model.f32.gguf"):
        with loom.Model(str(path)) as m:
            assert m.n_embd == 64
            rows = m.encode([s["masked_ids"] for s in sentences], n_threads=2)
            for i, got in enumerate(rows):
                assert np.abs(got - refs[f"sentence{i}.last_hidden_state"]).max() <= 1e-4
            one = m.encode(sentences[1]["masked_ids"])
            assert np.abs(one - rows[1]).max() <= 1e-5


def test_minilm_embeddings():
    refs = json.loads((FIXTURES / "real" / "minilm-refs.json").read_text())
    expected = read_safetensors(FIXTURES / "real" / "minilm-refs.safetensors")["embeddings"]
    texts = [s["text"] for s in refs["sentences"]]
    with loom.Model(str(need(MINILM))) as m:
        got = m.embed(texts, n_threads=2)
        assert got.shape == (len(texts), 384) and got.dtype == np.float32
        assert (got * expected).sum(axis=1).min() >= 0.9999
        raw = m.embed(texts[:2], normalize=False)
        assert np.linalg.norm(raw[0]) != pytest.approx(1.0)


def test_bad_inputs():
    with loom.Model(str(TINY_BERT)) as m:
        with pytest.raises(loom.LoomError):
            m.encode([2, 999999, 3])
        with pytest.raises(loom.LoomError):
            m.encode([])
        with pytest.raises(loom.LoomError):
            m.embed(["x"], pooling="sideways")
    with loom.Model(str(FIXTURES / "tiny-llama" / "model.f32.gguf")) as m:
        with pytest.raises(loom.LoomError):
            m.embed(["not an encoder"])


@pytest.mark.parametrize("precision", ["bf16", "f16"])
def test_minilm_reduced_precision(precision):
    refs = json.loads((FIXTURES / "real" / "minilm-refs.json").read_text())
    expected = read_safetensors(FIXTURES / "real" / "minilm-refs.safetensors")["embeddings"]
    texts = [s["text"] for s in refs["sentences"]]
    with loom.Model(str(need(MINILM))) as m:
        got = m.embed(texts, n_threads=2, precision=precision)
        assert got.shape == (len(texts), 384) and got.dtype == np.float32
        cos = (got * expected).sum(axis=1)
        print(f"{precision}: min cosine {cos.min():.7f}")
        assert cos.min() >= 0.9999
        nearest = lambda e: [int(np.argsort(-(e @ e[i]))[1]) for i in range(len(e))]
        assert nearest(got) == nearest(expected)
        exact = m.embed(texts, n_threads=1, precision="f32")
        assert np.array_equal(exact, m.embed(texts, n_threads=1))  # f32 is the default


def test_precision_option_bad_and_tiny():
    with loom.Model(str(TINY_BERT)) as m:
        with pytest.raises(loom.LoomError):
            m.embed(["x"], precision="f8")
        a = m.embed(["a small test", "another one"], precision="f32")
        for p in ("bf16", "f16"):
            b = m.embed(["a small test", "another one"], precision=p)
            assert (a * b).sum(axis=1).min() >= 0.999


def test_embed_params_of_an_older_caller():
    """A caller compiled before `precision` existed passes a smaller size: the field is not read."""
    import ctypes
    from loom import _native
    lib = _native.lib()
    with loom.Model(str(TINY_BERT)) as m:
        exact = m.embed(["a small test"], precision="f32")
        params = lib.loom_embed_default_params()
        params.normalize = 1                                 # as Model.embed's default
        params.size = _native.EmbedParams.precision.offset   # the struct before the field
        params.precision = 12345                             # garbage beyond the caller's size
        text = (ctypes.c_char_p * 1)(b"a small test")
        out = np.empty(exact.size, dtype=np.float32)
        n = lib.loom_embed(m._h(), text, None, 1, ctypes.byref(params),
                           out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size)
        assert n == exact.size
        assert np.array_equal(out, exact.reshape(-1))
        params.size = ctypes.sizeof(_native.EmbedParams)     # a current caller: 12345 is rejected
        assert lib.loom_embed(m._h(), text, None, 1, ctypes.byref(params),
                              out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size) < 0
