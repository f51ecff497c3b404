"""BLEU and classification metrics compared live with sacreBLEU and scikit-learn (both installed by
scripts/setup.sh for the tests only)."""
import json
import math
import random

import pytest
import sacrebleu
from sklearn import metrics as skm

import loom
from conftest import FIXTURES

FIX = json.loads((FIXTURES / "metrics" / "metrics-refs.json").read_text())
HYPS = FIX["hyps"]
REFS1, REFS2 = FIX["refs"]


def same_bleu(ours, theirs):
    assert f"{ours.score:.2f}" == f"{theirs.score:.2f}"
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert ours.counts == [float(c) for c in theirs.counts]
    assert ours.totals == [float(t) for t in theirs.totals]
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)
    assert (ours.bp, ours.sys_len, ours.ref_len) == (pytest.approx(theirs.bp), theirs.sys_len, theirs.ref_len)
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("kwargs", [{}, {"lowercase": True}, {"tokenize": "none"}, {"smooth_method": "floor"},
                                    {"smooth_method": "add-k"}, {"smooth_method": "none"},
                                    {"smooth_method": "floor", "smooth_value": 0.3},
                                    {"use_effective_order": True}])
@pytest.mark.parametrize("streams", ["one", "two"])
def test_corpus_bleu_matches_sacrebleu(kwargs, streams):
    refs = [REFS1] if streams == "one" else [REFS1, REFS2]
    assert len(HYPS) >= 20
    theirs = sacrebleu.corpus_bleu(HYPS, refs, **kwargs)
    ours = loom.metrics.corpus_bleu(HYPS, refs, **kwargs)
    if not kwargs:
        print(f"corpus BLEU ({streams} reference stream(s)): loom {ours.score:.4f}, sacreBLEU {theirs.score:.4f}")
    same_bleu(ours, theirs)


def test_sentence_bleu_matches_sacrebleu():
    for h, r1, r2 in zip(HYPS, REFS1, REFS2):
        refs = [r1] + ([r2] if r2 is not None else [])
        same_bleu(loom.metrics.sentence_bleu(h, refs), sacrebleu.sentence_bleu(h, refs))
        same_bleu(loom.metrics.sentence_bleu(h, refs, smooth_method="floor", use_effective_order=False),
                  sacrebleu.sentence_bleu(h, refs, smooth_method="floor", use_effective_order=False))


def test_bleu_random_text_matches_sacrebleu():
    """Random sentences over a vocabulary heavy in punctuation, digits, casing and HTML entities."""
    rng = random.Random(7)
    words = ["The", "the", "cat", "CAT", "sat", "on", "mat", ".", ",", "3.5", "1,000", "-", "5-6", "(x)", "a.b",
             "&amp;", "&quot;", "it's", "don't", "$", "%", "e-mail", "U.S.", "...", "!", "?", "«", "»", "naïve", "ÉTÉ"]

    def sentence():
        return "".join(rng.choice(words) + rng.choice([" ", " ", "", "  "]) for _ in range(rng.randint(0, 14)))

    hyps = [sentence() for _ in range(60)]
    refs = [[sentence() for _ in hyps] for _ in range(3)]
    for kwargs in ({}, {"lowercase": True}):
        same_bleu(loom.metrics.corpus_bleu(hyps, refs, **kwargs), sacrebleu.corpus_bleu(hyps, refs, **kwargs))
    for h, *rs in zip(hyps, *refs):
        same_bleu(loom.metrics.sentence_bleu(h, rs), sacrebleu.sentence_bleu(h, rs))


def test_bleu_errors():
    with pytest.raises(loom.LoomError):
        loom.metrics.corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(loom.LoomError):
        loom.metrics.corpus_bleu(["a"], [[None]])
    with pytest.raises(loom.LoomError):
        loom.metrics.corpus_bleu(["a"], [["a"]], tokenize="intl")
    with pytest.raises(loom.LoomError):
        loom.metrics.corpus_bleu(["a"], [["a"]], max_ngram_order=0)
    with pytest.raises(TypeError):
        loom.metrics.corpus_bleu("a", ["a"])


