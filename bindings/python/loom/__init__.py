"""Loom: an embeddable LLM runtime. Thin ctypes bindings over libloom.so's C ABI (include/loom.h)."""
from . import _native
from .context import Context
from .errors import LoomError
from .generation import GenerationResult
from .model import Model
from .tokenizer import Tokenizer
from .training import train_bpe

__all__ = ["Context", "GenerationResult", "LoomError", "Model", "Tokenizer", "train_bpe", "version"]


def version():
    """libloom's version, "major.minor.patch"."""
    return _native.lib().loom_version().decode()
