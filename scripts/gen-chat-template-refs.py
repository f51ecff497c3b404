#!/usr/bin/env python3
"""Render the chat-template corpus with Python jinja2 exactly as HF transformers does.

For every `*.jinja` in the template folder (default: $LOOM_CACHE/vocab-suite/templates, where
scripts/fetch-test-data.sh puts llama.cpp's corpus) and in Tests/Fixtures/chat-templates/extra
(templates of models Loom tests with that the corpus lacks: SmolLM2-135M-Instruct's, copied from its
GGUF's tokenizer.chat_template) this renders a fixed set of conversations (with and without a
system turn, ending with a user or an assistant turn, content parts, a tool call), each with
add_generation_prompt off and on, bos_token "<s>" and eos_token "</s>", and writes
Tests/Fixtures/chat-templates/refs.json:

  {
    "jinja2": "3.1.6", "now": [2024, 7, 26, 10, 30, 0], "bos_token": "<s>", "eos_token": "</s>",
    "cases": [{"name": ..., "messages": [...], "tools": [...] | null}, ...],
    "templates": {
      "<file name>": {
        "source": "<template text>",
        "results": {"<case>/<gen|nogen>": {"output": "..."} | {"error": {"type": ..., "message": ...}}}
      }
    }
  }

It also writes Tests/Fixtures/chat-templates/snippets.json: small templates probing the language
(SNIPPETS, plus a seeded whitespace-control fuzz) rendered with SNIPPET_CONTEXT, each with its
output or the exception jinja2 raised.

The environment is the one transformers' apply_chat_template compiles with
(utils/chat_template_utils.py): ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[AssistantTracker (the {% generation %} tag), jinja2.ext.loopcontrols]), the `tojson`
filter replaced by json.dumps(ensure_ascii=False, ...), and the globals raise_exception and
strftime_now; the render call passes messages, tools, documents (None), add_generation_prompt and
the special tokens. strftime_now uses the fixed clock NOW so outputs are deterministic; the Swift
test (Tests/LoomJinjaTests) injects the same clock.

Usage: python3 scripts/gen-chat-template-refs.py [--templates DIR] [--out FILE]
"""
import argparse
import datetime
import json
import os
import sys

try:
    import jinja2
    import jinja2.ext
    import jinja2.nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    sys.exit("gen-chat-template-refs: needs jinja2 (pip install Jinja2)")

NOW = datetime.datetime(2024, 7, 26, 10, 30, 0)
BOS = "<s>"
EOS = "</s>"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    }
]

SYSTEM = {"role": "system", "content": "You are a concise assistant."}
USER1 = {"role": "user", "content": "What is the capital of France?"}
ASSISTANT1 = {"role": "assistant", "content": "The capital of France is Paris."}
USER2 = {"role": "user", "content": "And what's its population?\nAnswer in one line."}

CASES = [
    {"name": "user", "messages": [USER1], "tools": None},
    {"name": "system_user", "messages": [SYSTEM, USER1], "tools": None},
    {"name": "multi_turn", "messages": [USER1, ASSISTANT1, USER2], "tools": None},
    {"name": "system_multi_turn", "messages": [SYSTEM, USER1, ASSISTANT1, USER2], "tools": None},
    {"name": "assistant_last", "messages": [USER1, ASSISTANT1], "tools": None},
    {"name": "system_assistant_last", "messages": [SYSTEM, USER1, ASSISTANT1], "tools": None},
    {
        "name": "content_parts",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Describe \"this\" <b>text</b> & more."}]}],
        "tools": None,
    },
    {
        "name": "tool_call",
        "messages": [
            SYSTEM,
            {"role": "user", "content": "What's the weather in Paris?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "22°C, sunny"},
            {"role": "assistant", "content": "It is 22°C and sunny in Paris."},
            {"role": "user", "content": "Thanks!"},
        ],
        "tools": TOOLS,
    },
]


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} tag; outside assistant-mask tracking it renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def error_entry(e):
    return {"error": {"type": type(e).__name__, "message": str(e)}}


