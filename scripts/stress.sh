#!/usr/bin/env bash
# Runs the thread tests (Tests/LoomGenerationTests/ConcurrencyTests: 8 threads x 50 generations on
# tiny-llama, 2 x 5 on SmolLM2, cancellation from another thread) N times in a row (default 20).
# Usage: scripts/stress.sh [N] [SCRATCH_PATH]
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$LOOM_ROOT"
runs="${1:-20}"
scratch="${2:-$LOOM_ROOT/.build}"
swift build -c release --scratch-path "$scratch" --build-tests -Xswiftc -enable-testing >/dev/null
for i in $(seq 1 "$runs"); do
    out="$(swift test -c release --scratch-path "$scratch" -Xswiftc -enable-testing --skip-build --filter ConcurrencyTests 2>&1)" || {
        echo "run $i of $runs FAILED"; echo "$out" | tail -40; exit 1; }
    echo "$out" | grep -qE "Executed 3 tests, with 0 failures" || { echo "run $i: unexpected output"; echo "$out" | tail -20; exit 1; }
    echo "run $i of $runs: ok"
done
echo "the thread tests passed $runs times in a row"
