#!/usr/bin/env bash
# Runs the C examples under valgrind memcheck: 0 errors, and 0 bytes definitely or indirectly lost
# after every *_free. Usage: scripts/valgrind.sh [LIBDIR]   (default: .build/release, built first)
# valgrind 3.19 cannot read the DWARF 5 of libloom.so, so it runs a copy without debug info.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$LOOM_ROOT"
command -v valgrind >/dev/null || { SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"; $SUDO apt-get install -y -qq valgrind >/dev/null; }
LIBDIR="${1:-$LOOM_ROOT/.build/release}"
[ -f "$LIBDIR/libloom.so" ] || "$LOOM_ROOT/scripts/build.sh"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib"
strip --strip-debug -o "$work/lib/libloom.so" "$LIBDIR/libloom.so"
ln -sf libloom.so "$work/lib/libloom.so.0"
MINILM="$LOOM_CACHE/models/all-MiniLM-L6-v2"
status=0
run() {  # name, program, arguments...
    local name="$1"; shift
    local log="$work/$name.log"
    valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        --error-exitcode=99 --log-file="$log" "$@" > "$work/$name.out" 2>&1 || true
    local errors lost indirect
    errors=$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$log" | tail -1)
    lost=$(sed -nE 's/.*definitely lost: ([0-9,]+) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
    indirect=$(sed -nE 's/.*indirectly lost: ([0-9,]+) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
    echo "$name: ${errors:-?} errors, ${lost:-0} bytes definitely lost, ${indirect:-0} bytes indirectly lost"
    if [ "${errors:-1}" != 0 ] || [ "${lost:-0}" != 0 ] || [ "${indirect:-0}" != 0 ]; then
        status=1; sed -n '1,200p' "$log"
    fi
}
for ex in tokenize generate search; do
    cc -std=c99 -g -I include "examples/c/$ex.c" -L "$work/lib" -lloom -Wl,-rpath,"$work/lib" -o "$work/$ex"
done
run tokenize "$work/tokenize" Tests/Fixtures/tiny-llama/model.f32.gguf "Hello, world!"
run generate-tiny "$work/generate" Tests/Fixtures/tiny-llama/model.f32.gguf "Hello"
[ -f "$LOOM_DEFAULT_MODEL" ] && run generate-smollm2 "$work/generate" "$LOOM_DEFAULT_MODEL" "What is the capital of France?"
[ -d "$MINILM" ] && run search "$work/search" "$MINILM" "Which city is the capital of France?"
exit $status
