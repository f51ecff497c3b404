#!/usr/bin/env bash
# C-side tests of libloom.so: it links like a C library without the Swift toolchain, the bad-input
# matrix, the ABI areas' own tests (abi_*.c), the loom command's ranking subcommands (cli_ranking.sh)
# and the CMake package (install, then build examples/c with find_package(Loom)).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$LOOM_ROOT"
# The SwiftPM scratch path libloom.so and loom-cli were built in (scripts/build.sh: .build; another one
# with LOOM_SCRATCH_PATH=DIR after `swift build -c release --scratch-path DIR`). CMake below builds there too.
SCRATCH="${LOOM_SCRATCH_PATH:-$LOOM_ROOT/.build}"
case "$SCRATCH" in /*) ;; *) SCRATCH="$LOOM_ROOT/$SCRATCH" ;; esac
LIB="$SCRATCH/release"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -I include)
# The SONAME (libloom.so.<ABI major>) beside libloom.so, as scripts/build.sh leaves it.
ln -sf libloom.so "$LIB/libloom.so.0"

echo "-- header compiles as C99 and C++17"
cc "${CFLAGS[@]}" -fsyntax-only -x c include/loom.h
c++ -std=c++17 -Wall -Wextra -Werror -pedantic -I include -fsyntax-only -x c++ include/loom.h

echo "-- links with -I include -L <libdir> -lloom and runs without the Swift toolchain"
cc "${CFLAGS[@]}" examples/c/tokenize.c -L "$LIB" -lloom -Wl,-rpath,"$LIB" -o "$work/tokenize"
ldd "$work/tokenize" | tee "$work/ldd.txt"
if grep -qiE "swift|Foundation|libdispatch|libBlocksRuntime" "$work/ldd.txt"; then
    echo "FAIL: the program needs Swift runtime libraries"; exit 1
fi
# Hide the toolchain: an empty PATH and no LD_LIBRARY_PATH.
env -i "$work/tokenize" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "Hello, world!"

echo "-- examples/c/generate.c answers with the default model"
cc "${CFLAGS[@]}" examples/c/generate.c -L "$LIB" -lloom -Wl,-rpath,"$LIB" -o "$work/generate"
"$work/generate" "$LOOM_DEFAULT_MODEL" "What is the capital of France?" | tee "$work/answer.txt"
grep -q "The capital of France is Paris." "$work/answer.txt" || { echo "FAIL: unexpected answer"; exit 1; }

echo "-- examples/c/search.c ranks documents with MiniLM"
MINILM="${LOOM_CACHE:-$HOME/.cache/loom}/models/all-MiniLM-L6-v2"
cc "${CFLAGS[@]}" examples/c/search.c -L "$LIB" -lloom -Wl,-rpath,"$LIB" -o "$work/search"
if [ -d "$MINILM" ]; then
    "$work/search" "$MINILM" "Which city is the capital of France?" | tee "$work/search.txt"
    sed -n 2p "$work/search.txt" | grep -q "Paris" || { echo "FAIL: the Paris document is not first"; exit 1; }
elif [ "${LOOM_REQUIRE_TEST_DATA:-0}" = 1 ]; then
    echo "FAIL: $MINILM is missing (scripts/fetch-model.sh)"; exit 1
fi

echo "-- bad inputs through the ABI"
cc "${CFLAGS[@]}" Tests/c/abi_bad_inputs.c -L "$LIB" -lloom -Wl,-rpath,"$LIB" -o "$work/abi_bad_inputs"
mkdir -p "$work/scratch"
"$work/abi_bad_inputs" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" \
    "$LOOM_ROOT/Tests/Fixtures/tiny-llama/tokenizer.json" "$work/scratch" "$LOOM_ROOT/Tests/Fixtures/tiny-t5" | tail -n 5

echo "-- batching, beam search, logit processors, abort and state"
cc "${CFLAGS[@]}" Tests/c/abi_generation.c -L "$LIB" -lloom -lm -Wl,-rpath,"$LIB" -o "$work/abi_generation"
"$work/abi_generation" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "$work/scratch" | tail -n 3

echo "-- evaluation and metrics: perplexity, scoring, BLEU, classification (good and bad input)"
cc "${CFLAGS[@]}" Tests/c/abi_evaluation.c -L "$LIB" -lloom -lm -Wl,-rpath,"$LIB" -o "$work/abi_evaluation"
"$work/abi_evaluation" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" | tail -n 3

echo "-- ranking: classifiers and reward models against transformers, best-of-n, retrieval index, grounded answers"
cc "${CFLAGS[@]}" Tests/c/abi_ranking.c -L "$LIB" -lloom -lm -Wl,-rpath,"$LIB" -o "$work/abi_ranking"
ranking=("$LOOM_ROOT/Tests/Fixtures" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "$work/scratch")
if [ -d "$MINILM" ]; then
    ranking+=("$MINILM")   # retrieval quality: each question's answering document ranks first
elif [ "${LOOM_REQUIRE_TEST_DATA:-0}" = 1 ]; then
    echo "FAIL: $MINILM is missing (scripts/fetch-model.sh)"; exit 1
fi
"$work/abi_ranking" "${ranking[@]}"

echo "-- the loom command: classify, reward, index build / search, ask"
Tests/c/cli_ranking.sh "$LIB/loom-cli" "$work/scratch"

echo "-- ABI: exported symbols are exactly the header's functions; SONAME; older and newer params structs"
cc -E -P -x c include/loom.h | grep -oE '\bloom_[A-Za-z0-9_]+[[:space:]]*\(' | tr -d ' (' | sort -u > "$work/declared.txt"
nm -D --defined-only "$LIB/libloom.so" | awk '$2 ~ /^[TtWw]$/ {print $3}' | sort -u > "$work/exported.txt"
if ! diff "$work/declared.txt" "$work/exported.txt" > "$work/symbols.diff"; then
    echo "FAIL: exported symbols differ from loom.h's declarations (< header only, > library only):"
    cat "$work/symbols.diff"; exit 1
fi
echo "$(wc -l < "$work/exported.txt") exported functions, each declared in loom.h"
soname="libloom.so.$(sed -nE 's/^#define LOOM_VERSION_MAJOR ([0-9]+).*/\1/p' include/loom.h)"
readelf -d "$LIB/libloom.so" | grep -q "SONAME.*\[$soname\]" || { echo "FAIL: SONAME is not $soname"; readelf -d "$LIB/libloom.so" | grep SONAME; exit 1; }
readelf -d "$work/tokenize" | grep -q "NEEDED.*\[$soname\]" || { echo "FAIL: programs do not record $soname"; exit 1; }
echo "SONAME $soname; programs linked with -L <build dir> -lloom record it"
cc "${CFLAGS[@]}" Tests/c/abi_stability.c -L "$LIB" -lloom -Wl,-rpath,"$LIB" -o "$work/abi_stability"
"$work/abi_stability" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "$LOOM_ROOT/Tests/Fixtures/tiny-bert" | tail -n 3

