"""Chat templates without a model (loom.apply_chat_template), with a model, and prompt building."""
import datetime
import json
import time

import pytest

import loom
from conftest import FIXTURES

REFS = FIXTURES / "chat-templates" / "refs.json"
SMOL_TEMPLATE = (FIXTURES / "chat-templates" / "extra" / "HuggingFaceTB-SmolLM2-135M-Instruct.jinja").read_text()


def test_corpus_through_the_abi():
    """Every corpus template and conversation through the C ABI (JSON messages, bos/eos and the tools
    variable in params, strftime_now's clock fixed): the same bytes as jinja2, or a LoomError where
    jinja2 raised."""
    doc = json.loads(REFS.read_text(encoding="utf-8"))
    now = int(time.mktime(datetime.datetime(*doc["now"]).timetuple()))
    same = total = 0
    diffs = []
    for name, entry in sorted(doc["templates"].items()):
        for case in doc["cases"]:
            for gen in ("nogen", "gen"):
                want = entry["results"][f"{case['name']}/{gen}"]
                total += 1
                try:
                    got = loom.apply_chat_template(entry["source"], case["messages"], add_generation_prompt=gen == "gen",
                                                   bos_token=doc["bos_token"], eos_token=doc["eos_token"],
                                                   tools=case["tools"], now=now)
                except loom.LoomError as e:
                    if "error" in want:
                        same += 1
                    else:
                        diffs.append(f"{name} {case['name']}/{gen}: LoomError {e}")
                    continue
                if want.get("output") == got:
                    same += 1
                else:
                    diffs.append(f"{name} {case['name']}/{gen}: differs")
    assert not diffs, f"{same}/{total} identical; differing: {diffs[:10]}"


