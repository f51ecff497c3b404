#!/usr/bin/env bash
# Installs what building and testing Loom needs on a fresh machine (Debian + PyPI). Idempotent.
# The Swift toolchain itself (6.x) is expected on PATH.
set -euo pipefail
source "$(dirname "$0")/common.sh"

need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v cc >/dev/null || need_apt+=(gcc)
dpkg -s libpython3-dev >/dev/null 2>&1 || need_apt+=(libpython3-dev)
dpkg -s libffi-dev >/dev/null 2>&1 || need_apt+=(libffi-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# sacrebleu and scikit-learn: the references Tests/python/test_metrics.py compares BLEU and the classification metrics to.
"$PYTHON" -c "import numpy, pytest, tokenizers, sacrebleu, sklearn" 2>/dev/null || "$PYTHON" -m pip install --quiet --root-user-action=ignore numpy pytest tokenizers sacrebleu scikit-learn
command -v swift >/dev/null || { echo "error: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
