"""Copies libloom.so into the package when it is installed, so `import loom` finds it beside itself.

The library comes from $LOOM_LIBRARY_PATH (a file or a folder), else from the repository's release build
(`swift build -c release --product loom`, which scripts/build.sh runs).
"""
import os
import shutil
from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def find_library():
    env = os.environ.get("LOOM_LIBRARY_PATH")
    candidates = []
    if env:
        candidates.append(env if env.endswith(".so") else os.path.join(env, "libloom.so"))
    candidates.append(os.path.join(HERE, "..", "..", ".build", "release", "libloom.so"))
    for c in candidates:
        if os.path.isfile(c):
            return c
    return None


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = find_library()
        if lib is None:
            raise SystemExit("libloom.so not found: build it first (scripts/build.sh) or set LOOM_LIBRARY_PATH")
        dest = os.path.join(self.build_lib, "loom", "libloom.so")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(lib, dest)


setup(cmdclass={"build_py": BuildWithLibrary})
