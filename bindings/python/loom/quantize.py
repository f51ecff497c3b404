"""Whole-model quantization and HF conversion: loom_model_quantize, loom_model_convert."""
import ctypes
import os

from . import _native
from .errors import LoomError, check

_INVALID_ARGUMENT = -1


def _ftype(type):
    if isinstance(type, bool) or not isinstance(type, (str, int)):
        raise TypeError("type must be a str such as 'q8_0' or a LOOM_FTYPE_* int")
    if isinstance(type, int):
        return type
    try:
        return _native.LOOM_FTYPE[type.lower()]
    except KeyError:
        raise LoomError(_INVALID_ARGUMENT, f"unknown type {type!r}; one of {', '.join(sorted(_native.LOOM_FTYPE))}") from None


def _path(name, p):
    if not isinstance(p, (str, bytes)) and not hasattr(p, "__fspath__"):
        raise TypeError(f"{name} must be a str or os.PathLike")
    return os.fsencode(p)


def _progress(callback):
    if callback is None:
        return _native.PROGRESS_CALLBACK()
    return _native.PROGRESS_CALLBACK(lambda _ud, share: bool(callback(share)))


def quantize(input, output, type="q8_0", *, n_threads=0, allow_requantize=False, quantize_output=True,
             progress=None):
    """Writes the GGUF model `input` to `output` with its weights converted to `type` (f32, f16, bf16, q8_0,
    q4_0, q4_1, q5_0, q5_1, q4_k, q6_k), by llama-quantize's rules (norms and 1-D tensors stay f32, the
    output matrix gets q6_k or q8_0, rows that do not fit a block fall back). `progress(share)` is called
    after each tensor; returning False cancels. Failures raise loom.LoomError."""
    lib = _native.lib()
    p = lib.loom_quantize_default_params()
    p.ftype = _ftype(type)
    if isinstance(n_threads, bool) or not isinstance(n_threads, int):
        raise TypeError("n_threads must be an int")
    p.nthread = max(0, min(n_threads, 256))
    p.allow_requantize = bool(allow_requantize)
    p.quantize_output = bool(quantize_output)
    cb = _progress(progress)
    p.progress_callback = cb
    check(lib.loom_model_quantize(_path("input", input), _path("output", output), ctypes.byref(p)))


def convert(hf_dir, output, type="f16"):
    """Converts an HF llama, GPT-2, BERT or T5 folder (config.json, tokenizer.json, safetensors) to a GGUF file as llama.cpp's
    convert_hf_to_gguf.py does (type: f32, f16, bf16 or q8_0). Failures raise loom.LoomError."""
    lib = _native.lib()
    p = lib.loom_convert_default_params()
    p.ftype = _ftype(type)
    check(lib.loom_model_convert(_path("hf_dir", hf_dir), _path("output", output), ctypes.byref(p)))
