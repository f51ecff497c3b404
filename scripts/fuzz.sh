#!/usr/bin/env bash
# Fuzzing Loom's parsers of untrusted input with libFuzzer (Fuzz/, RELIABILITY.md "Fuzzing").
#
#   scripts/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_ARGS...]   one campaign (default 600 s) on one core
#   scripts/fuzz.sh --ci [SECONDS]                            every target for SECONDS (default 25) each;
#                                                            exits 1 if any input crashed, hung or blew memory
#   scripts/fuzz.sh --build | --seeds | --list
#
# Targets: gguf (the reader), gguf_model (tokenizer + model from a GGUF), hf_folder, tokenizer_json, tokenize, adapter, jinja.
# LOOM_FUZZ_ASAN=1 adds AddressSanitizer (slower; its own build folder Fuzz/.build-asan);
# LOOM_FUZZ_NO_BUILD=1 runs the targets as last built.
# Corpora grow in Fuzz/corpus/TARGET (seeds regenerated from Tests/Fixtures into Fuzz/corpus/seeds);
# reproducers of failures land in Fuzz/artifacts/TARGET: replay one with
#   Fuzz/.build/release/FuzzGGUF Fuzz/artifacts/gguf/crash-...     (LOOM_FUZZ_VERBOSE=1 prints errors)
# Limits per input: 1 s (-timeout=1), 2048 MB RSS, 2048 MB per allocation.
set -euo pipefail
source "$(dirname "$0")/common.sh"
FUZZ="$LOOM_ROOT/Fuzz"
TARGETS=(gguf gguf_model hf_folder tokenizer_json tokenize adapter jinja)

binary() {
    case "$1" in
        gguf) echo FuzzGGUF ;; gguf_model) echo FuzzGGUFModel ;; hf_folder) echo FuzzHFFolder ;; tokenizer_json) echo FuzzTokenizerJSON ;;
        tokenize) echo FuzzTokenize ;; adapter) echo FuzzAdapter ;; jinja) echo FuzzJinja ;;
        *) echo "unknown fuzz target '$1' (targets: ${TARGETS[*]})" >&2; exit 2 ;;
    esac
}

max_len() {
    case "$1" in
        tokenize) echo 4096 ;; jinja) echo 16384 ;; tokenizer_json) echo 131072 ;; *) echo 65536 ;;
    esac
}

build_dir() { [ "${LOOM_FUZZ_ASAN:-0}" = 1 ] && echo "$FUZZ/.build-asan" || echo "$FUZZ/.build"; }

build() {
    if [ "${LOOM_FUZZ_NO_BUILD:-0}" = 1 ]; then return; fi
    local sanitizers=(--sanitize=fuzzer)
    [ "${LOOM_FUZZ_ASAN:-0}" = 1 ] && sanitizers+=(--sanitize=address)
    echo "-- building the fuzz targets (${sanitizers[*]})"
    (cd "$FUZZ" && swift build -c release "${sanitizers[@]}" --scratch-path "$(build_dir)" 2>&1 \
        | grep -vE "^\[[0-9]+/[0-9]+\]" || true)
    [ -x "$(build_dir)/release/FuzzGGUF" ] || { echo "fuzz build failed"; exit 1; }
}

seeds() {
    rm -rf "$FUZZ/corpus/seeds"
    "$PYTHON" "$LOOM_ROOT/scripts/fuzz-seeds.py" "$FUZZ/corpus/seeds"
    cp -r "$FUZZ/corpus/seeds/gguf" "$FUZZ/corpus/seeds/gguf_model"
}

# run TARGET SECONDS [libFuzzer args...]: prints "TARGET: N executions in S s (R/s), RESULT".
run() {
    local target="$1" seconds="$2"; shift 2
    local bin; bin="$(build_dir)/release/$(binary "$target")"
    local corpus="$FUZZ/corpus/$target" artifacts="$FUZZ/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    local scratch; scratch="$(mktemp -d "${TMPDIR:-/dev/shm}/loom-fuzz.XXXXXX" 2>/dev/null || mktemp -d)"
    local log="$artifacts/last.log" status=0
    local started=$SECONDS
    # SWIFT_BACKTRACE=enable=no: Swift's own crash handler would take the trap before libFuzzer
    # writes the reproducer.
    SWIFT_BACKTRACE=enable=no LOOM_FUZZ_SCRATCH="$scratch" LOOM_ROOT="$LOOM_ROOT" "$bin" "$corpus" "$FUZZ/corpus/seeds/$target" \
        -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len="$(max_len "$target")" -dict="$FUZZ/loom.dict" -artifact_prefix="$artifacts/" \
        -print_final_stats=1 -close_fd_mask=1 "$@" >"$log" 2>&1 || status=$?
    rm -rf "$scratch"
    local runs; runs="$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)"
    local elapsed=$((SECONDS - started)); [ "$elapsed" -gt 0 ] || elapsed=1
    if [ "$status" = 0 ]; then
        echo "$target: $runs executions in ${elapsed} s ($((runs / elapsed))/s), no crash, hang or OOM"
    else
        echo "$target: FAILED after $runs executions (status $status), see $log:"
        grep -a -E "^==[0-9]+==|ERROR|Fatal error|SUMMARY|Test unit written|timeout|out-of-memory" "$log" | head -20
        return 1
    fi
}

case "${1:-}" in
    --list) printf '%s\n' "${TARGETS[@]}" ;;
    --build) build ;;
    --seeds) seeds ;;
    --ci)
        seconds="${2:-25}"
        build
        seeds
        failed=0
        for t in "${TARGETS[@]}"; do run "$t" "$seconds" || failed=1; done
        [ "$failed" = 0 ] && echo "fuzz (CI): ok" || { echo "fuzz (CI): FAILED"; exit 1; }
        ;;
    ""|-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' ;;
    *)
        target="$1"; seconds="${2:-600}"; binary "$target" >/dev/null
        shift; [ $# -gt 0 ] && shift
        [ "${1:-}" = "--" ] && shift
        build
        seeds
        run "$target" "$seconds" "$@"
        ;;
esac
