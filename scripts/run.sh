#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, fetch the default model (SmolLM2-135M-Instruct Q4_1)
# and ask it a question. Arguments replace the question ("What is the capital of France?").
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$LOOM_ROOT/scripts/setup.sh"
"$LOOM_ROOT/scripts/build.sh" >/dev/null
"$LOOM_ROOT/scripts/fetch-model.sh" >/dev/null
if [ $# -eq 0 ]; then set -- "What is the capital of France?"; fi
"$LOOM_ROOT/.build/release/loom-cli" chat -m "$LOOM_DEFAULT_MODEL" "$@"
