"""Generation through loom_generate / loom_seq2seq_generate_ex: settings, results, batching, beams,
user logits processors, streaming."""
import ctypes
import queue
import threading

import numpy as np

from . import _native
from .errors import LoomError, call_buffer, check

FINISH_REASONS = {0: "eog", 1: "length", 2: "stop", 3: "cancelled", 4: "context_full"}
EARLY_STOPPING = {False: 0, True: 1, "never": 2}

# Every keyword Model.generate / Context.generate accept besides prompt, max_new_tokens, stop, stream.
GENERATE_KEYS = ("temperature", "top_k", "top_p", "min_p", "typical_p", "repetition_penalty", "frequency_penalty",
                 "presence_penalty", "penalty_last_n", "no_repeat_ngram_size", "min_new_tokens", "logit_bias",
                 "bad_words_ids", "logits_processor", "seed", "num_beams", "num_return_sequences", "length_penalty",
                 "early_stopping")


class GenerationResult:
    """One generated sequence: `.ids` (new tokens, without the end-of-generation token), `.text`
    (cut before a stop string), `.finish_reason` ("eog", "length", "stop", "cancelled",
    "context_full") and, for beam search, `.score` (sum of log-probs / length**length_penalty);
    best-of-n results (generate(best_of=N, reward_model=RM)) have `.reward`."""

    reward = None

    def __init__(self, ids, text, finish_reason, score=None):
        self.ids = ids
        self.text = text
        self.finish_reason = finish_reason
        self.score = score

    def __repr__(self):
        extra = "" if self.score is None else f", score={self.score!r}"
        extra += "" if self.reward is None else f", reward={self.reward!r}"
        return f"GenerationResult(ids={self.ids!r}, text={self.text!r}, finish_reason={self.finish_reason!r}{extra})"

    def __str__(self):
        return self.text


