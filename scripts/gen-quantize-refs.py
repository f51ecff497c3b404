#!/usr/bin/env python3
"""Generate the quantization references in Tests/Fixtures/quant (quantize-*, tiny-llama-quantized.json).

1. quantize-input.f32: deterministic f32 rows (little-endian), 256-value rows:
     rows 0-7   test-quantize-fns' synthetic data 0.1 + 2 cos(i + offset), offset 0 and 1 (4 rows each)
     rows 8-15  N(0, 0.05^2) (numpy default_rng(SEED))
     rows 16-23 edge rows: zeros; a constant; one outlier in small noise; values ~1e-6; a ramp -1..1;
                halves of +-x (ties of the max magnitude); tiny subnormal-ish 1e-39 values; N(0, 30^2)
   quantize-<type>.blocks: those values quantized, blocks back to back:
     f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1  gguf-py's gguf.quants.quantize (checked equal to ggml's
                                              quantize_row_*_ref when libggml-base is available)
     q4_K, q6_K                               ggml's quantize_row_q4_K_ref / quantize_row_q6_K_ref
                                              (libggml-base.so of the llama-cpp-python build)
2. tiny-llama-quantized.json: llama.cpp's llama_model_quantize of Tests/Fixtures/tiny-llama/model.f32.gguf
   for each ftype Loom offers: FNV-1a 64 of the whole file, and per tensor (in file order) its name,
   type and FNV-1a 64. Every quantized tensor is also checked against gguf-py's quantizer where gguf-py
   has one, so the hashes are gguf-py's bytes too.

Usage:  python3 scripts/gen-quantize-refs.py [--llamacpp-venv ~/.cache/loom/llamacpp-venv]
Needs numpy and gguf (pip install gguf==0.19.0) for part 1's legacy types; part 1's K types and
part 2 need the llama-cpp-python build (scripts/setup.sh puts it in $LOOM_CACHE/llamacpp-venv).
Only generated data is committed.
"""
import argparse
import ctypes
import glob
import json
import os
import subprocess
import sys
import tempfile

import warnings

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize as gguf_quantize

SEED = 20250614
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "quant")

LEGACY = {"f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1}
K_TYPES = {"q4_K": (T.Q4_K, 144), "q6_K": (T.Q6_K, 210)}
# Loom's quantize types -> llama_ftype
FTYPES = {"F32": 0, "F16": 1, "BF16": 32, "Q8_0": 7, "Q4_0": 2, "Q4_1": 3, "Q5_0": 8, "Q5_1": 9, "Q6_K": 18}


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"



def make_input() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    rows = []
    for k in range(8):
        off = 0.0 if k < 4 else 1.0
        i = np.arange(256 * (k % 4), 256 * (k % 4 + 1), dtype=np.float32)
        rows.append((0.1 + 2.0 * np.cos(i + np.float32(off))).astype(np.float32))
    for _ in range(8):
        rows.append(rng.normal(0, 0.05, 256).astype(np.float32))
    rows.append(np.zeros(256, np.float32))
    rows.append(np.full(256, 0.4375, np.float32))
    r = rng.normal(0, 0.01, 256).astype(np.float32); r[37] = 3.0; r[200] = -2.5; rows.append(r)
    rows.append(rng.normal(0, 1e-6, 256).astype(np.float32))
    rows.append(np.linspace(-1, 1, 256, dtype=np.float32))
    r = rng.normal(0, 0.1, 256).astype(np.float32); r[::32] = 0.75; r[5::32] = -0.75; rows.append(r)
    rows.append((rng.normal(0, 1, 256) * 1e-39).astype(np.float32))
    rows.append(rng.normal(0, 30, 256).astype(np.float32))
    return np.concatenate(rows)


def ggml_base(venv):
    libs = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "llama_cpp", "lib", "libggml-base.so"))
    if not libs:
        return None
    return ctypes.CDLL(libs[0])