echo "-- load progress with cancel, and the log callback"
cc "${CFLAGS[@]}" Tests/c/abi_progress_log.c -L "$LIB" -lloom -Wl,-rpath,"$LIB" -o "$work/abi_progress_log"
leak_check=()  # 200 cancelled loads of the default model: memory and mappings must not grow
[ -f "$LOOM_DEFAULT_MODEL" ] && leak_check=("$LOOM_DEFAULT_MODEL" 200)
"$work/abi_progress_log" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "${leak_check[@]}" | tail -n 5

echo "-- CMake: install, then find_package(Loom) from examples/c"
cmake -S "$LOOM_ROOT" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$work/prefix" -DLOOM_SWIFT_SCRATCH="$SCRATCH" >/dev/null
cmake --build "$work/build" >/dev/null
cmake --install "$work/build" >/dev/null
ls "$work/prefix/lib/libloom.so.0" "$work/prefix/lib/libloom.so.$(sed -nE 's/^project\(Loom VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)" \
   "$work/prefix/lib/libloom.so" "$work/prefix/include/loom.h" "$work/prefix/lib/pkgconfig/loom.pc" \
   "$work/prefix/lib/cmake/Loom/LoomConfig.cmake" "$work/prefix/bin/loom" >/dev/null
"$work/prefix/bin/loom" tokenize -m "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" --ids "installed loom command"
cmake -S examples/c -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/examples" >/dev/null
"$work/examples/tokenize" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "find_package works"
echo "-- pkg-config"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs loom
cc "${CFLAGS[@]}" examples/c/tokenize.c $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs loom) \
   -Wl,-rpath,"$work/prefix/lib" -o "$work/tokenize-pc"
"$work/tokenize-pc" "$LOOM_ROOT/Tests/Fixtures/tiny-llama/model.f32.gguf" "pkg-config works" | head -1
echo "C tests: ok"
