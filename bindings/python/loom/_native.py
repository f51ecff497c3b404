"""ctypes declarations of include/loom.h — the only place that knows the C signatures."""
import ctypes
import os
from ctypes import POINTER, c_bool, c_char_p, c_int32, c_size_t, c_uint32, c_void_p

LOOM_OK = 0
LOOM_ERR_BUFFER_TOO_SMALL = -8


class ModelParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("vocab_only", c_bool)]


def _library_path():
    env = os.environ.get("LOOM_LIBRARY_PATH")
    if env:
        return env if os.path.isfile(env) else os.path.join(env, "libloom.so")
    here = os.path.dirname(os.path.abspath(__file__))
    beside = os.path.join(here, "libloom.so")
    if os.path.isfile(beside):
        return beside
    # A source checkout used in place: the repository's release build.
    repo = os.path.join(here, "..", "..", "..", ".build", "release", "libloom.so")
    if os.path.isfile(repo):
        return os.path.normpath(repo)
    return "libloom.so"  # the system's search path


def _declare(lib):
    def fn(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    model_p = c_void_p
    tok_p = c_void_p
    fn("loom_version", c_char_p)
    fn("loom_last_error", c_char_p)
    fn("loom_last_status", c_int32)
    fn("loom_status_string", c_char_p, c_int32)
    fn("loom_model_default_params", ModelParams)
    fn("loom_model_load", c_int32, c_char_p, POINTER(ModelParams), POINTER(c_void_p))
    fn("loom_model_free", None, model_p)
    fn("loom_model_meta_count", c_int32, model_p)
    fn("loom_model_meta_key_by_index", c_int32, model_p, c_int32, c_char_p, c_size_t)
    fn("loom_model_meta_val_str_by_index", c_int32, model_p, c_int32, c_char_p, c_size_t)
    fn("loom_model_meta_val_str", c_int32, model_p, c_char_p, c_char_p, c_size_t)
    fn("loom_model_tokenizer", c_int32, model_p, POINTER(c_void_p))
    fn("loom_tokenizer_load", c_int32, c_char_p, POINTER(c_void_p))
    fn("loom_tokenizer_free", None, tok_p)
    fn("loom_tokenize", c_int32, tok_p, c_char_p, c_size_t, POINTER(c_int32), c_size_t, c_bool, c_bool)
    fn("loom_detokenize", c_int32, tok_p, POINTER(c_int32), c_size_t, c_char_p, c_size_t, c_bool)
    fn("loom_token_to_piece", c_int32, tok_p, c_int32, c_char_p, c_size_t, c_bool)
    fn("loom_token_text", c_int32, tok_p, c_int32, c_char_p, c_size_t)
    fn("loom_tokenizer_n_vocab", c_int32, tok_p)
    for q in ("bos", "eos", "eot", "pad", "unk"):
        fn("loom_tokenizer_" + q, c_int32, tok_p)
    fn("loom_tokenizer_add_bos", c_bool, tok_p)
    fn("loom_tokenizer_add_eos", c_bool, tok_p)
    fn("loom_tokenizer_is_eog", c_bool, tok_p, c_int32)
    fn("loom_tokenizer_is_control", c_bool, tok_p, c_int32)
    return lib


_lib = None


def lib():
    """The loaded libloom.so (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = _declare(ctypes.CDLL(_library_path()))
    return _lib
