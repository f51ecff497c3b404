# Shared settings for Loom's scripts (sourced, not run).
# Models and test data live in a cache folder, never in the repository.
LOOM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LOOM_CACHE="${LOOM_CACHE:-$HOME/.cache/loom}"
LOOM_DEFAULT_MODEL="$LOOM_CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
LOOM_VOCAB_SUITE="$LOOM_CACHE/vocab-suite"
PYTHON="${PYTHON:-python3}"
mkdir -p "$LOOM_CACHE"