def render_all(env, source):
    results = {}
    try:
        template = env.from_string(source)
    except Exception as e:  # a template jinja2 cannot compile fails every case
        for case in CASES:
            for gen in ("nogen", "gen"):
                results[f"{case['name']}/{gen}"] = error_entry(e)
        return results
    for case in CASES:
        for gen in ("nogen", "gen"):
            # Fresh copies: a template must not see another render's data.
            messages = json.loads(json.dumps(case["messages"]))
            tools = json.loads(json.dumps(case["tools"]))
            try:
                out = template.render(
                    messages=messages,
                    tools=tools,
                    documents=None,
                    add_generation_prompt=(gen == "gen"),
                    bos_token=BOS,
                    eos_token=EOS,
                )
                results[f"{case['name']}/{gen}"] = {"output": out}
            except Exception as e:
                results[f"{case['name']}/{gen}"] = error_entry(e)
    return results


# Small templates probing the language itself (expressions, filters, whitespace control, loops,
# scoping, macros, errors), rendered with SNIPPET_CONTEXT into snippets.json.
SNIPPET_CONTEXT = {
    "s": "Hello World",
    "u": "héllo wörld ß",
    "text": "  padded\n text  ",
    "n": 5,
    "f": 2.5,
    "t": True,
    "lst": [3, 1, 2],
    "d": {"b": 1, "a": 2},
    "empty": [],
    "users": [
        {"name": "ann", "age": 3, "admin": True},
        {"name": "bob", "age": 1, "admin": False},
        {"name": "cy", "age": 2},
    ],
    "nested": {"k": [1, {"x": None, "y": "é"}], "e": {}},
    "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ],
    "tree": [
        {"name": "a", "children": [{"name": "b", "children": []}, {"name": "c", "children": [{"name": "d"}]}]},
        {"name": "e"},
    ],
}