LABEL_SETS = [
    ([0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 3, 3, 2], [0, 2, 2, 2, 0, 0, 1, 2, 1, 1, 0, 0, 3, 2, 2]),
    ([1, 0, 1, 1, 0, 0, 1, 0, 1, 1], [1, 0, 0, 1, 0, 1, 1, 0, 0, 1]),
    ([1, 1, 2, 2, 3, 3], [1, 2, 2, 2, 4, 3]),
    ([0, 1, 2, 0, 1, 2], [0, 0, 0, 0, 1, 1]),
    (["cat", "dog", "dog", "bird", "cat", "fish"], ["cat", "cat", "dog", "bird", "bird", "dog"]),
    ([-3, 10, 10, -3, 7, 7, 7], [10, 10, -3, -3, 7, 7, 10]),
]


@pytest.mark.parametrize("y_true,y_pred", LABEL_SETS)
@pytest.mark.parametrize("zero_division", [0.0, 1.0, float("nan")])
def test_classification_matches_sklearn(y_true, y_pred, zero_division):
    assert loom.metrics.accuracy(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)
    averages = ["micro", "macro", "weighted"]
    if len(set(y_true) | set(y_pred)) <= 2:
        averages.append("binary")
    for avg in averages:
        ours = loom.metrics.precision_recall_f1(y_true, y_pred, average=avg, zero_division=zero_division)
        theirs = skm.precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=zero_division)[:3]
        assert ours == pytest.approx(theirs, abs=1e-12, nan_ok=True), avg
        assert loom.metrics.f1(y_true, y_pred, average=avg, zero_division=zero_division) == \
            pytest.approx(skm.f1_score(y_true, y_pred, average=avg, zero_division=zero_division), abs=1e-12, nan_ok=True)
    p, r, f, s = loom.metrics.precision_recall_f1(y_true, y_pred, average=None, zero_division=zero_division)
    tp, tr, tf, ts = skm.precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=zero_division)
    assert p == pytest.approx(list(tp), nan_ok=True) and r == pytest.approx(list(tr), nan_ok=True)
    assert f == pytest.approx(list(tf), nan_ok=True) and s == list(ts)
    ours = loom.metrics.classification_report(y_true, y_pred, zero_division=zero_division)
    theirs = skm.classification_report(y_true, y_pred, output_dict=True, zero_division=zero_division)
    assert set(ours) == set(theirs)
    for k, v in theirs.items():
        if isinstance(v, dict):
            for kk in v:
                assert ours[k][kk] == pytest.approx(v[kk], nan_ok=True), (k, kk)
        else:
            assert ours[k] == pytest.approx(v)


def test_binary_positive_label_and_errors():
    y_true, y_pred = ["no", "yes", "yes", "no"], ["no", "yes", "no", "no"]
    assert loom.metrics.precision_recall_f1(y_true, y_pred, pos_label="yes") == pytest.approx(
        skm.precision_recall_fscore_support(y_true, y_pred, pos_label="yes", average="binary")[:3])
    with pytest.raises(loom.LoomError):
        loom.metrics.precision_recall_f1([0, 1, 2], [0, 1, 2], average="binary")
    with pytest.raises(loom.LoomError):
        loom.metrics.accuracy([1, 2], [1])
    with pytest.raises(loom.LoomError):
        loom.metrics.accuracy([], [])
    with pytest.raises(loom.LoomError):
        loom.metrics.f1([1], [1], average="samples")


def test_exact_match():
    p = ["Paris", "the cat.", "Answer: 42", "no"]
    r = ["paris", "The cat", "Answer 41", "yes"]
    assert loom.metrics.exact_match(p, r) == 0
    assert loom.metrics.exact_match(p, r, ignore_case=True) == 0.25
    assert loom.metrics.exact_match(p, r, ignore_case=True, ignore_punctuation=True) == 0.5
    assert loom.metrics.exact_match(p, r, ignore_case=True, ignore_punctuation=True, ignore_numbers=True) == 0.75
