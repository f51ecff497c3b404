"""loom.quantize / loom.convert (loom_model_quantize, loom_model_convert), and the files they write loaded by
llama.cpp (the prebuilt llama-cpp-python in $LOOM_CACHE/llamacpp-venv; skipped with a notice when absent)."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import loom
from conftest import CACHE, FIXTURES, read_safetensors

TINY = FIXTURES / "tiny-llama"
LLAMACPP_PY = CACHE / "llamacpp-venv" / "bin" / "python"

# Loads a GGUF in llama.cpp and prints the logits of the given ids (all positions) as JSON.
LLAMACPP_LOGITS = r"""
import json, sys
import numpy as np
from llama_cpp import Llama
ids = json.loads(sys.argv[2])
m = Llama(model_path=sys.argv[1], n_ctx=64, logits_all=True, verbose=False, n_threads=1)
m.eval(ids)
print(json.dumps(np.asarray(m.scores[:len(ids)], dtype=np.float32).tolist()))
"""


def prompt_ids():
    return [p["ids"] for p in json.loads((TINY / "refs.json").read_text())["prompts"]]


def loom_logits(path, ids):
    with loom.Model(str(path)) as m:
        return np.asarray(m.logits(ids), dtype=np.float32)


@pytest.mark.parametrize("qtype", ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q6_k", "q4_k", "f16", "bf16"])
def test_quantize_loads_and_stays_close(tmp_path, qtype):
    out = tmp_path / f"tiny.{qtype}.gguf"
    loom.quantize(TINY / "model.f32.gguf", out, qtype, n_threads=2)
    ids = prompt_ids()[0]
    ref = loom_logits(TINY / "model.f32.gguf", ids)
    got = loom_logits(out, ids)
    d = float(np.max(np.abs(got - ref)))
    print(f"{qtype}: max |logit - f32 logit| = {d:.4f}")
    # tiny-llama's weights are random and small: 4-bit types move its logits by ~0.5 (printed above)
    assert d < {"f16": 0.01, "bf16": 0.05, "q8_0": 0.1, "q6_k": 0.1}.get(qtype, 1.0)
    with loom.Model(str(out), vocab_only=True) as m:
        assert m.metadata["general.file_type"] == str(loom._native.LOOM_FTYPE[qtype])


def test_quantize_errors(tmp_path):
    with pytest.raises(loom.LoomError):
        loom.quantize(TINY / "model.f32.gguf", tmp_path / "x.gguf", "q3_k")
    with pytest.raises(loom.LoomError):
        loom.quantize(tmp_path / "missing.gguf", tmp_path / "x.gguf", "q8_0")
    with pytest.raises(loom.LoomError):  # already quantized
        loom.quantize(TINY / "model.q8_0.gguf", tmp_path / "x.gguf", "q4_0")
    loom.quantize(TINY / "model.q8_0.gguf", tmp_path / "x.gguf", "q4_0", allow_requantize=True)
    with pytest.raises(loom.LoomError):  # cancelled by the progress callback
        loom.quantize(TINY / "model.f32.gguf", tmp_path / "y.gguf", "q8_0", progress=lambda share: share < 0.5)
    assert not (tmp_path / "y.gguf").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_convert_matches_hf_logits(tmp_path):
    out = tmp_path / "tiny.f32.gguf"
    loom.convert(TINY, out, "f32")
    refs = read_safetensors(TINY / "refs.safetensors")
    worst = 0.0
    for i, ids in enumerate(prompt_ids()):
        got = loom_logits(out, ids)
        worst = max(worst, float(np.max(np.abs(got - refs[f"prompt{i}.logits"].reshape(got.shape)))))
    print(f"convert f32: max |logit - HF| = {worst:.2e}")
    assert worst <= 1e-4
    assert out.read_bytes() == (TINY / "model.f32.gguf").read_bytes()
    # GPT-2 and BERT convert to llama.cpp's bytes too; a classifier head has no GGUF form.
    loom.convert(FIXTURES / "tiny-bert", tmp_path / "bert.gguf", "f32")
    assert (tmp_path / "bert.gguf").read_bytes() == (FIXTURES / "tiny-bert" / "model.f32.gguf").read_bytes()
    with pytest.raises(loom.LoomError, match="convert"):
        loom.convert(FIXTURES / "tiny-bert-classifier", tmp_path / "classifier.gguf")


def llamacpp_logits(path, ids):
    if not LLAMACPP_PY.exists():
        print(f"NOTICE: {LLAMACPP_PY} is absent: the llama.cpp loading check is skipped")
        pytest.skip("llama-cpp-python venv absent")
    r = subprocess.run([str(LLAMACPP_PY), "-c", LLAMACPP_LOGITS, str(path), json.dumps(ids)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return np.asarray(json.loads(r.stdout), dtype=np.float32)


@pytest.mark.parametrize("qtype", ["q8_0", "q4_0", "q4_1", "q4_k", "q6_k"])
def test_quantized_files_load_in_llamacpp(tmp_path, qtype):
    out = tmp_path / f"tiny.{qtype}.gguf"
    loom.quantize(TINY / "model.f32.gguf", out, qtype)
    ids = prompt_ids()[0]
    theirs = llamacpp_logits(out, ids)
    mine = loom_logits(out, ids)
    d = float(np.max(np.abs(theirs - mine)))
    print(f"{qtype}: llama.cpp vs Loom on the same file: max |Δlogit| = {d:.2e}")
    # llama.cpp's CPU dot products quantize the activations to Q8 as well (Loom keeps them f32): ~0.04 here
    assert d < 0.1


def test_converted_file_loads_in_llamacpp(tmp_path):
    out = tmp_path / "tiny.q8_0.gguf"
    loom.convert(TINY, out, "q8_0")
    ids = prompt_ids()[0]
    d = float(np.max(np.abs(llamacpp_logits(out, ids) - loom_logits(out, ids))))
    print(f"convert q8_0: llama.cpp vs Loom: max |Δlogit| = {d:.2e}")
    assert d < 0.1
