"""Metrics computed by libloom (include/loom.h, "metrics"): BLEU as sacreBLEU computes it, and
classification metrics as scikit-learn computes them.

    loom.metrics.corpus_bleu(hyps, [refs])          # sacrebleu.corpus_bleu(hyps, [refs]).score
    loom.metrics.sentence_bleu(hyp, [ref1, ref2])   # sacrebleu.sentence_bleu
    loom.metrics.precision_recall_f1(y_true, y_pred, average="macro")
    loom.metrics.classification_report(y_true, y_pred)   # sklearn's output_dict=True layout
"""
import ctypes
import math
from dataclasses import dataclass
from typing import List

from . import _native
from .errors import LoomError, check

_TOKENIZE = {"13a": 0, "none": 1}
_SMOOTH = {"exp": 0, "none": 1, "floor": 2, "add-k": 3}
_AVERAGE = {"binary": 0, "micro": 1, "macro": 2, "weighted": 3}


@dataclass
class BLEUScore:
    """As sacreBLEU's BLEUScore: score (0-100), counts/totals/precisions per n-gram order, brevity
    penalty, hypothesis and reference lengths. str() is sacreBLEU's one-line format."""
    score: float
    counts: List[float]
    totals: List[float]
    precisions: List[float]
    bp: float
    sys_len: int
    ref_len: int
    ratio: float

    def __str__(self):
        prec = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {prec} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
                f"hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})")

    def __float__(self):
        return self.score


def _utf8(s, what):
    if not isinstance(s, str):
        raise TypeError(f"{what} must be str")
    return s.encode("utf-8")


def _params(sentence, lowercase, tokenize, smooth_method, smooth_value, max_ngram_order, effective_order):
    lib = _native.lib()
    p = lib.loom_bleu_default_params()
    if tokenize not in _TOKENIZE:
        raise LoomError(-1, f"tokenize must be one of {sorted(_TOKENIZE)}, got {tokenize!r}")
    if smooth_method not in _SMOOTH:
        raise LoomError(-1, f"smooth_method must be one of {sorted(_SMOOTH)}, got {smooth_method!r}")
    p.lowercase = bool(lowercase)
    p.tokenize = _TOKENIZE[tokenize]
    p.smooth_method = _SMOOTH[smooth_method]
    p.smooth_value = -1.0 if smooth_value is None else float(smooth_value)
    p.max_ngram_order = int(max_ngram_order)
    p.effective_order = bool(effective_order)
    return p


def _result(r):
    n = r.max_ngram_order
    return BLEUScore(r.score, list(r.counts[:n]), list(r.totals[:n]), list(r.precisions[:n]), r.bp, r.sys_len,
                     r.ref_len, r.ratio)


