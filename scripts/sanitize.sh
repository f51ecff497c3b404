#!/usr/bin/env bash
# The Swift test suite under sanitizers. Usage: scripts/sanitize.sh address|thread [TEST_FILTER]
#   address: AddressSanitizer (Swift and C) + UndefinedBehaviorSanitizer (C) over the whole suite (or the filter);
#   thread:  ThreadSanitizer over the tests that share a model between threads (default filter).
# Release builds (-O, with the kernels' -Ounchecked) keep the run time reasonable; scratch paths
# .build-asan / .build-tsan.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$LOOM_ROOT"
kind="${1:?usage: scripts/sanitize.sh address|thread [TEST_FILTER]}"
case "$kind" in
    # Swift code checks overflow and bounds itself (swiftc has no -sanitize=undefined on Linux):
    # UBSan instruments the C kernels (Sources/CLoomSupport).
    address) flags=(--sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined)
             scratch=.build-asan; filter="${2:-}" ;;
    thread) flags=(--sanitize=thread); scratch=.build-tsan
            filter="${2:-ConcurrencyTests|LoRATests.testTwoContexts|BatchAndStateTests}" ;;
    *) echo "usage: scripts/sanitize.sh address|thread [TEST_FILTER]" >&2; exit 2 ;;
esac
export LOOM_REQUIRE_TEST_DATA="${LOOM_REQUIRE_TEST_DATA:-0}"
# Errors end the process with a report; UBSan reports are made fatal too.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
swift build -c release --scratch-path "$scratch" --build-tests -Xswiftc -enable-testing "${flags[@]}"
log="$LOOM_CACHE/sanitize-$kind.log"
args=(-c release --scratch-path "$scratch" -Xswiftc -enable-testing --skip-build "${flags[@]}")
[ -n "$filter" ] && args+=(--filter "$filter")
swift test "${args[@]}" 2>&1 | tee "$log" | grep -E "Executed|SUMMARY|Sanitizer|error:" || true
if grep -qE "Sanitizer|runtime error:" "$log" || ! grep -qE "Executed [0-9]+ tests?, with 0 failures" "$log"; then
    echo "$kind sanitizer run FAILED (log: $log)"; exit 1
fi
echo "$kind sanitizer run clean: $(grep -oE 'Executed [0-9]+ tests?' "$log" | tail -1)"
