"""Loom: an embeddable LLM runtime. Thin ctypes bindings over libloom.so's C ABI (include/loom.h)."""
from . import _native
from .chat import Prompt, apply_chat_template, build_prompt
from .context import Adapter, Context
from .errors import LoomError
from .generation import GenerationResult
from .log import get_log_level, log_to_logging, set_log_callback, set_log_level
from .model import Model
from .tokenizer import Tokenizer
from .training import train_bpe

__all__ = ["Adapter", "Context", "GenerationResult", "LoomError", "Model", "Prompt", "Tokenizer", "apply_chat_template",
           "build_prompt", "get_log_level", "log_to_logging", "set_log_callback", "set_log_level", "train_bpe", "version"]


def version():
    """libloom's version, "major.minor.patch"."""
    return _native.lib().loom_version().decode()
