import json

import numpy as np
import pytest

import loom
from conftest import FIXTURES, read_safetensors

TINY = FIXTURES / "tiny-llama"


def refs():
    return json.loads((TINY / "refs.json").read_text())["prompts"]


@pytest.mark.parametrize("path", [TINY, TINY / "model.f32.gguf"])
def test_tiny_llama_logits(path):
    expected = read_safetensors(TINY / "refs.safetensors")
    with loom.Model(path) as m:
        worst = 0.0
        for i, p in enumerate(refs()):
            got = m.logits(p["ids"])
            assert got.shape == (len(p["ids"]), 512) and got.dtype == np.float32
            worst = max(worst, float(np.abs(got - expected[f"prompt{i}.logits"]).max()))
    print(f"Python Model.logits {path.name}: max|Δlogit| = {worst:.3g}")
    assert worst <= 1e-4


def test_tiny_llama_greedy():
    with loom.Model(TINY / "model.f32.gguf") as m:
        for p in refs():
            for name, penalty in (("greedy", 1.0), ("greedy_repetition_penalty_1.3", 1.3)):
                expected = p["generate"][name]
                r = m.generate(p["ids"], max_new_tokens=len(expected), repetition_penalty=penalty)
                assert r.ids == expected, name
                assert r.finish_reason == "length"


def test_smollm2_chat(smollm2_full):
    chats = json.loads((FIXTURES / "real" / "smollm2-refs.json").read_text())["chats"]
    for c in chats:
        prompt = smollm2_full.apply_chat_template(c["messages"])
        assert prompt == c["prompt"]
        r = smollm2_full.chat(c["messages"], max_new_tokens=64)
        assert r.ids == c["hf_greedy_ids"][:-1]
        assert r.text + "<|im_end|>" == c["hf_greedy_text"]
        assert r.finish_reason == "eog"
        print("SmolLM2:", c["messages"][0]["content"], "->", r.text)


def test_streaming_equals_result(smollm2_full):
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    pieces = list(smollm2_full.chat(msgs, stream=True))
    assert "".join(pieces) == "The capital of France is Paris."
    assert len(pieces) > 3


def test_stop_strings_and_seed():
    with loom.Model(TINY / "model.f32.gguf") as m:
        a = m.generate([52, 440, 435], max_new_tokens=12, temperature=0.9, top_p=0.95, seed=7)
        b = m.generate([52, 440, 435], max_new_tokens=12, temperature=0.9, top_p=0.95, seed=7)
        assert a.ids == b.ids
        full = m.generate([52, 440, 435], max_new_tokens=16)
        stop = full.text[5:8]
        if stop:
            cut = m.generate([52, 440, 435], max_new_tokens=16, stop=[stop])
            assert cut.finish_reason == "stop"
            assert cut.text == full.text[:full.text.index(stop)]


def test_context_api():
    with loom.Model(TINY / "model.f32.gguf") as m, m.new_context(n_ctx=64, n_threads=2) as ctx:
        ids = refs()[0]["ids"]
        ctx.decode(ids[:10])
        ctx.decode(ids[10:], logits_all=True)
        assert ctx.position == len(ids)
        expected = read_safetensors(TINY / "refs.safetensors")["prompt0.logits"]
        assert np.abs(ctx.all_logits() - expected[10:]).max() <= 1e-4
        ctx.truncate(10)
        assert ctx.position == 10
        r = ctx.generate(ids, max_new_tokens=16)
        assert r.ids == refs()[0]["generate"]["greedy"]


def test_bad_inputs():
    with loom.Model(TINY / "model.f32.gguf") as m:
        with pytest.raises(loom.LoomError):
            m.new_context(n_threads=0)
        ctx = m.new_context(n_ctx=8, n_threads=1)
        with pytest.raises(loom.LoomError):
            ctx.decode(list(range(9)))  # context overflow
        with pytest.raises(loom.LoomError):
            ctx.decode([100000])
        with pytest.raises(loom.LoomError):
            m.generate([1, 2, 3], temperature=-1)
        with pytest.raises(loom.LoomError):
            m.generate([1, 2, 3], top_p=0)
        with pytest.raises(TypeError):
            m.generate([1, 2], bogus=1)
        with pytest.raises(loom.LoomError):
            m.generate([])
        with pytest.raises(loom.LoomError):
            m.apply_chat_template([{"role": "user", "content": "x"}], template="{{ raise_exception('nope') }}")
    with loom.Model(TINY / "model.f32.gguf", vocab_only=True) as v:
        with pytest.raises(loom.LoomError):
            v.new_context()


def test_callback_exception_propagates():
    with loom.Model(TINY / "model.f32.gguf") as m:
        it = m.generate([52, 440, 435], max_new_tokens=8, stream=True)

        class Boom(Exception):
            pass

        from loom.generation import run_generate, sampling_params
        ctx = m.new_context(n_ctx=32)

        def bad(_):
            raise Boom()
        with pytest.raises(Boom):
            run_generate(ctx._h(), [52, 440, 435], 8, sampling_params(), None, on_piece=bad)
        list(it)


def write_safetensors(path, tensors):
    import struct
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_model_with_missing_tensor(tmp_path):
    import shutil
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TINY / f, tmp_path / f)
    weights = read_safetensors(TINY / "model.safetensors")
    del weights["model.layers.1.mlp.down_proj.weight"]
    write_safetensors(tmp_path / "model.safetensors", weights)
    with pytest.raises(loom.LoomError) as e:
        loom.Model(tmp_path)
    assert "down_proj" in str(e.value) or "ffn_down" in str(e.value)
    weights = read_safetensors(TINY / "model.safetensors")
    weights["model.layers.0.self_attn.q_proj.weight"] = weights["model.layers.0.self_attn.q_proj.weight"][:32]
    write_safetensors(tmp_path / "model.safetensors", weights)
    with pytest.raises(loom.LoomError) as e:
        loom.Model(tmp_path)
    assert "shape" in str(e.value)


def test_two_threads_share_a_model():
    import threading
    with loom.Model(TINY / "model.f32.gguf") as m:
        expected = {i: p["generate"]["greedy"] for i, p in enumerate(refs())}
        errors = []

        def work(i):
            ctx = m.new_context(n_ctx=64, n_threads=1)
            for _ in range(10):
                r = ctx.generate(refs()[i]["ids"], max_new_tokens=16)
                if r.ids != expected[i]:
                    errors.append(i)
            ctx.close()

        threads = [threading.Thread(target=work, args=(i % 2,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors


def test_f16_kv_cache():
    expected = read_safetensors(TINY / "refs.safetensors")["prompt0.logits"]
    with loom.Model(TINY / "model.f32.gguf") as m, m.new_context(n_ctx=64, kv_type="f16") as ctx:
        ctx.decode(refs()[0]["ids"], logits_all=True)
        got = ctx.all_logits()
        assert np.abs(got - expected).max() <= 1e-2
        assert (got.argmax(1) == expected.argmax(1)).all()
        with pytest.raises(loom.LoomError):
            m.new_context(kv_type="q4")