SNIPPETS = [
    # whitespace control, trim_blocks, lstrip_blocks
    "a\n  {% if true %}\n    b\n  {% endif %}\nc",
    "{% for i in range(3) %}\n{{ i }}\n{% endfor %}",
    "  {{- 'x' -}}  \n y",
    "a {%- if true -%} b {%- endif -%} c",
    "{# comment #}\nx",
    "  {# c #}\n  y",
    "a\n{#- c -#}\nb",
    "a\n  {#- c #}  \nb",
    "{%+ if true %}x{% endif %}",
    "a  {%+ if true +%}\n x{% endif %}",
    "x {%- raw -%}  {{ y }}  {%- endraw -%} z",
    "{% raw %}\n  {% if %}\n{% endraw %}\n",
    "x\n",
    "x\n\n",
    "line1\r\nline2\rline3\n",
    "{{ 'a' }}\n{{ 'b' }}\n",
    "  {% set x = 1 %}  {{ x }}",
    "\t{% if true %}\tx\n\t{% endif %}",
    "{% if true %}  \n x{% endif %}",
    "<a>\n    {%- if true %}\n        x\n    {%- endif %}\n</a>",
    "{%- set x = 1 -%}\n\n  {{ x }}\n",
    "{% for m in lst %}\n  {{ m }}\n{% endfor %}\n",
    "{% for m in lst %}\n  {{- m }}\n{%- endfor %}",
    "{{ '{{' }} {{ {'a': {'b': 1}} }}",
    "{{ {'a':1}}}",
    "\u3000{% if true %}x{% endif %}",
    "{% macro m() %}\n  x\n{% endmacro %}[{{ m() }}]",
    "  {%- if true %} a {% endif -%}  \n\n b",
    "{% if true %}\n{% endif %}\n{% if true %}\n\n{% endif %}",
    # expressions
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }}",
    "{{ 1.0 }} {{ 1e20 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 3.14159 }} {{ 1/3 }} {{ 10.0 ** 16 }} {{ 123456789.0 * 1000 }} {{ 1e15 }} {{ 0.0001 }} {{ -0.0 }}",
    "{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2.0 ** 0.5 }} {{ 1_000 + 0x10 + 0b11 + 0o7 }} {{ 1e3 }} {{ 2.5E-3 }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ x }} {{ 'ab' * 3 }} {{ 3 * 'ab' }} {{ [1] * 3 }} {{ [1,2] + [3] }} {{ 'x' * 0 }}|",
    "{{ lst }} {{ d }} {{ (1,) }} {{ (1, 2) }} {{ () }} {{ none }} {{ true }} {{ [none, true, 'x', \"it's\", 1.5, 'a\"b', \"'\\\"\"] }}",
    "{{ 'it\\'s' }} {{ \"a\\nb\" }} {{ '\\u00e9\\x41\\101\\t|' }} {{ 'a' 'b' }} {{ 'a\\qb' }}",
    "{{ s[0] }} {{ s[-1] }} {{ s[1:4] }} {{ s[::-1] }} {{ s[::2] }} {{ lst[1:] }} {{ lst[-2:] }} {{ lst[:-1] }} {{ lst[::-2] }} {{ s[100:] }}|{{ s[-100:2] }}",
    "{{ d.a }} {{ d['b'] }} [{{ d.missing }}] [{{ d['missing'] }}] [{{ lst[10] }}] [{{ s.nope }}] [{{ none.foo }}] [{{ 'abc'[5] }}]",
    "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ 2 >= 2 }} {{ 'B' < 'a' }} {{ 1 <= 1.0 }}",
    "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' in 'abc' }} {{ 1 in lst }} {{ 'a' in d }} {{ 'z' not in d }} {{ [1] == [1] }} {{ d == {'a': 2, 'b': 1} }} {{ (1,) == [1] }}",
    "{{ not true }} {{ true and 'x' }} {{ false or 'y' }} {{ none or [] }} {{ 0 and 1 }} {{ not 1 == 2 }} {{ not 'a' in 'b' }} {{ 'a' and 'b' or 'c' }}",
    "{{ 'yes' if n > 3 else 'no' }} [{{ 'x' if false }}] {{ 1 if false else 2 if false else 3 }} [{{ 1 if 0 }}]",
    "{{ -n }} {{ +n }} {{ -f|abs }} {{ - 3 | abs }} {{ -1|abs }} {{ -2 ** 2 }} {{ 2 * -1 }}",
    "{{ n is odd }} {{ n is even }} {{ n is divisibleby 5 }} {{ n is divisibleby(2) }} {{ n is not odd }}",
    "{{ x is defined }} {{ n is defined }} {{ none is none }} {{ s is string }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ true is boolean }} {{ d is mapping }} {{ lst is sequence }} {{ s is iterable }} {{ n is iterable }} {{ true is number }} {{ x is undefined }} {{ lst is not string }} {{ d.zz is defined }} {{ x is iterable }} {{ x is sequence }}",
    "{{ n is eq 5 }} {{ n is equalto 5 }} {{ n is ne 4 }} {{ n is lt 6 }} {{ n is gt 6 }} {{ n is ge 5 }} {{ n is le 4 }} {{ 2 is in lst }} {{ 's' is in 'xs' }} {{ n is sameas 5 }} {{ none is sameas none }}",
    "{{ s is lower }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ range is callable }}",
    "{{ none == none }} {{ none != 0 }} {{ x == none }} {{ x is none }} {{ x == x }} {{ [] == [] }}",
    "{{ lst|length > 2 and lst[0] == 3 }} {{ ('a' ~ 1) ~ (1 + 2) }} {{ (lst) }} {{ messages[0]['role'] }} {{ messages|length }} {{ messages[-1].content }}",
    "{{ {'a': 1, 'b': [1, {'c': none}]} }} {{ {'a': 1}['a'] }} {{ {'a': 1}.a }} {{ {1: 'x', 'k': 2} }} {{ {'a': 1, 'a': 2} }}",
    # filters
    "{{ s|upper }} {{ s|lower }} {{ 'hello world-foo(bar'|title }} {{ 'hELLO wORLD'|capitalize }} [{{ text|trim }}] [{{ 'xxhixx'|trim('x') }}] {{ n|upper }}",
    "{{ lst|length }} {{ s|count }} {{ d|length }} {{ x|length }} {{ u|length }}",
    "{{ lst|first }} {{ lst|last }} {{ s|first }} [{{ []|first }}] {{ d|first }} {{ s|last }}",
    "{{ lst|join(', ') }} {{ lst|join }} {{ users|join(', ', attribute='name') }} {{ [1, none, 'a']|join('|') }}",
    "{{ x|default('dflt') }} [{{ ''|default('e') }}] {{ ''|default('e', true) }} {{ none|d('n') }} {{ none|default('n', boolean=true) }} {{ d.zz|default(d.a) }}",
    "{{ s|replace('o', '0') }} {{ s|replace('o', '0', 1) }} {{ 'ab'|replace('', '-') }} {{ n|replace('5', 'five') }}",
    "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b c '.rsplit(None, 1) }} {{ 'a'.split('a') }}",
    "{{ lst|list }} {{ s|list }} {{ d|list }} {{ 'abc'|list }} {{ x|list }}",
    "{{ n|string }} {{ f|string ~ '!' }} {{ lst|string }} {{ none|string }} {{ x|string }}|",
    "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ -3.9|int }} {{ '0x1A'|int(0, 16) }} {{ '1_000'|int }} {{ ' 12 '|int }} {{ true|int }} {{ none|int }}",
    "{{ '3.5'|float }} {{ 'x'|float }} {{ 2|float }} {{ n|float }} {{ '1e3'|float }} {{ ' 2 '|float }}",
    "{{ -3|abs }} {{ 2.567|round }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(1, 'floor') }} {{ 2.512|round(1, 'ceil') }} {{ 5|round }} {{ 2.675|round(2) }} {{ 1234.5|round(-2) }}",
    "{{ d|tojson }} {{ users|tojson }} {{ 'é\"\\n\\t<&>'|tojson }} {{ lst|tojson(indent=2) }} {{ nested|tojson(indent=2) }} {{ none|tojson }} {{ f|tojson }} {{ (1,2)|tojson }} {{ {}|tojson(indent=2) }} {{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=(',', ':')) }} {{ nested|tojson(indent='\\t') }} {{ u|tojson }} {{ u|tojson(ensure_ascii=true) }} {{ '😀'|tojson(ensure_ascii=true) }} {{ 1e20|tojson }} {{ [true, false]|tojson }}",
    "{{ d|items|list }} {{ d|dictsort }} {{ d|dictsort(by='value') }} {{ d|dictsort(reverse=true) }} {{ {'B': 1, 'a': 2}|dictsort }} {{ {'B': 1, 'a': 2}|dictsort(true) }}",
    "{{ users|selectattr('age', 'gt', 1)|map(attribute='name')|list }} {{ users|rejectattr('admin')|list|length }} {{ lst|select('odd')|list }} {{ lst|reject('odd')|list }} {{ users|selectattr('admin')|list }} {{ users|map(attribute='missing', default='?')|list }} {{ users|selectattr('name', 'equalto', 'bob')|first }} {{ lst|select|list }} {{ users|selectattr('admin', 'defined')|list|length }}",
    "{{ lst|map('string')|join('-') }} {{ ['a','b']|map('upper')|list }} {{ users|map(attribute='name')|map('upper')|join }} {{ [[1,2],[3]]|map('length')|list }} {{ ['a b', 'c']|map('replace', ' ', '_')|list }}",
    "{{ [1,2,1,3]|unique|list }} {{ ['a','A','b']|unique|list }} {{ lst|reverse|list }} {{ s|reverse }} {{ lst|sort }} {{ lst|sort(reverse=true) }} {{ users|sort(attribute='age')|map(attribute='name')|join }} {{ ['b','A','c']|sort }} {{ ['b','A','c']|sort(case_sensitive=true) }} {{ d|sort }}",
    "{{ lst|sum }} {{ users|sum(attribute='age') }} {{ lst|min }} {{ lst|max }} {{ ['b','A']|max }} {{ users|max(attribute='age') }} [{{ []|max }}] {{ [1.5, 2]|sum(start=10) }}",
    "{{ '<a href=\"x\">&\\''|e }} {{ '<b>'|escape }} {{ '<b>'|safe }} {{ ('<' | safe) + '<' }} {{ '<' + ('<'|safe) }} {{ ('<'|safe) ~ '<' }} {{ ('a'|safe + 'b')|length }} {{ none|e }} {{ 5|escape }}",
    "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'a\\nb'|indent('> ') }}|{{ ''|indent }}|{{ 'x\\n'|indent(first=true) }}|",
    "{{ 'one two  three'|wordcount }} [{{ 'abc'|center(9) }}] {{ 'hello world foo bar'|truncate(9) }} {{ 'hello world foo bar'|truncate(9, true) }} {{ 'hello world foo bar baz qux'|truncate(15, false, '..', 0) }} {{ 'short'|truncate(3) }}",
    "{{ lst|batch(2)|list }} {{ lst|batch(2, 'x')|list }} {{ [1,2,3,4,5]|slice(2)|list }} {{ [1,2,3,4,5]|slice(3, 0)|list }}",
    "{{ '%s-%d'|format('a', 3) }} {{ '%5.2f|%-4s|%04d|%x|%r|%+d|%e|%g|%c'|format(3.14159, 'ab', 42, 255, 'q', 5, 12345.678, 0.00001, 65) }} {{ '%(a)s'|format(a=1) }} {{ '%s' % 'x' }} {{ '%s and %s' % ('a', 'b') }} {{ '%.1f%%' % 12.345 }} {{ '%s' % [1, 2] }} {{ '%(a)s!' % d }} {{ '%5s|%-5s|' % ('a', 'b') }}",
    "{{ '{} {}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='n') }} {{ '{:>5}|{:<5}|{:^5}|{:05d}|{:.2f}|{:,}'.format('a', 'b', 'c', 42, 3.14159, 1234567) }} {{ '{!r}'.format('a') }} {{ '{0[a]}'.format(d) }} {{ '{:x} {:#x} {:b} {:e} {:g} {:%}'.format(255, 255, 5, 12345.678, 0.0001, 0.25) }} {{ '{{}} {}'.format(1) }} {{ '{:.3}'.format(1.0) }} {{ '{:.3}'.format(1234.5) }} {{ '{}'.format(none) }} {{ '{}'.format(x) }} {{ '{0.a}'.format(d) }} {{ '{:*^9}'.format('mid') }} {{ '{:+.1f}'.format(2) }}",
    # methods
    "[{{ '  x  '.strip() }}|{{ 'xxyxx'.strip('x') }}|{{ '  x '.lstrip() }}|{{ ' x  '.rstrip() }}|{{ 'abc'.startswith('a') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'abc'.startswith('b', 1) }} {{ 'abc'.lstrip('ab') }}]",
    "{{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'hELLO'.capitalize() }} {{ 'a-b'.replace('-', '+') }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ ','.join(['a','b']) }} {{ 'aaa'.replace('a', 'b', 2) }}",
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dv') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.copy() }}",
    "{{ lst.index(2) }} {{ lst.count(1) }} {{ 'a b'.split(' ')|length }} {{ 'x'.zfill(3) }} {{ '-7'.zfill(4) }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }}{{ 'ab'.rjust(4) }} {{ 'abc'.center(6) }}",
    "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'k=v=w'.partition('=') }} {{ 'k=v=w'.rpartition('=') }} {{ 'abc'.isalpha() }} {{ '123'.isdigit() }} {{ '  '.isspace() }} {{ 'Ab'.istitle() }} {{ 'ab'.isupper() }} {{ 'prefix_x'.removeprefix('prefix_') }}",
    "{{ u|upper }} {{ u|length }} {{ u[1] }} {{ u|title }} {{ u.split() }} {{ [u] }} {{ u|capitalize }} {{ u[::-1] }} {{ 'ǆ'|title }} {{ 'ß'.upper() }}",
    # statements
    "{% for x in lst %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('a','b') }}{{ loop.depth }};{% endfor %}",
    "{% for x in [] %}x{% else %}empty{% endfor %} {% for x in lst %}{{ x }}{% else %}no{% endfor %} {% for x in x %}a{% else %}undef-empty{% endfor %}",
    "{% for x in lst if x > 1 %}{{ x }}{{ loop.index }}{{ loop.last }},{% endfor %}{% for x in lst if x > 10 %}{% else %}none{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [(1,2),(3,4)] %}{{ a+b }}{% endfor %}{% for k, v in d|dictsort %}{{ k }}{% endfor %}{% for (a, b) in [[1, 2]] %}{{ a }}{{ b }}{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'abc' %}{{ c }}.{% endfor %}|{% for i in range(0) %}x{% endfor %}",
    "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}",
    "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = i + 10 %}{{ x }},{% endfor %}{{ x }}",
    "{% if true %}{% set y = 2 %}{% endif %}{{ y }} {% for i in [1] %}{% set z = 3 %}{% endfor %}[{{ z }}]",
    "{% set ns = namespace(c=0, items=[]) %}{% for i in range(3) %}{% set ns.c = ns.c + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.c }} {{ ns.items }} {{ ns }} {{ ns.missing is defined }} {{ ns['c'] }}",
    "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}{% set (p, q) = 'xy' %}{{ p }}{{ q }}",
    "{% set blk %}  hi {{ n }}\n{% endset %}[{{ blk }}]{% set b2 | upper %}abc{% endset %}{{ b2 }}{% set b3 | trim | upper %}  q  {% endset %}[{{ b3 }}]",
    "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(name='C', greeting='Yo') }} {{ greet() }}|{{ greet }}",
    "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }} {{ m() }}",
    "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}",
    "{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inner{% endcall %}{% macro w2(x) %}<{{ caller(x * 2) }}>{% endmacro %}{% call(v) w2(3) %}v={{ v }}{% endcall %}",
    "{% set g = 'outer' %}{% macro show() %}{{ g }}{% endmacro %}{% set g = 'later' %}{{ show() }}",
    "{% macro m(x, y=x * 2) %}{{ x }},{{ y }}{% endmacro %}{{ m(2) }} {{ m(2, 5) }}",
    "{% filter upper %}hello {{ s }}{% endfilter %}{% filter trim %}   x   {% endfilter %}|{% filter replace('a', 'b') | upper %}aaa{% endfilter %}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}|{% with %}x{% endwith %}",
    "{% generation %}gen {{ n }}{% endgeneration %}{% for m in lst %}{% generation %}{{ m }}{% endgeneration %}{% endfor %}",
    "{% print 'p' %}{% print 1, 2 %}",
    "{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %a %b %d %y %p %I %w %U %e %f%%') }}",
    "{{ range(5)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }}",
    "{% set c = cycler('a','b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}{% set j = joiner('|') %}{% for i in range(3) %}{{ j() }}{{ i }}{% endfor %}",
    "{{ dict(a=1, b=2) }} {{ dict(a=1)|tojson }} {{ dict([('k', 'v')]) }}",
    "{% if lst|select('gt', 100) %}T{% else %}F{% endif %} {% if [] %}T{% else %}F{% endif %}",
    "{% set g = lst|map('string') %}{{ g|join }}|{{ g|join }}|{{ g|list }}",
    "{% for m in messages %}{% if loop.first and m.role == 'system' %}[S:{{ m.content }}]{% else %}[{{ m.role|upper }}:{{ m['content']|trim }}]{% endif %}{% endfor %}",
    "{% for m in messages %}{{ loop.changed(m.role) }}{% endfor %} {% for i in [1,1,2] %}{{ loop.changed(i) }}{% endfor %}",
    "{% set x = [1, 2, 3] %}{{ x[1:] | join(',') }} {{ x | selectattr('real') | list }}",
    "{% if n is defined and n > 3 %}big{% elif n > 1 %}mid{% else %}small{% endif %}",
    "{%- for m in messages -%}\n  {%- if m.role == 'user' -%}\n    U: {{ m.content }}\n  {%- else -%}\n    O: {{ m.content }}\n  {% endif -%}\n{%- endfor %}",
    "{{ 'a' if n is string else n ~ '' }} {{ n ~ n }} {{ (n ~ n)|int + 1 }}",
    "{{ lst.__class__ }}|{{ d.__len__ }}|",
    "{% for item in tree recursive %}{{ item.name }}{% if item.children %}({{ loop(item.children) }}){% endif %}{{ loop.depth }}{% endfor %}",
    "{% for g in users|groupby('age') %}{{ g.grouper }}:{{ g.list|map(attribute='name')|join(',') }};{% endfor %} {% for k, items in [{'t': 'A'}, {'t': 'a'}, {'t': 'b'}]|groupby('t') %}{{ k }}{{ items|length }}{% endfor %} {{ users|groupby('admin', default=false) }}",
    "{{ '<p>Hello <b>World</b> &amp; &lt;you&gt;</p><!-- c -->  x'|striptags }} {{ 1|filesizeformat }} {{ 1500|filesizeformat }} {{ 123456789|filesizeformat(true) }} {{ 'a b/c&d'|urlencode }} {{ {'k': 'v w', 'x': 1}|urlencode }} {{ {'a': 1, 'b': none, 'c': '<'}|xmlattr }} {{ lst|pprint }}",
    "{{ users|sort(attribute='admin,age')|map(attribute='name')|join }} {{ users|sort(attribute='age', reverse=true)|map(attribute='name')|join }}",
    "{{ x|sum }} [{{ x|join }}] [{{ x|first }}] [{{ x|last }}] {{ x|sort }} {{ x|unique|list }} {{ x|items|list }} {{ x|map('upper')|list }} {{ x|select|list }} {{ x|batch(2)|list }} [{{ x|replace('a', 'b') }}] [{{ x|center }}] {{ x|wordcount }} [{{ x|capitalize }}{{ x|title }}{{ x|e }}{{ x|safe }}{{ x|max }}{{ x|truncate }}{{ x|string }}] {{ x|list }} {{ x|count }}",
    "{{ x in [1] }} {{ 1 in x }} {{ x ~ 1 }} {{ x == 1 }} {{ not x }} {{ x is string }} [{{ '%s' % x }}] [{{ '{}'.format(x) }}] {{ [x] }} {{ (x,) }} {{ {'a': x} }} {{ x|pprint }}",
    "{{ ('<b>%s</b>'|safe) % '<i>' }} {{ ('<b>'|safe).replace('b', '<u>') }} {{ ('a<'|safe).upper() }} {{ ('x'|safe).join(['<', '>']) }} {{ ('{}|'|safe).format('<') }} {{ ('a b'|safe).split() }} {{ ('<x>'|safe)[1:] }} {{ ('<x>'|safe).startswith('<') }}",
    # errors
    "{{ x|int }}",
    "{{ x|float }}",
    "{{ x|abs }}",
    "{{ x|round }}",
    "{{ x|dictsort }}",
    "{{ x|indent }}",
    "{{ x|format(1) }}",
    "{{ -x }}",
    "{{ x[0] }}",
    "{{ x|attr('a') }}",
    "{{ x.y }}",
    "{{ x + 1 }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + 'a' }}",
    "{{ lst.append(1) }}",
    "{{ d.pop('a') }}",
    "{{ raise_exception('boom: ' ~ n) }}",
    "{{ none + 1 }}",
    "{{ 1 / 0 }}",
    "{{ 1 // 0 }}",
    "{% for x in none %}{% endfor %}",
    "{% for x in n %}{% endfor %}",
    "{{ x() }}",
    "{{ 'a'() }}",
    "{{ range(200000)|length }}",
    "{% if %}{% endif %}",
    "{{ 1 + }}",
    "{% endfor %}",
    "{% unknowntag %}",
    "{{ x|nosuchfilter }}",
    "{% if false %}{{ x|nosuchfilter }}{% endif %}ok",
    "{% if true %}{{ x|nosuchfilter }}{% endif %}ok",
    "{{ n is nosuchtest }}",
    "{{ [1][5].x }}",
    "{{ undefined_var|tojson }}",
    "{{ lst|selectattr('x')|length }}",
    "{% set a, b = [1] %}",
    "{{ d|items|length }}",
    "{{ ns.x }}",
    "{% set foo.bar = 1 %}",
    "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
    "{% macro m(a) %}{% endmacro %}{{ m(b=2) }}",
    "{{ 2 + 3 ~ 4 * 2 }}",
    "{{ 'a' ~ 1 + 2 }}",
    "{{ lst < 'a' }}",
    "{{ {} < {} }}",
    "{{ 'x' in 1 }}",
    "{{ 1 in 'x' }}",
    "{{ -'a' }}",
    "{{ lst|sum(attribute='nope') }}",
    "{{ 'abc'.strip(1) }}",
    "{{ '{} {}'.format(1) }}",
    "{{ '%d' % 'x' }}",
    "{{ '%s %s' % ('a',) }}",
    "{{ 'a' % 1 }}",
    "{{ x.y.z }}",
    "{{ d.zz.y }}",
    "{{ n|length }}",
    "{{ {[1]: 2} }}",
    "{{ lst|first(1) }}",
    "{{ 'a'|tojson(bad=1) }}",
    "{% for %}",
    "{% if true %}",
    "{{ 'unterminated }}",
    "{% raw %}never closed",
    "{# never closed",
    "{{ ) }}",
    "{{ lst|map('nosuchfilter')|list }}",
    "{{ lst|select('nosuchtest')|list }}",
    "{{ lst|last if lst|select('odd') else 0 }} {{ (lst|select('odd'))|last }}",
    "{% break %}",
    "{{ strftime_now() }}",
    "{{ raise_exception() }}",
    "{{ loop.index }}",
    "{% for a, b in lst %}{% endfor %}",
    "{{ caller() }}",
]


