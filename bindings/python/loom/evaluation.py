"""Perplexity, log-likelihood scoring and multiple-choice evaluation (include/loom.h, "evaluation")."""
import ctypes
from dataclasses import dataclass, field
from typing import List, Optional

from . import _native
from .errors import LoomError, check


@dataclass
class PerplexityResult:
    """exp(nll_sum / n_tokens) over the n_tokens scored tokens; float(result) is the perplexity."""
    ppl: float
    nll_sum: float
    n_tokens: int

    def __float__(self):
        return self.ppl


@dataclass
class ScoreResult:
    """A continuation's log-likelihood (lm-eval-harness loglikelihood): the summed log-probability
    (nats), whether greedy decoding produces it, each token's log-probability, and its token ids."""
    logprob: float
    is_greedy: bool
    token_logprobs: List[float] = field(default_factory=list)
    tokens: List[int] = field(default_factory=list)


def _int32s(ids, what):
    vals = []
    for i in ids:
        if isinstance(i, bool) or not hasattr(i, "__index__"):
            raise TypeError(f"{what} must be token ids (ints)")
        i = int(i)
        if not -(2 ** 31) <= i < 2 ** 31:
            raise LoomError(-7, f"token id {i} is out of range")
        vals.append(i)
    return vals


def _ids_of(model, ids_or_text, add_special=True):
    if isinstance(ids_or_text, str):
        return model.tokenize(ids_or_text, add_special=add_special)
    if hasattr(ids_or_text, "tolist"):
        ids_or_text = ids_or_text.tolist()
    return _int32s(ids_or_text, "ids")


