"""Multiple-choice questions answered by log-likelihood, as lm-eval-harness scores them:

    python3 examples/python/multiple_choice.py [MODEL.gguf] [ITEMS.jsonl]

Each choice is scored as the continuation " " + choice of the question; the model's answer is the
most likely choice (acc) or the most likely per character (acc_norm). Without a file, a few
built-in questions. A JSONL line: {"question": "...", "choices": ["...", ...], "answer": 0}."""
import json
import os
import sys

import loom

DEFAULT = os.path.join(os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom")),
                       "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

ITEMS = [
    {"question": "The capital of France is", "choices": ["Paris", "London", "Berlin", "Madrid"], "answer": 0},
    {"question": "Monday, Tuesday, Wednesday,", "choices": ["Sunday", "Thursday", "Friday"], "answer": 1},
    {"question": "One, two, three, four,", "choices": ["ten", "seven", "five", "nine"], "answer": 2},
    {"question": "Cats say meow and dogs say", "choices": ["moo", "quack", "woof"], "answer": 2},
]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    items = ITEMS
    if len(sys.argv) > 2:
        with open(sys.argv[2], encoding="utf-8") as f:
            items = [json.loads(line) for line in f if line.strip()]
    with loom.Model(path) as model:
        # One question by hand: the log-likelihood of each choice.
        q = items[0]
        for choice in q["choices"]:
            s = model.score(q["question"], " " + choice)
            print(f"{s.logprob:9.3f}  {'greedy' if s.is_greedy else '      '}  {q['question']} {choice}")
        # The whole set.
        r = loom.evaluate_multiple_choice(model, items)
    for item, res in zip(items, r["results"]):
        mark = {True: "ok", False: "no", None: "  "}[res["correct"]]
        print(f"{mark}  {item['question']} -> {item['choices'][res['prediction']]}")
    if r["acc"] is not None:
        print(f"acc {r['acc']:.3f}  acc_norm {r['acc_norm']:.3f}  ({r['answered']} questions)")


if __name__ == "__main__":
    main()