# Whitespace-control fuzz: random mixes of text, whitespace and tags with every -/+ modifier,
# to check that the lexer strips exactly what jinja2 strips.
WS_PIECES = ["\n", " ", "  ", "\t", "\n\n", " \n", "\n  ", "x", "y z"]
TAG_PIECES = [
    "{{ 'v' }}", "{{- 'v' }}", "{{ 'v' -}}", "{{- 'v' -}}", "{{+ 'v' }}",
    "{# c #}", "{#- c #}", "{# c -#}", "{#+ c #}", "{# c +#}",
    "{% set a = 1 %}", "{%- set a = 1 %}", "{% set a = 1 -%}", "{%+ set a = 1 %}", "{% set a = 1 +%}",
    "{% if true %}i{% endif %}", "{%- if true -%} i {%- endif -%}", "{% if true +%}\ni\n{%+ endif %}",
    "{% if false %}no{% else %}\n  e\n{% endif %}", "{% for q in [1, 2] %}\n  {{ q }}\n{% endfor %}",
    "{% raw %} r {% endraw %}", "{%- raw -%} r {%- endraw -%}",
]


def whitespace_fuzz(n=300, seed=1234):
    import random
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(2, 10)):
            parts.append(rng.choice(WS_PIECES if rng.random() < 0.55 else TAG_PIECES))
        out.append("".join(parts))
    return out


