#!/usr/bin/env bash
# Fetches test data that is too large to commit: llama.cpp's tokenizer suite (ggml-vocab-*.gguf with
# .inp/.out) from the sdist of llama-cpp-python==0.3.36 into $LOOM_CACHE/vocab-suite. Idempotent.
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ -f "$LOOM_VOCAB_SUITE/.complete" ]; then echo "vocab suite: $LOOM_VOCAB_SUITE"; exit 0; fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# Only the sdist itself is wanted: its build dependencies may come as wheels.
"$PYTHON" -m pip download --quiet --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36 -d "$tmp"
mkdir -p "$LOOM_VOCAB_SUITE"
"$PYTHON" - "$tmp"/llama_cpp_python-0.3.36.tar.gz "$LOOM_VOCAB_SUITE" <<'PY'
import sys, tarfile, os
sdist, dest = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as t:
    for m in t.getmembers():
        parts = m.name.split("/")
        if not m.isfile():
            continue
        base = parts[-1]
        if "vendor/llama.cpp/models" in m.name and len(parts) >= 2 and parts[-2] == "models" and base.startswith("ggml-vocab-"):
            out = os.path.join(dest, base)
        elif "vendor/llama.cpp/models/templates/" in m.name and base.endswith(".jinja"):
            os.makedirs(os.path.join(dest, "templates"), exist_ok=True)
            out = os.path.join(dest, "templates", base)
        else:
            continue
        with t.extractfile(m) as src, open(out, "wb") as dst:
            dst.write(src.read())
PY
touch "$LOOM_VOCAB_SUITE/.complete"
echo "vocab suite: $LOOM_VOCAB_SUITE ($(ls "$LOOM_VOCAB_SUITE" | wc -l) files)"
