#!/usr/bin/env bash
# Builds libloom.so and the loom CLI (release), and installs the Python package against that library.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$LOOM_ROOT"
swift build -c release --product loom
swift build -c release --product loom-cli
# libloom.so's SONAME is libloom.so.<ABI major>: programs linked in the build tree look for that name.
ln -sf libloom.so "$LOOM_ROOT/.build/release/libloom.so.0"
"$PYTHON" -m pip install --quiet --root-user-action=ignore --force-reinstall --no-deps ./bindings/python
echo "built: $LOOM_ROOT/.build/release/libloom.so, $LOOM_ROOT/.build/release/loom-cli"
