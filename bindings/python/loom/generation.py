"""Generation through loom_generate: results, sampling settings, streaming."""
import ctypes
import queue
import threading

from . import _native
from .errors import LoomError, call_buffer, check

FINISH_REASONS = {0: "eog", 1: "length", 2: "stop", 3: "cancelled", 4: "context_full"}


class GenerationResult:
    """One generated sequence: `.ids` (new tokens, without the end-of-generation token), `.text`
    (cut before a stop string) and `.finish_reason` ("eog", "length", "stop", "cancelled", "context_full")."""

    def __init__(self, ids, text, finish_reason):
        self.ids = ids
        self.text = text
        self.finish_reason = finish_reason

    def __repr__(self):
        return f"GenerationResult(ids={self.ids!r}, text={self.text!r}, finish_reason={self.finish_reason!r})"

    def __str__(self):
        return self.text


def sampling_params(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0,
                    frequency_penalty=0.0, presence_penalty=0.0, penalty_last_n=-1, seed=None):
    """The C sampling struct; temperature 0 is greedy. Values are checked by the library."""
    p = _native.lib().loom_sampling_default_params()
    for name, v in (("temperature", temperature), ("top_p", top_p), ("min_p", min_p),
                    ("repetition_penalty", repetition_penalty), ("frequency_penalty", frequency_penalty),
                    ("presence_penalty", presence_penalty)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{name} must be a number")
        setattr(p, name, float(v))
    for name, v in (("top_k", top_k), ("penalty_last_n", penalty_last_n)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int")
        if not -(2 ** 31) <= v < 2 ** 31:
            raise LoomError(-1, f"{name} = {v} is out of range")
        setattr(p, name, v)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 64:
            raise TypeError("seed must be an int in [0, 2**64)")
        p.has_seed = True
        p.seed = seed
    return p


def run_generate(ctx_handle, ids, max_new_tokens, sampling, stop, on_piece=None):
    """Calls loom_generate for one prompt; on_piece(str) -> bool|None receives streamed text."""
    lib = _native.lib()
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool):
        raise TypeError("max_new_tokens must be an int")
    params = lib.loom_generate_default_params()
    params.max_tokens = max(-1, min(max_new_tokens, 2 ** 31 - 1))
    params.sampling = sampling
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if not all(isinstance(s, str) for s in stops):
        raise TypeError("stop must be a string or a list of strings")
    stop_arr = (ctypes.c_char_p * max(1, len(stops)))(*[s.encode() for s in stops])
    params.stop = ctypes.cast(stop_arr, ctypes.POINTER(ctypes.c_char_p))
    params.n_stop = len(stops)
    error = []
    if on_piece is not None:
        decoder_buf = []

        def trampoline(_user, _seq, _token, piece, length):
            try:
                text = ctypes.string_at(piece, length).decode("utf-8", "replace")
                decoder_buf.append(text)
                return on_piece(text) is not False
            except BaseException as e:  # propagate after the call instead of crashing
                error.append(e)
                return False

        params.on_token = _native.TOKEN_CALLBACK(trampoline)
    prompt = (ctypes.c_int32 * len(ids))(*ids)
    prompts = (ctypes.POINTER(ctypes.c_int32) * 1)(ctypes.cast(prompt, ctypes.POINTER(ctypes.c_int32)))
    lengths = (ctypes.c_size_t * 1)(len(ids))
    out = ctypes.c_void_p()
    status = lib.loom_generate(ctx_handle, prompts, lengths, 1, ctypes.byref(params), ctypes.byref(out))
    if error:
        if out:
            lib.loom_generation_free(out)
        raise error[0]
    check(status)
    try:
        n = lib.loom_generation_tokens(out, 0, None, 0)
        if n < 0 and lib.loom_last_status() == _native.LOOM_ERR_BUFFER_TOO_SMALL:
            n = -n
        check(n)
        arr = (ctypes.c_int32 * max(1, n))()
        check(lib.loom_generation_tokens(out, 0, arr, n))
        text = call_buffer(lambda b, c: lib.loom_generation_text(out, 0, b, c), initial=4 * n + 16)
        reason = check(lib.loom_generation_finish_reason(out, 0))
        return GenerationResult(list(arr[:n]), text.decode("utf-8", "replace"), FINISH_REASONS.get(reason, str(reason)))
    finally:
        lib.loom_generation_free(out)


def stream_generate(ctx_handle, ids, max_new_tokens, sampling, stop, keepalive):
    """Iterator over text pieces; generation runs on a helper thread (the context is used only there).
    Closing the iterator early cancels the generation."""
    q = queue.Queue()
    cancel = threading.Event()
    done = object()

    def on_piece(text):
        q.put(text)
        return not cancel.is_set()

    def work():
        try:
            q.put(("result", run_generate(ctx_handle, ids, max_new_tokens, sampling, stop, on_piece)))
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
                if item[0] == "error":
                    raise item[1]
                continue
            yield item
    finally:
        cancel.set()
        t.join()
        del keepalive
