"""Loom: an embeddable LLM runtime. Thin ctypes bindings over libloom.so's C ABI (include/loom.h)."""
from . import _native
from .chat import Prompt, apply_chat_template, build_prompt
from .classification import preference_probability
from .context import Adapter, Context
from .errors import LoomError
from .evaluation import evaluate_multiple_choice
from . import metrics
from .generation import GenerationResult
from .log import get_log_level, log_to_logging, set_log_callback, set_log_level
from .model import Model
from .retrieval import RetrievalIndex
from .quantize import convert, quantize
from .tokenizer import Tokenizer
from .training import train_bpe

__all__ = ["Adapter", "Context", "GenerationResult", "LoomError", "Model", "Prompt", "Tokenizer", "apply_chat_template", "convert", "quantize",
           "build_prompt", "evaluate_multiple_choice", "metrics", "get_log_level", "log_to_logging", "set_log_callback", "set_log_level", "train_bpe", "version",
           "preference_probability", "RetrievalIndex"]


def version():
    """libloom's version, "major.minor.patch"."""
    return _native.lib().loom_version().decode()
