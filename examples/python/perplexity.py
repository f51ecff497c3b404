"""Perplexity of a text file: python3 examples/python/perplexity.py FILE [MODEL.gguf] [CTX] [STRIDE]

exp(mean negative log-likelihood of every predicted token). Texts longer than CTX tokens are scored
in windows of CTX tokens every STRIDE tokens, each window scoring only tokens no earlier window
scored (Hugging Face's sliding-window recipe); a smaller stride gives each token more context."""
import os
import sys

import loom

DEFAULT = os.path.join(os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom")),
                       "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} FILE [MODEL] [CTX] [STRIDE]")
    text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    path = sys.argv[2] if len(sys.argv) > 2 else DEFAULT
    ctx = int(sys.argv[3]) if len(sys.argv) > 3 else None
    stride = int(sys.argv[4]) if len(sys.argv) > 4 else None

    def bar(fraction):
        done = int(fraction * 30)
        print(f"\r[{'#' * done}{'.' * (30 - done)}] {fraction * 100:3.0f}%", end="", file=sys.stderr, flush=True)

    with loom.Model(path) as model:
        ids = model.tokenize(text, add_special=True)
        r = model.perplexity(ids, ctx=ctx, stride=stride, progress=bar)
    print(file=sys.stderr)
    print(f"perplexity {r.ppl:.4f} over {r.n_tokens} scored tokens of {len(ids)} (mean NLL {r.nll_sum / r.n_tokens:.4f})")


if __name__ == "__main__":
    main()
