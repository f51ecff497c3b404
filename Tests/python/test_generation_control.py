"""Beam search, batching, logit processors, state and abort through the Python bindings."""
import json

import numpy as np
import pytest

import loom
from conftest import FIXTURES

TINY = FIXTURES / "tiny-llama"


def _refs(name):
    return json.loads((FIXTURES / name / "refs.json").read_text())


def _eos(name):
    return json.loads((FIXTURES / name / "generation_config.json").read_text())["eos_token_id"]


def _hf(result, eos):
    """HF's output keeps the end token of a beam that finished on it."""
    return result.ids + [eos] if result.finish_reason == "eog" else result.ids


@pytest.mark.parametrize("name,path", [("tiny-llama", "tiny-llama"), ("tiny-llama", "tiny-llama/model.f32.gguf"),
                                       ("tiny-gpt2", "tiny-gpt2"), ("tiny-gpt2", "tiny-gpt2/model.f32.gguf")])
def test_beam4_matches_hf(name, path):
    with loom.Model(FIXTURES / path) as m:
        for p in _refs(name)["prompts"]:
            want = p["generate"]["beam4"]
            r = m.generate(p["ids"], max_new_tokens=16, num_beams=4, early_stopping=True)
            assert _hf(r, _eos(name)) == want
            assert r.score is not None


def test_t5_beam4_greedy_sampling_and_stream():
    with loom.Model(FIXTURES / "tiny-t5") as m:
        eos = _eos("tiny-t5")
        for inp in _refs("tiny-t5")["inputs"]:
            for name, beams in (("greedy", 1), ("beam4", 4)):
                want = inp["generate"][name]
                r = m.generate(inp["ids"], max_new_tokens=len(want) - 1, num_beams=beams, early_stopping=True)
                assert [0] + _hf(r, eos) == want
        # Sampling and streaming now work on T5 too.
        a = m.generate("hello world", max_new_tokens=8, temperature=1.0, seed=3)
        b = m.generate("hello world", max_new_tokens=8, temperature=1.0, seed=3)
        assert a.ids == b.ids
        pieces = list(m.generate("hello world", max_new_tokens=8, stream=True))
        assert "".join(pieces) == m.generate("hello world", max_new_tokens=8).text


def test_num_return_sequences_and_batches():
    with loom.Model(TINY / "model.f32.gguf") as m:
        rs = m.generate([52, 440, 435, 83], max_new_tokens=8, num_beams=4, num_return_sequences=3)
        assert len(rs) == 3 and rs[0].score >= rs[1].score >= rs[2].score
        prompts = [[52, 440, 435], [5, 6, 7, 8], "Hello there", [100, 200]]
        together = m.generate(prompts, max_new_tokens=12)
        assert [r.ids for r in together] == [m.generate(p, max_new_tokens=12).ids for p in prompts]
        beams = m.generate(prompts[:2], max_new_tokens=6, num_beams=2, num_return_sequences=2)
        assert len(beams) == 2 and all(len(b) == 2 for b in beams)
        with pytest.raises(loom.LoomError):
            m.generate([1, 2], num_beams=2, num_return_sequences=3)
        with pytest.raises(loom.LoomError):
            m.generate([1, 2], num_beams=2, temperature=0.8)


def test_logit_processors():
    with loom.Model(TINY / "model.f32.gguf") as m:
        prompt = [52, 440, 435, 83]
        base = m.generate(prompt, max_new_tokens=10).ids
        seen = []

        def ban_first(input_ids, scores):   # HF convention: (1, n) ids, (1, vocab) scores -> scores
            assert input_ids.shape[0] == 1 and scores.shape == (1, m.tokenizer.n_vocab)
            seen.append(input_ids.shape[1])
            out = scores.copy()
            out[0, base[0]] = -np.inf
            return out

        r = m.generate(prompt, max_new_tokens=10, logits_processor=ban_first)
        assert base[0] not in r.ids and seen[:3] == [4, 5, 6]

        def in_place(input_ids, scores):
            scores[0, 9] += 1000.0

        assert m.generate(prompt, max_new_tokens=5, logits_processor=[in_place]).ids == [9] * 5
        assert m.generate(prompt, max_new_tokens=5, logit_bias={9: 1000.0}).ids == [9] * 5
        banned = m.generate(prompt, max_new_tokens=10, bad_words_ids=[[base[0]], [base[1], base[2]]]).ids
        assert base[0] not in banned
        r = m.generate(prompt, max_new_tokens=30, no_repeat_ngram_size=2)
        grams = [tuple(r.ids[i:i + 2]) for i in range(len(r.ids) - 1)]
        assert len(grams) == len(set(grams))
        eos = _eos("tiny-llama")
        r = m.generate(prompt, max_new_tokens=6, min_new_tokens=6, logit_bias={eos: 1000.0})
        assert len(r.ids) == 6 and eos not in r.ids
        assert len(m.generate(prompt, max_new_tokens=6, temperature=1.0, typical_p=0.5, seed=1).ids) > 0

        def boom(_ids, _scores):
            raise ValueError("processor failed")

        with pytest.raises(ValueError, match="processor failed"):
            m.generate(prompt, max_new_tokens=4, logits_processor=boom)
        with pytest.raises(TypeError):
            m.generate(prompt, logits_processor=3)
        with pytest.raises(loom.LoomError):
            m.generate(prompt, typical_p=1.5)
        with pytest.raises(loom.LoomError):
            m.generate(prompt, bad_words_ids=[[]])


def test_state_save_and_restore(tmp_path):
    with loom.Model(TINY / "model.f32.gguf") as m:
        a = m.new_context(n_ctx=64)
        prompt = [52, 440, 435, 83, 327]
        a.decode(prompt)
        state = a.save_state()
        a.save_state(tmp_path / "ctx.state")
        want = a.generate(prompt, max_new_tokens=10).ids
        for source in (state, tmp_path / "ctx.state"):
            b = m.new_context(n_ctx=64)
            b.load_state(source)
            assert b.position == len(prompt)
            assert b.generate(prompt, max_new_tokens=10).ids == want
            with pytest.raises(loom.LoomError):
                b.load_state(state[:-3])
        with pytest.raises(loom.LoomError):
            m.new_context(n_ctx=64, kv_type="f16").load_state(state)


def test_sequences_and_abort():
    with loom.Model(TINY / "model.f32.gguf") as m:
        ctx = m.new_context(n_ctx=256, n_seq_max=4)
        ctx.decode_batch([(1, 52), (2, 5), (1, 440), (2, 6)])
        two = ctx.all_logits()
        assert two.shape[0] == 2 and ctx.seq_position(1) == 2
        solo = m.new_context(n_ctx=64)
        solo.decode([5, 6])
        assert np.max(np.abs(two[1] - solo.logits())) <= 1e-5
        ctx.seq_copy(1, 3)
        assert ctx.seq_position(3) == 2
        ctx.seq_remove(1)
        assert ctx.seq_position(1) == 0
        with pytest.raises(loom.LoomError):
            ctx.seq_copy(0, 9)
        calls = []
        ctx.set_abort_callback(lambda: calls.append(1) or len(calls) >= 2)
        with pytest.raises(loom.LoomError) as e:
            ctx.decode(list(range(1, 200)))
        assert e.value.status == -6 and ctx.position == 0
        ctx.set_abort_callback(None)
        ctx.decode([5, 6])
        assert np.array_equal(ctx.logits(), solo.logits())
