#!/usr/bin/env bash
# Runs every test from scratch: set-up, build, test data, Swift tests, C ABI tests, CMake install +
# C examples, Python tests. Exits non-zero on the first failing suite.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$LOOM_ROOT"
"$LOOM_ROOT/scripts/setup.sh"
"$LOOM_ROOT/scripts/fetch-model.sh"
"$LOOM_ROOT/scripts/fetch-test-data.sh"
"$LOOM_ROOT/scripts/build.sh"
export LOOM_REQUIRE_TEST_DATA=1

# The C tests first: they check libloom.so as scripts/build.sh makes it (the test build below relinks
# it with -enable-testing, which exports Swift symbols too).
echo "== C ABI tests"
"$LOOM_ROOT/Tests/c/run.sh"

echo "== Swift tests"
swift test -c release -Xswiftc -enable-testing 2>&1 | tee "$LOOM_CACHE/swift-test.log" | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)" || true
grep -qE "Executed [0-9]+ tests?, with 0 failures" "$LOOM_CACHE/swift-test.log" || { echo "Swift tests failed"; exit 1; }

echo "== Python tests"
"$PYTHON" -m pytest -q "$LOOM_ROOT/Tests/python"

echo "== Fuzzing (every target for a short bounded time; scripts/fuzz.sh TARGET SECONDS for campaigns)"
"$LOOM_ROOT/scripts/fuzz.sh" --ci 20