def render_snippets(env):
    out = []
    for src in SNIPPETS + whitespace_fuzz():
        entry = {"template": src}
        try:
            entry["output"] = env.from_string(src).render(**json.loads(json.dumps(SNIPPET_CONTEXT)))
        except Exception as e:
            entry.update(error_entry(e))
        out.append(entry)
    return out


def main():
    cache = os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--templates", default=os.path.join(cache, "vocab-suite", "templates"))
    ap.add_argument("--extra", default=os.path.join(root, "Tests", "Fixtures", "chat-templates", "extra"))
    ap.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "chat-templates", "refs.json"))
    args = ap.parse_args()

    paths = {}
    for folder in (args.templates, args.extra):
        if os.path.isdir(folder):
            for n in os.listdir(folder):
                if n.endswith(".jinja"):
                    paths[n] = os.path.join(folder, n)
    names = sorted(paths)
    if not names:
        sys.exit(f"gen-chat-template-refs: no *.jinja in {args.templates}")
    env = make_env()
    templates = {}
    raised = 0
    for name in names:
        with open(paths[name], encoding="utf-8", newline="") as f:
            source = f.read()
        results = render_all(env, source)
        raised += sum(1 for r in results.values() if "error" in r)
        templates[name] = {"source": source, "results": results}

    doc = {
        "jinja2": jinja2.__version__,
        "now": [NOW.year, NOW.month, NOW.day, NOW.hour, NOW.minute, NOW.second],
        "bos_token": BOS,
        "eos_token": EOS,
        "cases": CASES,
        "templates": templates,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    snippets_path = os.path.join(os.path.dirname(args.out), "snippets.json")
    with open(snippets_path, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "now": doc["now"], "context": SNIPPET_CONTEXT,
                   "snippets": render_snippets(env)}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    total = sum(len(t["results"]) for t in templates.values())
    print(f"{args.out}: {len(names)} templates, {total} renders ({raised} raised in jinja2), "
          f"{os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
