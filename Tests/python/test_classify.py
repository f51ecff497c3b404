"""Sequence classification, reward models, preference probability and best-of-n through the C ABI."""
import ctypes
import json
import threading

import numpy as np
import pytest

import loom
from conftest import FIXTURES

REWARD = FIXTURES / "tiny-llama-reward"
CLASSIFIER = FIXTURES / "tiny-bert-classifier"
TINY = FIXTURES / "tiny-llama"


def cases(folder):
    return json.loads((folder / "refs.json").read_text())["cases"]


def test_reward_model_matches_transformers():
    refs = cases(REWARD)
    with loom.Model(REWARD) as rm:
        assert rm.labels == ["LABEL_0"]
        texts = [c["text"] for c in refs]
        expected = np.array([c["score"] for c in refs], dtype=np.float32)
        got = rm.reward(texts, n_threads=2)
        assert got.shape == (4,) and got.dtype == np.float32
        diff = float(np.abs(got - expected).max())
        print(f"tiny-llama-reward: max |Δscore| = {diff:.3g}")
        assert diff <= 1e-4
        logits = rm.classify(texts)
        assert logits.shape == (4, 1)
        np.testing.assert_array_equal(logits[:, 0], got)
        from_ids = rm.classify([c["ids"] for c in refs])
        np.testing.assert_array_equal(from_ids, logits)


def test_bert_classifier_matches_transformers():
    refs = cases(CLASSIFIER)
    with loom.Model(CLASSIFIER) as m:
        assert m.labels == ["LABEL_0", "LABEL_1"]
        got = m.classify([c["text"] for c in refs], n_threads=2)
        expected = np.array([c["logits"] for c in refs], dtype=np.float32)
        assert got.shape == (4, 2)
        diff = float(np.abs(got - expected).max())
        print(f"tiny-bert-classifier: max |Δlogit| = {diff:.3g}")
        assert diff <= 1e-4
        np.testing.assert_allclose(m.classify([c["ids"] for c in refs]), got, atol=1e-6)
        with pytest.raises(loom.LoomError):
            m.reward(["a text"])   # two labels: not a reward model


def test_preference_probability():
    assert loom.preference_probability(0.0, 0.0) == pytest.approx(0.5)
    assert loom.preference_probability(2.0, 1.0) == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert loom.preference_probability(-1000.0, 1000.0) == pytest.approx(0.0)
    p = loom.preference_probability(np.array([1.0, -1.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(p, [0.7310586, 0.2689414], rtol=1e-6)
    refs = cases(REWARD)
    with loom.Model(REWARD) as rm:
        a, b = refs[1]["text"], refs[0]["text"]
        expected = 1 / (1 + np.exp(-(refs[1]["score"] - refs[0]["score"])))
        assert rm.preference_probability(a, b) == pytest.approx(expected, abs=1e-5)


def test_models_without_a_head_and_bad_inputs():
    lib = loom._native.lib()
    with loom.Model(TINY) as m:
        with pytest.raises(loom.LoomError) as e:
            m.classify(["hello"])
        assert e.value.status == -4
    with loom.Model(REWARD) as rm:
        h = rm._h()
        assert lib.loom_model_label(h, 1, None, 0) == -7
        assert lib.loom_classify(h, None, None, 1, None, None, 0) == -1
        # Too small a buffer: the size needed, nothing run.
        texts = (ctypes.c_char_p * 2)(b"a", b"b")
        assert lib.loom_classify(h, texts, None, 2, None, None, 1) == -2
        assert lib.loom_last_status() == -8
        bad = lib.loom_classify_default_params()
        bad.size = 1
        out = (ctypes.c_float * 2)()
        assert lib.loom_classify(h, texts, None, 2, ctypes.byref(bad), out, 2) == -1
        ids = (ctypes.c_int32 * 2)(5, 100000)
        offsets = (ctypes.c_size_t * 2)(0, 2)
        assert lib.loom_classify_tokens(h, ids, offsets, 1, 1, out, 2) == -7
        assert lib.loom_classify_tokens(h, ids, None, 1, 1, out, 2) == -1
        assert lib.loom_model_n_labels(None) == -1


def test_shared_between_threads():
    refs = cases(REWARD)
    texts = [c["text"] for c in refs]
    with loom.Model(REWARD) as rm:
        expected = rm.reward(texts, n_threads=1)
        results, errors = [], []

        def work():
            try:
                for _ in range(5):
                    results.append(rm.reward(texts, n_threads=1))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(results) == 20
        for r in results:
            np.testing.assert_array_equal(r, expected)


def test_best_of_n_ranks_by_reward():
    prompt = "The teacher taught"
    with loom.Model(TINY) as gen, loom.Model(REWARD) as rm:
        ranked = gen.generate(prompt, best_of=6, reward_model=rm, max_new_tokens=12, temperature=1.0, seed=7)
        assert len(ranked) == 6
        rewards = [r.reward for r in ranked]
        assert rewards == sorted(rewards, reverse=True)
        # The documented scored text: the prompt string followed by the candidate's text.
        direct = rm.reward([prompt + r.text for r in ranked])
        np.testing.assert_allclose(direct, rewards, atol=1e-5)
        print("best-of-6 rewards:", [round(x, 4) for x in rewards])
        assert len({tuple(r.ids) for r in ranked}) > 1   # distinct draws
        # Candidate i drew with seed 7 + i; candidate 0 is what plain generate gives with seed 7.
        plain = gen.generate(prompt, max_new_tokens=12, temperature=1.0, seed=7)
        by_seed = {tuple(r.ids) for r in ranked}
        assert tuple(plain.ids) in by_seed
        # Reproducible.
        again = gen.generate(prompt, best_of=6, reward_model=rm, max_new_tokens=12, temperature=1.0, seed=7)
        assert [r.ids for r in again] == [r.ids for r in ranked]
        # Greedy with several candidates is refused; a model without a one-label head too.
        with pytest.raises(loom.LoomError):
            gen.generate(prompt, best_of=3, reward_model=rm, max_new_tokens=4)
        with loom.Model(CLASSIFIER) as two_labels:
            with pytest.raises(loom.LoomError):
                gen.generate(prompt, best_of=2, reward_model=two_labels, max_new_tokens=4, temperature=1.0)
        with pytest.raises(TypeError):
            gen.generate(prompt, best_of=2, max_new_tokens=4, temperature=1.0)
