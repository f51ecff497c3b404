"""Encoder-decoder models (T5): generation through loom_seq2seq_generate_ex (greedy, sampling,
stop strings, streaming, beam search; see Model.generate)."""
import ctypes

from . import _native
from .errors import LoomError, check


def is_seq2seq(model):
    """True for a model with an encoder-decoder network (T5 loaded with weights)."""
    lib = _native.lib()
    if not hasattr(lib, "loom_seq2seq_generate"):
        return False
    return check(lib.loom_model_is_seq2seq(model._h())) == 1


def call(model, prompt, n_threads=0):
    """A generation `call` (see generation.run) for one encoder input: text gets `</s>` appended."""
    if isinstance(prompt, str):
        ids = model.tokenize(prompt, add_special=True, parse_special=True)   # appends </s>
    else:
        ids = [int(i) for i in prompt]
        if any(not -2 ** 31 <= i < 2 ** 31 for i in ids):
            raise LoomError(-7, "a prompt id does not fit a loom_token (int32)")
    if not ids:
        raise LoomError(-1, "the prompt has no tokens")
    arr = (ctypes.c_int32 * len(ids))(*ids)

    def run(params, out):
        return _native.lib().loom_seq2seq_generate_ex(model._h(), arr, len(ids), n_threads, params, out)
    run.keep = arr
    return run