def _number(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a number")
    return float(v)


def _int32(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int")
    v = int(v)
    if not -(2 ** 31) <= v < 2 ** 31:
        raise LoomError(-1, f"{name} = {v} is out of range")
    return v


class Settings:
    """The C generate params for one call, with the Python objects its pointers need kept alive."""

    def __init__(self, max_new_tokens=256, stop=None, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, typical_p=1.0,
                 repetition_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0, penalty_last_n=-1,
                 no_repeat_ngram_size=0, min_new_tokens=0, logit_bias=None, bad_words_ids=None,
                 logits_processor=None, seed=None, num_beams=1, num_return_sequences=1, length_penalty=1.0,
                 early_stopping=False):
        lib = _native.lib()
        self.keep = []
        self.error = []
        p = lib.loom_generate_default_params()
        p.max_tokens = max(-1, min(_int32("max_new_tokens", max_new_tokens), 2 ** 31 - 1))
        s = p.sampling
        for name, v in (("temperature", temperature), ("top_p", top_p), ("min_p", min_p), ("typical_p", typical_p),
                        ("repetition_penalty", repetition_penalty), ("frequency_penalty", frequency_penalty),
                        ("presence_penalty", presence_penalty)):
            setattr(s, name, _number(name, v))
        for name, v in (("top_k", top_k), ("penalty_last_n", penalty_last_n),
                        ("no_repeat_ngram_size", no_repeat_ngram_size), ("min_new_tokens", min_new_tokens)):
            setattr(s, name, _int32(name, v))
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 64:
                raise TypeError("seed must be an int in [0, 2**64)")
            s.has_seed = True
            s.seed = seed
        if logit_bias:
            items = list(dict(logit_bias).items())
            arr = (_native.LogitBias * len(items))(*[(_int32("logit_bias token", t), _number("logit_bias", b))
                                                     for t, b in items])
            self.keep.append(arr)
            s.logit_bias = ctypes.cast(arr, ctypes.POINTER(_native.LogitBias))
            s.n_logit_bias = len(items)
        if bad_words_ids:
            words = [[_int32("bad_words_ids token", t) for t in w] for w in bad_words_ids]
            flat = [t for w in words for t in w]
            toks = (ctypes.c_int32 * max(1, len(flat)))(*flat)
            lens = (ctypes.c_size_t * len(words))(*[len(w) for w in words])
            self.keep += [toks, lens]
            s.bad_words = ctypes.cast(toks, ctypes.POINTER(ctypes.c_int32))
            s.bad_words_lengths = ctypes.cast(lens, ctypes.POINTER(ctypes.c_size_t))
            s.n_bad_words = len(words)
        if logits_processor:
            procs = list(logits_processor) if isinstance(logits_processor, (list, tuple)) else [logits_processor]
            if not all(callable(f) for f in procs):
                raise TypeError("logits_processor must be a callable or a list of callables")
            s.logits_callback = self._logits_callback(procs)
        p.sampling = s
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if not all(isinstance(x, str) for x in stops):
            raise TypeError("stop must be a string or a list of strings")
        stop_arr = (ctypes.c_char_p * max(1, len(stops)))(*[x.encode() for x in stops])
        self.keep.append(stop_arr)
        p.stop = ctypes.cast(stop_arr, ctypes.POINTER(ctypes.c_char_p))
        p.n_stop = len(stops)
        p.num_beams = _int32("num_beams", num_beams)
        p.num_return_sequences = _int32("num_return_sequences", num_return_sequences)
        p.length_penalty = _number("length_penalty", length_penalty)
        if early_stopping not in EARLY_STOPPING:
            raise LoomError(-1, f"early_stopping must be True, False or 'never', got {early_stopping!r}")
        p.early_stopping = EARLY_STOPPING[early_stopping]
        self.params = p

    def _logits_callback(self, procs):
        """HF convention: f(input_ids (1, n) int64, scores (1, vocab) float32) -> scores; edits in place
        or a returned array are both honoured."""
        def trampoline(_user, history, n_history, logits, n_vocab):
            if self.error:
                return
            try:
                ids = np.ctypeslib.as_array(history, shape=(n_history,)).astype(np.int64).reshape(1, -1) \
                    if n_history else np.zeros((1, 0), dtype=np.int64)
                scores = np.ctypeslib.as_array(logits, shape=(1, n_vocab))
                for f in procs:
                    out = f(ids, scores)
                    if out is not None and out is not scores:
                        scores[...] = np.asarray(out, dtype=np.float32).reshape(1, n_vocab)
            except BaseException as e:  # re-raised after the call
                self.error.append(e)

        cb = _native.LOGITS_CALLBACK(trampoline)
        self.keep.append(cb)
        return cb

    def stream_to(self, on_piece):
        """on_piece(seq, text) -> False to stop that sequence."""
        def trampoline(_user, seq, _token, piece, length):
            try:
                return on_piece(seq, ctypes.string_at(piece, length).decode("utf-8", "replace")) is not False
            except BaseException as e:
                self.error.append(e)
                return False

        cb = _native.TOKEN_CALLBACK(trampoline)
        self.keep.append(cb)
        self.params.on_token = cb


def _results(out):
    lib = _native.lib()
    results = []
    for seq in range(check(lib.loom_generation_n_seq(out))):
        n = lib.loom_generation_tokens(out, seq, None, 0)
        if n < 0 and lib.loom_last_status() == _native.LOOM_ERR_BUFFER_TOO_SMALL:
            n = -n
        check(n)
        arr = (ctypes.c_int32 * max(1, n))()
        check(lib.loom_generation_tokens(out, seq, arr, n))
        text = call_buffer(lambda b, c: lib.loom_generation_text(out, seq, b, c), initial=4 * n + 16)
        reason = check(lib.loom_generation_finish_reason(out, seq))
        score = ctypes.c_float()
        has_score = lib.loom_generation_score(out, seq, ctypes.byref(score)) == 0
        results.append(GenerationResult(list(arr[:n]), text.decode("utf-8", "replace"),
                                        FINISH_REASONS.get(reason, str(reason)), score.value if has_score else None))
    return results


def run(call, settings):
    """Runs call(params_ptr, out_ptr) -> status; returns the list of results."""
    lib = _native.lib()
    out = ctypes.c_void_p()
    status = call(ctypes.byref(settings.params), ctypes.byref(out))
    try:
        if settings.error:
            raise settings.error[0]
        check(status)
        return _results(out)
    finally:
        if out:
            lib.loom_generation_free(out)


def context_call(ctx_handle, prompts):
    """A `call` for loom_generate over several prompts (lists of ids)."""
    arrays = [(ctypes.c_int32 * len(p))(*p) for p in prompts]
    ptrs = (ctypes.POINTER(ctypes.c_int32) * len(arrays))(*[ctypes.cast(a, ctypes.POINTER(ctypes.c_int32)) for a in arrays])
    lengths = (ctypes.c_size_t * len(prompts))(*[len(p) for p in prompts])

    def call(params, out):
        return _native.lib().loom_generate(ctx_handle, ptrs, lengths, len(prompts), params, out)
    call.keep = (arrays, ptrs, lengths)
    return call


def shape(results, n_prompts, settings, batched):
    """One result per prompt, a list per prompt when num_return_sequences > 1; a list when batched."""
    k = settings.params.num_return_sequences if settings.params.num_beams > 1 else 1
    grouped = [results[i * k:(i + 1) * k] for i in range(n_prompts)] if k > 1 else results
    return grouped if batched else grouped[0]


def stream(call, settings, keepalive):
    """Iterator over text pieces; generation runs on a helper thread (the context is used only there).
    Closing the iterator early cancels the generation."""
    if settings.params.num_beams > 1:
        raise LoomError(-4, "stream=True is not supported with beam search")
    q = queue.Queue()
    cancel = threading.Event()
    done = object()

    def on_piece(_seq, text):
        q.put(text)
        return not cancel.is_set()

    settings.stream_to(on_piece)

    def work():
        try:
            run(call, settings)
        except BaseException as e:
            q.put(("error", e))
        q.put(done)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            if isinstance(item, tuple):
                raise item[1]
            yield item
    finally:
        cancel.set()
        t.join()
        del keepalive


def sampling_params(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0,
                    frequency_penalty=0.0, presence_penalty=0.0, penalty_last_n=-1, seed=None):
    """The C sampling struct alone (for loom_sampler_new); temperature 0 is greedy."""
    return Settings(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                    repetition_penalty=repetition_penalty, frequency_penalty=frequency_penalty,
                    presence_penalty=presence_penalty, penalty_last_n=penalty_last_n, seed=seed).params.sampling


def run_generate(ctx_handle, ids, max_new_tokens, sampling, stop, on_piece=None):
    """One prompt on a context with a ready sampling struct; on_piece(str) -> bool|None streams."""
    settings = Settings(max_new_tokens=max_new_tokens, stop=stop)
    settings.params.sampling = sampling
    if on_piece is not None:
        settings.stream_to(lambda _seq, text: on_piece(text))
    return run(context_call(ctx_handle, [list(ids)]), settings)[0]