def ggml_quantize_row(lib, name, x: np.ndarray, block_bytes, block_size) -> bytes:
    fn = getattr(lib, f"quantize_row_{name}_ref")
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(x.size // block_size * block_bytes, np.uint8)
    fn(x.ctypes.data, out.ctypes.data, x.size)
    return out.tobytes()


def part1(lib):
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # the 1e-39 row overflows 1/d on purpose
    x = make_input()
    with open(os.path.join(OUT, "quantize-input.f32"), "wb") as f:
        f.write(x.astype("<f4").tobytes())
    for name, t in LEGACY.items():
        data = gguf_quantize(x.reshape(-1, 256), t).tobytes()
        if lib is not None and name.startswith("q"):
            size, bsize = gguf.GGML_QUANT_SIZES[t][1], gguf.GGML_QUANT_SIZES[t][0]
            ref = ggml_quantize_row(lib, name, x, size, bsize)
            assert ref == data, f"gguf-py and ggml disagree on {name}"
        with open(os.path.join(OUT, f"quantize-{name}.blocks"), "wb") as f:
            f.write(data)
        print(f"quantize-{name}.blocks: {len(data)} bytes")
    if lib is None:
        print("no libggml-base.so: K-type references not regenerated")
        return
    for name, (t, bbytes) in K_TYPES.items():
        data = ggml_quantize_row(lib, name, x, bbytes, 256)
        with open(os.path.join(OUT, f"quantize-{name}.blocks"), "wb") as f:
            f.write(data)
        print(f"quantize-{name}.blocks: {len(data)} bytes")


def part2(venv):
    py = os.path.join(venv, "bin", "python")
    src = os.path.join(ROOT, "Tests", "Fixtures", "tiny-llama", "model.f32.gguf")
    result = {"source": "Tests/Fixtures/tiny-llama/model.f32.gguf", "types": {}}
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import ctypes, sys, json\n"
            "from llama_cpp import llama_cpp as L\n"
            "for name, ft in json.loads(sys.argv[3]).items():\n"
            "    p = L.llama_model_quantize_default_params(); p.ftype = ft; p.nthread = 1\n"
            "    assert L.llama_model_quantize(sys.argv[1].encode(), f'{sys.argv[2]}/{name}.gguf'.encode(), ctypes.byref(p)) == 0\n"
        )
        subprocess.run([py, "-c", code, src, tmp, json.dumps(FTYPES)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        f32 = gguf.GGUFReader(src)
        f32_tensors = {t.name: np.array(t.data) for t in f32.tensors}
        for name in FTYPES:
            path = os.path.join(tmp, f"{name}.gguf")
            blob = open(path, "rb").read()
            r = gguf.GGUFReader(path)
            tensors = []
            for t in r.tensors:
                data = bytes(np.array(t.data).tobytes())
                if t.tensor_type != T.F32 and t.tensor_type in _type_traits_types():
                    mine = gguf_quantize(f32_tensors[t.name], t.tensor_type).tobytes()
                    assert mine == data, f"{name}: gguf-py differs from llama.cpp on {t.name}"
                tensors.append({"name": t.name, "type": t.tensor_type.name, "fnv1a64": fnv1a64(data)})
            result["types"][name] = {"file_bytes": len(blob), "file_fnv1a64": fnv1a64(blob), "tensors": tensors}
            print(f"{name}: {len(blob)} bytes, {len(tensors)} tensors")
    with open(os.path.join(OUT, "tiny-llama-quantized.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


def _type_traits_types():
    return {T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1}


def main():
    ap = argparse.ArgumentParser()
    cache = os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom"))
    ap.add_argument("--llamacpp-venv", default=os.path.join(cache, "llamacpp-venv"))
    a = ap.parse_args()
    lib = ggml_base(a.llamacpp_venv)
    part1(lib)
    if os.path.isdir(a.llamacpp_venv):
        part2(a.llamacpp_venv)
    else:
        print("no llama-cpp-python venv: tiny-llama-quantized.json not regenerated")


if __name__ == "__main__":
    sys.exit(main())