def corpus_bleu(hypotheses, references, lowercase=False, tokenize="13a", smooth_method="exp", smooth_value=None,
                max_ngram_order=4, use_effective_order=False):
    """sacrebleu.corpus_bleu: references is a list of reference streams, each as long as the
    hypotheses (None entries: no such reference for that sentence)."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses is a list of strings and references a list of lists of strings")
    hyps = [_utf8(h, "each hypothesis") for h in hypotheses]
    streams = [list(s) for s in references]
    for k, s in enumerate(streams):
        if len(s) != len(hyps):
            raise LoomError(-1, f"reference stream {k} has {len(s)} sentences, the hypotheses {len(hyps)}")
    flat = [None if r is None else _utf8(r, "each reference") for s in streams for r in s]
    p = _params(False, lowercase, tokenize, smooth_method, smooth_value, max_ngram_order, use_effective_order)
    h_arr = (ctypes.c_char_p * max(1, len(hyps)))(*hyps)
    r_arr = (ctypes.c_char_p * max(1, len(flat)))(*flat)
    out = _native.BleuResult()
    check(_native.lib().loom_bleu(h_arr, len(hyps), r_arr, len(streams), ctypes.byref(p), ctypes.byref(out)))
    return _result(out)


def sentence_bleu(hypothesis, references, lowercase=False, tokenize="13a", smooth_method="exp", smooth_value=None,
                  max_ngram_order=4, use_effective_order=True):
    """sacrebleu.sentence_bleu: one hypothesis against a list of references."""
    if isinstance(references, str):
        raise TypeError("references is a list of strings")
    refs = [_utf8(r, "each reference") for r in references]
    p = _params(True, lowercase, tokenize, smooth_method, smooth_value, max_ngram_order, use_effective_order)
    r_arr = (ctypes.c_char_p * max(1, len(refs)))(*refs)
    out = _native.BleuResult()
    check(_native.lib().loom_sentence_bleu(_utf8(hypothesis, "hypothesis"), r_arr, len(refs), ctypes.byref(p),
                                           ctypes.byref(out)))
    return _result(out)


# ---------------------------------------------------------------------- classification


def _encode_labels(y_true, y_pred):
    """Maps labels of any sortable type to 0..k-1 in sorted order (sklearn's unique_labels order)."""
    if hasattr(y_true, "tolist"):
        y_true = y_true.tolist()
    if hasattr(y_pred, "tolist"):
        y_pred = y_pred.tolist()
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise LoomError(-1, f"y_true has {len(y_true)} labels, y_pred {len(y_pred)}")
    if not y_true:
        raise LoomError(-1, "no labels")
    labels = sorted(set(y_true) | set(y_pred))
    index = {l: i for i, l in enumerate(labels)}
    n = len(y_true)
    t = (ctypes.c_int32 * n)(*[index[v] for v in y_true])
    p = (ctypes.c_int32 * n)(*[index[v] for v in y_pred])
    return labels, index, t, p, n


def _zero_division(z):
    if z == "warn":
        return 0.0
    z = float(z)
    if not (z == 0.0 or z == 1.0 or math.isnan(z)):
        raise LoomError(-1, f"zero_division must be 0, 1, nan or 'warn', got {z!r}")
    return z


def accuracy(y_true, y_pred):
    """sklearn.metrics.accuracy_score."""
    _, _, t, p, n = _encode_labels(y_true, y_pred)
    out = ctypes.c_double()
    check(_native.lib().loom_accuracy(t, p, n, ctypes.byref(out)))
    return out.value


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    """(precision, recall, f1) as sklearn.metrics.precision_recall_fscore_support(average=...) with
    average "binary" (sklearn's default, for pos_label), "micro", "macro" or "weighted"; average=None
    gives per-class lists (precision, recall, f1, support) in sorted label order."""
    if average is None:
        rows = per_class(y_true, y_pred, zero_division=zero_division)
        return ([r["precision"] for r in rows], [r["recall"] for r in rows], [r["f1"] for r in rows],
                [r["support"] for r in rows])
    if average not in _AVERAGE:
        raise LoomError(-1, f"average must be one of {sorted(_AVERAGE)} or None, got {average!r}")
    labels, index, t, p, n = _encode_labels(y_true, y_pred)
    pos = index.get(pos_label, len(labels))  # an absent positive label counts nothing (as sklearn)
    out = [ctypes.c_double() for _ in range(3)]
    check(_native.lib().loom_precision_recall_f1(t, p, n, _AVERAGE[average], pos, _zero_division(zero_division),
                                                 *[ctypes.byref(o) for o in out]))
    return tuple(o.value for o in out)


def precision(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    return precision_recall_f1(y_true, y_pred, average, pos_label, zero_division)[0]


def recall(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    return precision_recall_f1(y_true, y_pred, average, pos_label, zero_division)[1]


def f1(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    return precision_recall_f1(y_true, y_pred, average, pos_label, zero_division)[2]


def per_class(y_true, y_pred, zero_division=0.0):
    """One dict per class in sorted label order: {"label", "precision", "recall", "f1", "support"}."""
    labels, _, t, p, n = _encode_labels(y_true, y_pred)
    buf = (_native.ClassMetrics * len(labels))()
    k = check(_native.lib().loom_per_class_metrics(t, p, n, _zero_division(zero_division), buf, len(labels)))
    return [{"label": labels[buf[i].label], "precision": buf[i].precision, "recall": buf[i].recall, "f1": buf[i].f1,
             "support": int(buf[i].support)} for i in range(k)]


def classification_report(y_true, y_pred, zero_division=0.0):
    """sklearn.metrics.classification_report(output_dict=True): {str(label): {"precision", "recall",
    "f1-score", "support"}, "accuracy": float, "macro avg": {...}, "weighted avg": {...}}."""
    rows = per_class(y_true, y_pred, zero_division)
    report = {str(r["label"]): {"precision": r["precision"], "recall": r["recall"], "f1-score": r["f1"],
                                "support": float(r["support"])} for r in rows}
    report["accuracy"] = accuracy(y_true, y_pred)
    total = float(sum(r["support"] for r in rows))
    for avg in ("macro", "weighted"):
        p, r, f = precision_recall_f1(y_true, y_pred, average=avg, zero_division=zero_division)
        report[f"{avg} avg"] = {"precision": p, "recall": r, "f1-score": f, "support": total}
    return report


LOOM_EXACT_MATCH_IGNORE_CASE, LOOM_EXACT_MATCH_IGNORE_PUNCTUATION, LOOM_EXACT_MATCH_IGNORE_NUMBERS = 1, 2, 4


def exact_match(predictions, references, ignore_case=False, ignore_punctuation=False, ignore_numbers=False):
    """HF evaluate's exact_match: the share of predictions equal to their references (0..1)."""
    preds = [_utf8(s, "each prediction") for s in predictions]
    refs = [_utf8(s, "each reference") for s in references]
    if len(preds) != len(refs):
        raise LoomError(-1, f"{len(preds)} predictions but {len(refs)} references")
    if not preds:
        raise LoomError(-1, "no predictions")
    flags = (LOOM_EXACT_MATCH_IGNORE_CASE if ignore_case else 0) | \
        (LOOM_EXACT_MATCH_IGNORE_PUNCTUATION if ignore_punctuation else 0) | \
        (LOOM_EXACT_MATCH_IGNORE_NUMBERS if ignore_numbers else 0)
    out = ctypes.c_double()
    check(_native.lib().loom_exact_match((ctypes.c_char_p * len(preds))(*preds), (ctypes.c_char_p * len(refs))(*refs),
                                         len(preds), flags, ctypes.byref(out)))
    return out.value
