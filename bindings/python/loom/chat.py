"""Chat templates (transformers' apply_chat_template) and prompt building, over include/loom.h's
"chat templates" and "prompt building" sections."""
import ctypes
import datetime
import json

from . import _native
from .errors import LoomError, call_buffer


def _utf8(value, what):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str")
    return value.encode("utf-8")


def messages_json(messages):
    """A conversation as the JSON text the ABI takes: a list of message dicts (any keys: role, content,
    tool_calls, name, ...) or a Prompt."""
    if isinstance(messages, Prompt):
        messages = messages.messages()
    if isinstance(messages, (str, bytes, dict)) or not hasattr(messages, "__iter__"):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
    messages = list(messages)
    for m in messages:
        if not isinstance(m, dict):
            raise TypeError("each message must be a dict such as {'role': 'user', 'content': '...'}")
    return json.dumps(messages, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _epoch_seconds(now):
    if now is None:
        return 0
    if isinstance(now, datetime.datetime):
        return int(now.timestamp())  # a naive datetime is local time, as strftime_now shows it
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return int(now)
    raise TypeError("now must be a datetime.datetime or seconds since the Unix epoch")


def chat_params(add_generation_prompt, bos_token, eos_token, extra, now=None):
    """A loom_chat_params: bos/eos None = the model's (or "" without a model); extra: template variables;
    now: strftime_now's clock (None: the current time)."""
    p = _native.lib().loom_chat_default_params()
    p.now = _epoch_seconds(now)
    p.add_generation_prompt = bool(add_generation_prompt)
    p.bos_token = _utf8(bos_token, "bos_token")
    p.eos_token = _utf8(eos_token, "eos_token")
    if extra:
        p.extra_json = json.dumps(extra, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return p


def render(model_handle, template, messages, add_generation_prompt, bos_token, eos_token, extra, now=None):
    lib = _native.lib()
    tmpl = _utf8(template, "template")
    msgs = messages_json(messages)
    params = chat_params(add_generation_prompt, bos_token, eos_token, extra, now)
    out = call_buffer(lambda b, c: lib.loom_chat_apply_template_json(model_handle, tmpl, msgs, ctypes.byref(params),
                                                                     b, c), initial=16384)
    return out.decode("utf-8", "replace")


def apply_chat_template(template, messages, add_generation_prompt=False, bos_token="", eos_token="", now=None,
                        **extra):
    """Renders `messages` with the Jinja chat template `template` (a str) exactly as transformers'
    tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...) does with a
    tokenizer whose bos/eos tokens are `bos_token` / `eos_token`. No model needed.

    messages: a list of dicts, passed to the template as they are (so tool_calls, name, tool_call_id,
    content parts, ... render as in transformers; JSON-serializable values only, and a float with an
    integral value such as 1.0 reaches the template as the int 1), or a loom.Prompt.
    extra keywords become template variables, as apply_chat_template's **kwargs: tools=[...],
    documents=[...], enable_thinking=False, ... (JSON-serializable).
    now: the clock strftime_now reads, a datetime.datetime (naive = local time) or Unix seconds, for
    reproducible prompts; None (default) = the current time, as transformers.
    A template that raises (raise_exception, or an error jinja2 would raise) raises loom.LoomError
    with its message; a template that does not parse too."""
    if not isinstance(template, str):
        raise TypeError("template must be a str (the Jinja source)")
    return render(None, template, messages, add_generation_prompt, bos_token, eos_token, extra, now)


class Prompt:
    """The anatomy of a prompt: instructions, context, task, few-shot examples ((input, output) pairs or
    {"input": ..., "output": ...} dicts) and output format, assembled by libloom (loom_prompt_*).

    .messages(): a system turn (instructions + output format), the examples as user/assistant turns,
    a final user turn (context + task); system_turn=False puts the system text at the start of the
    first user turn instead. A turn holding only the instructions / only the task is that text;
    otherwise each part gets a "## Instructions" / "## Output format" / "## Context" / "## Task"
    heading. .text(): one plain prompt with the sections "## Instructions", "## Context",
    "## Examples" ("Input: ..." / "Output: ..."), "## Output format", "## Task". Parts are stripped;
    empty ones are left out. Model.chat, Model.apply_chat_template and loom.apply_chat_template take a
    Prompt where they take messages; Model.generate takes one as its text."""

    def __init__(self, task="", instructions="", context="", examples=(), output_format="", system_turn=True):
        for name, value in (("task", task), ("instructions", instructions), ("context", context),
                            ("output_format", output_format)):
            if not isinstance(value, str):
                raise TypeError(f"Prompt({name}=...) must be a str")
        pairs = []
        for e in examples:
            if isinstance(e, dict):
                e = (e.get("input"), e.get("output"))
            if not isinstance(e, (tuple, list)) or len(e) != 2 or not all(isinstance(x, str) for x in e):
                raise TypeError("each example must be an (input, output) pair of str or an {'input', 'output'} dict")
            pairs.append((e[0], e[1]))
        self.task = task
        self.instructions = instructions
        self.context = context
        self.examples = pairs
        self.output_format = output_format
        self.system_turn = bool(system_turn)

    def __repr__(self):
        return (f"Prompt(task={self.task!r}, instructions={self.instructions!r}, context={self.context!r}, "
                f"examples={self.examples!r}, output_format={self.output_format!r}, system_turn={self.system_turn})")

    def _params(self):
        """A loom_prompt_params and the objects its pointers borrow (keep both alive for the call)."""
        lib = _native.lib()
        p = lib.loom_prompt_default_params()
        keep = [s.encode("utf-8") for s in (self.instructions, self.context, self.task, self.output_format)]
        p.instructions, p.context, p.task, p.output_format = keep
        examples = (_native.PromptExample * max(1, len(self.examples)))()
        for i, (a, b) in enumerate(self.examples):
            ea, eb = a.encode("utf-8"), b.encode("utf-8")
            keep += [ea, eb]
            examples[i].input = ea
            examples[i].output = eb
        p.examples = ctypes.cast(examples, ctypes.POINTER(_native.PromptExample))
        p.n_examples = len(self.examples)
        p.system_turn = self.system_turn
        return p, (keep, examples)

    def messages(self):
        """The chat messages: a list of {"role", "content"} dicts."""
        lib = _native.lib()
        p, keep = self._params()
        out = call_buffer(lambda b, c: lib.loom_prompt_messages_json(ctypes.byref(p), b, c), initial=4096)
        return json.loads(out.decode("utf-8"))

    def text(self):
        """The plain-text prompt with labelled sections."""
        lib = _native.lib()
        p, keep = self._params()
        return call_buffer(lambda b, c: lib.loom_prompt_text(ctypes.byref(p), b, c), initial=4096).decode("utf-8")

    def __str__(self):
        return self.text()


def build_prompt(task="", instructions="", context="", examples=(), output_format="", chat=True, system_turn=True):
    """Assembles a prompt (see Prompt): chat=True gives the list of message dicts (for Model.chat or
    apply_chat_template), chat=False the plain text (for Model.generate)."""
    p = Prompt(task=task, instructions=instructions, context=context, examples=examples,
               output_format=output_format, system_turn=system_turn)
    return p.messages() if chat else p.text()


__all__ = ["LoomError", "Prompt", "apply_chat_template", "build_prompt"]