def perplexity(model, ids_or_text, ctx=None, stride=None, n_batch=512, n_threads=None, progress=None):
    lib = _native.lib()
    ids = _ids_of(model, ids_or_text)
    if len(ids) < 2:
        raise LoomError(-1, f"perplexity needs at least 2 tokens, got {len(ids)}")
    params = lib.loom_perplexity_default_params()
    for name, value in (("ctx", ctx), ("stride", stride), ("n_batch", n_batch), ("n_threads", n_threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2 ** 31):
            raise TypeError(f"{name} must be a non-negative int")
    params.n_ctx = ctx or 0
    params.stride = stride or 0
    params.n_batch = n_batch
    if n_threads:
        params.n_threads = n_threads
    raised = []
    if progress is not None:
        def on_progress(_user, value):
            try:
                return progress(float(value)) is not False
            except BaseException as e:  # noqa: BLE001 - re-raised after the call
                raised.append(e)
                return False
        callback = _native.PROGRESS_CALLBACK(on_progress)  # alive for the synchronous call
        params.progress_callback = callback
    arr = (ctypes.c_int32 * len(ids))(*ids)
    ppl, nll, n = ctypes.c_double(), ctypes.c_double(), ctypes.c_int64()
    status = lib.loom_perplexity(model._h(), arr, len(ids), ctypes.byref(params), ctypes.byref(ppl), ctypes.byref(nll),
                                 ctypes.byref(n))
    if raised:
        raise raised[0]
    check(status)
    return PerplexityResult(ppl.value, nll.value, n.value)


def encode_pair(tokenizer, context, continuation, add_special=False):
    """lm-eval-harness's _encode_pair: (context ids, continuation ids) of a text pair."""
    lib = _native.lib()
    c, x = context.encode("utf-8"), continuation.encode("utf-8")
    split = ctypes.c_size_t()
    n = lib.loom_eval_encode_pair(tokenizer._h(), c, x, bool(add_special), None, 0, ctypes.byref(split))
    if n < 0 and lib.loom_last_status() != _native.LOOM_ERR_BUFFER_TOO_SMALL:
        check(n)
    cap = max(1, -n if n < 0 else n)
    buf = (ctypes.c_int32 * cap)()
    n = check(lib.loom_eval_encode_pair(tokenizer._h(), c, x, bool(add_special), buf, cap, ctypes.byref(split)))
    ids = list(buf[:n])
    return ids[:split.value], ids[split.value:]


def score_ids(context_handle, context_ids, continuation_ids):
    lib = _native.lib()
    c, x = _int32s(context_ids, "context"), _int32s(continuation_ids, "continuation")
    if not c or not x:
        raise LoomError(-1, "the context and the continuation need at least one token each")
    ca, xa = (ctypes.c_int32 * len(c))(*c), (ctypes.c_int32 * len(x))(*x)
    lp, greedy, per = ctypes.c_double(), ctypes.c_bool(), (ctypes.c_double * len(x))()
    check(lib.loom_score(context_handle, ca, len(c), xa, len(x), ctypes.byref(lp), ctypes.byref(greedy), per))
    return ScoreResult(lp.value, bool(greedy.value), list(per), x)


def pair_ids(model, context, continuation, add_special=False):
    """(context ids, continuation ids) for text (lm-eval's encoding) or id lists."""
    if isinstance(context, str) and isinstance(continuation, str):
        return encode_pair(model.tokenizer, context, continuation, add_special=add_special)
    if isinstance(context, str) or isinstance(continuation, str):
        raise TypeError("score(context, continuation): give two strings or two lists of token ids")
    return _ids_of(model, context), _ids_of(model, continuation)


def score(model, context, continuation, add_special=False):
    c, x = pair_ids(model, context, continuation, add_special)
    ctx = model._private_context(min(len(c) + len(x), 1 << 16))
    return score_ids(ctx._h(), c, x)


_QUESTION_KEYS = ("question", "query", "context")
_CHOICE_KEYS = ("choices", "endings")
_ANSWER_KEYS = ("answer", "label", "gold")


def _item(it, index):
    """(question, choices, answer index or None) of a dict (keys as `loom eval-mc`) or a tuple."""
    if isinstance(it, dict):
        q = next((it[k] for k in _QUESTION_KEYS if k in it), None)
        choices = next((it[k] for k in _CHOICE_KEYS if k in it), None)
        answer = next((it[k] for k in _ANSWER_KEYS if k in it), None)
    elif isinstance(it, (tuple, list)) and len(it) in (2, 3):
        q, choices = it[0], it[1]
        answer = it[2] if len(it) == 3 else None
    else:
        raise TypeError(f"item {index}: a dict with question/choices/answer or a (question, choices[, answer]) tuple")
    if not isinstance(q, str) or not isinstance(choices, (list, tuple)) or not choices \
            or not all(isinstance(c, str) for c in choices):
        raise LoomError(-1, f"item {index}: needs a question string and a non-empty list of choice strings")
    if isinstance(answer, str):
        if answer in choices:
            answer = list(choices).index(answer)
        elif answer.isdigit():
            answer = int(answer)
        elif len(answer) == 1 and "A" <= answer < chr(65 + len(choices)):
            answer = ord(answer) - 65
        else:
            raise LoomError(-1, f"item {index}: the answer {answer!r} is neither a choice, an index nor a letter")
    if answer is not None and (isinstance(answer, bool) or not isinstance(answer, int)
                               or not 0 <= answer < len(choices)):
        raise LoomError(-7, f"item {index}: answer {answer!r} is outside 0..{len(choices) - 1}")
    return q, list(choices), answer


def _argmax(values):
    best = 0
    for i, v in enumerate(values):
        if v != v:  # NaN wins, as numpy's argmax
            return i
        if v > values[best]:
            best = i
    return best


def evaluate_multiple_choice(model, items, delimiter=" ", add_special=False, progress=None):
    """lm-eval-harness multiple choice: each choice is scored as the continuation delimiter + choice of
    the question; the prediction is the choice with the highest log-likelihood (acc) and with the
    highest log-likelihood per character of the choice (acc_norm).

    items: dicts {"question", "choices", "answer"} (also "query"/"context", "endings", "label"/"gold";
    the answer an index, a choice's text or a letter; it may be missing) or (question, choices[, answer])
    tuples. progress: called with (done, total) after each item; False stops (LoomError).

    Returns {"acc", "acc_norm" (None without answers), "n", "answered", "results": per item
    {"prediction", "prediction_norm", "logprobs", "is_greedy", "answer", "correct", "correct_norm"}}."""
    parsed = [_item(it, i) for i, it in enumerate(items)]
    results = []
    for i, (q, choices, answer) in enumerate(parsed):
        pairs = [pair_ids(model, q, delimiter + c, add_special) for c in choices]
        need = max(len(c) + len(x) for c, x in pairs)
        ctx = model._private_context(min(need, 1 << 16))
        scores = [score_ids(ctx._h(), c, x) for c, x in pairs]
        lls = [s.logprob for s in scores]
        norm = [ll / len(c) if len(c) else (float("nan") if ll == 0 else ll * float("inf")) for ll, c in zip(lls, choices)]
        pred, pred_norm = _argmax(lls), _argmax(norm)
        results.append({"prediction": pred, "prediction_norm": pred_norm, "logprobs": lls,
                        "is_greedy": [s.is_greedy for s in scores], "answer": answer,
                        "correct": None if answer is None else pred == answer,
                        "correct_norm": None if answer is None else pred_norm == answer})
        if progress is not None and progress(i + 1, len(parsed)) is False:
            raise LoomError(_native.LOOM_ERR_ABORTED, "evaluation stopped by the progress callback")
    answered = [r for r in results if r["answer"] is not None]
    acc = sum(r["correct"] for r in answered) / len(answered) if answered else None
    acc_norm = sum(r["correct_norm"] for r in answered) / len(answered) if answered else None
    return {"acc": acc, "acc_norm": acc_norm, "n": len(results), "answered": len(answered), "results": results}
