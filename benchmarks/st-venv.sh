#!/usr/bin/env bash
# A separate venv with sentence-transformers (torch, CPU) for benchmarks/embedding_throughput.py.
# Benchmarks only: never used by the tests or CI.
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
VENV="$LOOM_CACHE/st-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import sentence_transformers" 2>/dev/null || "$VENV/bin/pip" install --quiet sentence-transformers numpy
echo "$VENV"