def test_apply_chat_template_without_a_model():
    tmpl = ("{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% if m.tool_calls %}"
            "{{ m.tool_calls[0].function|tojson }}{% endif %}{% endfor %}{% if add_generation_prompt %}<assistant>"
            "{% endif %}{{ eos_token }}")
    msgs = [{"role": "user", "content": "Héllo"}]
    assert loom.apply_chat_template(tmpl, msgs) == "<user>Héllo"
    assert loom.apply_chat_template(tmpl, msgs, add_generation_prompt=True, bos_token="<s>",
                                    eos_token="</s>") == "<s><user>Héllo<assistant></s>"
    calls = [{"role": "assistant", "content": None,
              "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]}]
    assert loom.apply_chat_template(tmpl, calls) == '<assistant>None{"name": "f", "arguments": {"x": 1}}'
    # Extra keywords are template variables (tools, enable_thinking, ...).
    assert loom.apply_chat_template("{{ tools|length }} {{ enable_thinking }}", [], tools=[{"a": 1}],
                                    enable_thinking=False) == "1 False"
    assert loom.apply_chat_template("{{ tools }} {{ documents }}", []) == "None None"
    # strftime_now reads a fixed clock when now= is given (a datetime or Unix seconds).
    when = datetime.datetime(2024, 7, 26, 10, 30, 0)
    assert loom.apply_chat_template("{{ strftime_now('%d %b %Y %H:%M') }}", [], now=when) == "26 Jul 2024 10:30"
    assert loom.apply_chat_template("{{ strftime_now('%Y') }}", []) == time.strftime("%Y")


def test_apply_chat_template_errors():
    with pytest.raises(loom.LoomError, match="Conversation roles must alternate"):
        loom.apply_chat_template("{{ raise_exception('Conversation roles must alternate') }}", [])
    with pytest.raises(loom.LoomError) as e:
        loom.apply_chat_template("{% if %}", [])
    assert e.value.status == -3  # LOOM_ERR_FORMAT: a template jinja2 cannot parse
    with pytest.raises(loom.LoomError, match="UndefinedError"):
        loom.apply_chat_template("{{ nothing.there }}", [])
    with pytest.raises(TypeError):
        loom.apply_chat_template(None, [])
    with pytest.raises(TypeError):
        loom.apply_chat_template("x", "not a list")
    with pytest.raises(TypeError):
        loom.apply_chat_template("x", [("user", "hi")])
    with pytest.raises(TypeError):
        loom.apply_chat_template("x", [{"role": "user", "content": object()}])
    with pytest.raises(TypeError):
        loom.apply_chat_template("x", [], bos_token=1)
    with pytest.raises(ValueError):
        loom.apply_chat_template("x", [{"role": "user", "content": float("nan")}])


def test_model_template(smollm2):
    msgs = [{"role": "user", "content": "Hi"}]
    want = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert smollm2.apply_chat_template(msgs) == want
    assert loom.apply_chat_template(SMOL_TEMPLATE, msgs, add_generation_prompt=True) == want
    probe = "{{ bos_token }}|{{ eos_token }}"
    assert smollm2.apply_chat_template([], template=probe) == "<|im_start|>|<|im_end|>"
    assert smollm2.apply_chat_template([], template=probe, bos_token="<s>") == "<s>|<|im_end|>"
    with pytest.raises(loom.LoomError, match="nope"):
        smollm2.apply_chat_template(msgs, template="{{ raise_exception('nope') }}")


PROMPT = loom.Prompt(
    task="Classify: \"The battery died after an hour.\"",
    instructions="You label customer reviews.",
    context="Reviews come from an electronics shop.",
    examples=[("Classify: \"Great screen!\"", "positive"), {"input": "Classify: \"It broke.\"", "output": "negative"}],
    output_format="One word: positive or negative.",
)


def test_prompt_messages_and_text():
    assert PROMPT.messages() == [
        {"role": "system", "content": "## Instructions\nYou label customer reviews.\n\n## Output format\n"
                                      "One word: positive or negative."},
        {"role": "user", "content": "Classify: \"Great screen!\""},
        {"role": "assistant", "content": "positive"},
        {"role": "user", "content": "Classify: \"It broke.\""},
        {"role": "assistant", "content": "negative"},
        {"role": "user", "content": "## Context\nReviews come from an electronics shop.\n\n## Task\n"
                                    "Classify: \"The battery died after an hour.\""},
    ]
    assert PROMPT.text() == (
        "## Instructions\nYou label customer reviews.\n\n## Context\nReviews come from an electronics shop.\n\n"
        "## Examples\nInput: Classify: \"Great screen!\"\nOutput: positive\n\nInput: Classify: \"It broke.\"\n"
        "Output: negative\n\n## Output format\nOne word: positive or negative.\n\n## Task\n"
        "Classify: \"The battery died after an hour.\"")
    assert str(PROMPT) == PROMPT.text()
    assert loom.build_prompt("Hi", instructions="Be brief.") == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert loom.build_prompt("Hi", instructions="Be brief.", system_turn=False) == [
        {"role": "user", "content": "Be brief.\n\nHi"}]
    assert loom.build_prompt("Hi", chat=False) == "Hi"
    assert loom.build_prompt(" Ünïcode ✓ ", chat=False) == "Ünïcode ✓"
    with pytest.raises(TypeError):
        loom.Prompt(task=1)
    with pytest.raises(TypeError):
        loom.Prompt(examples=[("only input",)])
    with pytest.raises(TypeError):
        loom.Prompt(examples=[{"input": "x"}])


def test_prompt_through_templates(smollm2):
    p = loom.Prompt("2+2?", instructions="Answer with a number.", examples=[("1+1?", "2")])
    want = ("<|im_start|>system\nAnswer with a number.<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n"
            "<|im_start|>assistant\n2<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")
    assert smollm2.apply_chat_template(p) == want
    assert loom.apply_chat_template(SMOL_TEMPLATE, p, add_generation_prompt=True) == want


def test_prompt_with_chat_and_generate(smollm2_full):
    p = loom.Prompt("What is the capital of France?", instructions="Answer in one short sentence.")
    r = smollm2_full.chat(p, max_new_tokens=16)
    assert "Paris" in r.text
    r = smollm2_full.generate(loom.Prompt("The capital of France is"), max_new_tokens=4)
    assert r.ids
