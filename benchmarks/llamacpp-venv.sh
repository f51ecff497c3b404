#!/usr/bin/env bash
# Builds llama.cpp once — the copy vendored in llama-cpp-python==0.3.36 — in its own venv, for the
# side-by-side benchmarks in this folder only. Never run in CI, never a dependency of Loom.
#
#   benchmarks/llamacpp-venv.sh          # prints the venv's python on the last line
#
# The venv is ${LOOM_CACHE:-~/.cache/loom}/llamacpp-venv (override: LLAMACPP_VENV); the build log is
# $LOOM_CACHE/llamacpp-build.log and ends with a line `rc=N`. The build takes ~15 minutes on 2 cores.
# An existing working install (`import llama_cpp` at 0.3.36 in that venv) is reused; if another build
# into the same venv is still running, this waits for it instead of starting a second one.
#
# Flags: the default native build dies on this CPU kind (Sapphire Rapids VM) at its first AMX
# instruction (SIGILL), so AMX is off and the AVX-512 family is named explicitly
# (see /work/shared/notes/llamacpp-baseline.md).
set -euo pipefail

if [ -n "${CI:-}" ] && [ -z "${LOOM_BENCH_ALLOW_CI:-}" ]; then
    echo "llamacpp-venv.sh: refusing to build llama.cpp in CI (benchmarks only)" >&2
    exit 1
fi

LOOM_CACHE="${LOOM_CACHE:-$HOME/.cache/loom}"
VENV="${LLAMACPP_VENV:-$LOOM_CACHE/llamacpp-venv}"
LOG="$LOOM_CACHE/llamacpp-build.log"
VERSION="0.3.36"
PYTHON="${PYTHON:-python3}"
mkdir -p "$LOOM_CACHE"

works() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c "import sys, llama_cpp; sys.exit(llama_cpp.__version__ != '$VERSION')" >/dev/null 2>&1
}

# Extras the benchmark scripts use (numpy for gemm_numpy.py, threadpoolctl to report OpenBLAS's kernel).
extras() {
    "$VENV/bin/python" -c "import numpy, threadpoolctl" >/dev/null 2>&1 ||
        "$VENV/bin/pip" install --quiet numpy threadpoolctl >&2
}

# Another build into this venv still running (e.g. started by hand with the same command)? Wait for it.
# (started from $LOOM_CACHE the command line may name the venv by a relative path, hence the basename;
# a log without its final `rc=` line that changed in the last 10 minutes counts too)
other_build_running() {
    local name
    name="$(basename "$VENV")"
    pgrep -f "$name/bin/pip install" >/dev/null 2>&1 && return 0
    [ -f "$LOG" ] && ! tail -n 1 "$LOG" | grep -q '^rc=' && [ -n "$(find "$LOG" -mmin -10 2>/dev/null)" ]
}
if ! works && other_build_running; then
    echo "llamacpp-venv.sh: a build into $VENV is running; waiting for it (log: $LOG)" >&2
    while other_build_running; do sleep 30; done
fi

if works; then
    echo "llamacpp-venv.sh: llama-cpp-python $VERSION already installed in $VENV" >&2
    extras
    echo "$VENV/bin/python"
    exit 0
fi

# Build (serialised by a lock so that two invocations of this script never build at once).
exec 9>"$LOOM_CACHE/llamacpp-venv.lock"
flock 9
if ! works; then
    echo "llamacpp-venv.sh: building llama.cpp (llama-cpp-python==$VERSION) into $VENV, ~15 min; log: $LOG" >&2
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy threadpoolctl >&2
    set +e
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
        "$VENV/bin/pip" install --no-cache-dir "llama-cpp-python==$VERSION" >"$LOG" 2>&1
    rc=$?
    set -e
    echo "rc=$rc" >>"$LOG"
    if [ $rc -ne 0 ] || ! works; then
        echo "llamacpp-venv.sh: build failed (rc=$rc); see $LOG" >&2
        tail -20 "$LOG" >&2
        exit 1
    fi
fi
extras
echo "$VENV/bin/python"
