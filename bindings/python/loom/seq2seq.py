"""Encoder-decoder models (T5): greedy generation through loom_seq2seq_generate."""
import ctypes

from . import _native
from .errors import LoomError, check
from .generation import GenerationResult

_UNSUPPORTED = -4  # LOOM_ERR_UNSUPPORTED

# Values that leave greedy decoding unchanged; anything else asks for sampling, not supported on T5 yet.
_GREEDY_DEFAULTS = {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "repetition_penalty": 1.0,
                    "frequency_penalty": 0.0, "presence_penalty": 0.0, "penalty_last_n": -1}


def is_seq2seq(model):
    """True for a model with an encoder-decoder network (T5 loaded with weights)."""
    lib = _native.lib()
    if not hasattr(lib, "loom_seq2seq_generate"):
        return False
    return check(lib.loom_model_is_seq2seq(model._h())) == 1


def generate(model, prompt, max_new_tokens, stop=None, stream=False, **sampling):
    """Greedy generation: a GenerationResult whose .ids are the new decoder tokens (without the decoder
    start token and without `</s>`), .text their detokenization (special tokens not rendered) and
    .finish_reason "eog" (ended at `</s>`) or "length"."""
    unsupported = sorted(k for k, v in sampling.items()
                         if k != "seed" and (isinstance(v, bool) or v != _GREEDY_DEFAULTS.get(k, v)))
    if unsupported:
        raise LoomError(_UNSUPPORTED,
                        f"encoder-decoder models generate greedily only (temperature 0); "
                        f"not supported on T5 yet: {', '.join(unsupported)}")
    if stream:
        raise LoomError(_UNSUPPORTED, "stream=True is not supported on encoder-decoder models yet")
    if stop:
        raise LoomError(_UNSUPPORTED, "stop strings are not supported on encoder-decoder models yet")
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool):
        raise TypeError("max_new_tokens must be an int")
    if not 0 <= max_new_tokens < 2 ** 31:
        raise LoomError(-1, f"max_new_tokens = {max_new_tokens} is out of range (0 or more)")
    if isinstance(prompt, str):
        ids = model.tokenize(prompt, add_special=True, parse_special=True)   # appends </s>
    else:
        ids = [int(i) for i in prompt]
        if any(not -2 ** 31 <= i < 2 ** 31 for i in ids):
            raise LoomError(-7, "a prompt id does not fit a loom_token (int32)")
    if not ids:
        raise LoomError(-1, "the prompt has no tokens")
    lib = _native.lib()
    arr = (ctypes.c_int32 * len(ids))(*ids)
    out = (ctypes.c_int32 * max(1, max_new_tokens))()
    n = check(lib.loom_seq2seq_generate(model._h(), arr, len(ids), max_new_tokens, out, max_new_tokens))
    new_ids = list(out[:n])
    reason = "length" if n == max_new_tokens else "eog"
    return GenerationResult(new_ids, model.detokenize(new_ids, render_special=False), reason)
