#!/usr/bin/env python3
"""Generate the dequantization fixtures in Tests/Fixtures/quant from gguf-py.

For every tensor type this writes
  <type>.blocks  raw GGUF block bytes (little-endian, blocks back to back)
  <type>.f32     gguf.quants.dequantize() of those bytes, little-endian f32
Only the generated data is committed, never gguf-py itself.

Usage: pip install gguf numpy && python3 scripts/gen-quant-testdata.py [--seed N] [--out DIR]
"""
import argparse
import os
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize, quantize
except ImportError:
    sys.exit("gen-quant-testdata: needs gguf-py (pip install gguf)")

SEED = 20250601
RANDOM_BLOCKS = 8      # raw random payload, finite random scale fields
QUANTIZED_BLOCKS = 4   # gguf.quants.quantize() of random floats, where supported

# name (as Loom's TensorType.name) -> (gguf type, byte offsets of the f16 scale fields in a block)
BLOCK_TYPES = {
    "q4_0": (T.Q4_0, [0]),          # d
    "q4_1": (T.Q4_1, [0, 2]),       # d, m
    "q5_0": (T.Q5_0, [0]),          # d
    "q5_1": (T.Q5_1, [0, 2]),       # d, m
    "q8_0": (T.Q8_0, [0]),          # d
    "q2_K": (T.Q2_K, [80, 82]),     # d, dmin after scales[16] + qs[64]
    "q3_K": (T.Q3_K, [108]),        # d after hmask[32] + qs[64] + scales[12]
    "q4_K": (T.Q4_K, [0, 2]),       # d, dmin
    "q5_K": (T.Q5_K, [0, 2]),       # d, dmin
    "q6_K": (T.Q6_K, [208]),        # d after ql[128] + qh[64] + scales[16]
}

# Special f16/bf16/f32 bit patterns appended to the random plain-type data.
F16_SPECIAL = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF,
               0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0x3555, 0x5640]
BF16_SPECIAL = [0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x3F80, 0xBF80, 0x7F7F, 0xFF7F,
                0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7F81, 0x3EAB, 0x4049]
F32_SPECIAL = [0x00000000, 0x80000000, 0x00000001, 0x007FFFFF, 0x00800000, 0x3F800000, 0xBF800000,
               0x7F7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFFFFFFF, 0x3EAAAAAB]


def f16_bits(x):
    return np.array(x, dtype=np.float16).view(np.uint16)


def random_scale(rng, n):
    """Finite f16 scales of sensible magnitude: random sign, log-uniform in [2^-12, 2^-1]."""
    mag = 2.0 ** rng.uniform(-12, -1, size=n)
    sign = rng.choice([-1.0, 1.0], size=n)
    return f16_bits(sign * mag)


def set_f16(block, offset, bits):
    block[offset:offset + 2] = np.array([bits], dtype="<u2").view(np.uint8)


def block_data(rng, name, qtype, scale_offsets):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = []
    # 1. random payload bytes with finite random scales
    for _ in range(RANDOM_BLOCKS):
        b = rng.integers(0, 256, size=type_size, dtype=np.uint8)
        for off, bits in zip(scale_offsets, random_scale(rng, len(scale_offsets))):
            set_f16(b, off, bits)
        blocks.append(b)
    # 2. edge blocks: all-zero and all-one payloads, extreme but finite scales
    edges = [
        (0x00, [0x3C00, 0xB800]),  # payload 0x00, d = 1, m/dmin = -0.5
        (0xFF, [0x3C00, 0xB800]),  # payload 0xFF
        (None, [0x0001, 0x83FF]),  # random payload, smallest subnormal d, negative subnormal dmin
        (None, [0x7BFF, 0xFBFF]),  # random payload, d = 65504, dmin = -65504
        (None, [0x0000, 0x8000]),  # random payload, d = +0, dmin = -0
    ]
    for fill, scales in edges:
        if fill is None:
            b = rng.integers(0, 256, size=type_size, dtype=np.uint8)
        else:
            b = np.full(type_size, fill, dtype=np.uint8)
        for off, bits in zip(scale_offsets, scales):
            set_f16(b, off, bits)
        blocks.append(b)
    # 3. real quantizer output where gguf-py has a quantizer for the type
    x = (rng.standard_normal(QUANTIZED_BLOCKS * block_size) * 0.05).astype(np.float32)
    try:
        q = quantize(x.reshape(1, -1), qtype).reshape(-1).view(np.uint8)
        blocks.extend(q.reshape(QUANTIZED_BLOCKS, type_size))
        quantized = True
    except NotImplementedError:
        quantized = False
    return np.concatenate(blocks), quantized


def plain_data(rng, name):
    if name == "f32":
        raw = np.concatenate([rng.integers(0, 2**32, size=96, dtype=np.uint64).astype("<u4"),
                              np.array(F32_SPECIAL, dtype="<u4"),
                              rng.standard_normal(146).astype("<f4").view("<u4")])
        return raw.view(np.uint8), T.F32
    if name == "f16":
        raw = np.concatenate([rng.integers(0, 2**16, size=110, dtype=np.uint32).astype("<u2"),
                              np.array(F16_SPECIAL, dtype="<u2"),
                              quantize(rng.standard_normal(128).astype(np.float32), T.F16).view("<u2")])
        return raw.view(np.uint8), T.F16
    if name == "bf16":
        raw = np.concatenate([rng.integers(0, 2**16, size=112, dtype=np.uint32).astype("<u2"),
                              np.array(BF16_SPECIAL, dtype="<u2"),
                              quantize(rng.standard_normal(128).astype(np.float32), T.BF16).reshape(-1).view("<u2")])
        return raw.view(np.uint8), T.BF16
    raise ValueError(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", "Tests", "Fixtures", "quant"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    jobs = [(n, None, None) for n in ("f32", "f16", "bf16")] + [(n, t, o) for n, (t, o) in BLOCK_TYPES.items()]
    for name, qtype, offsets in jobs:
        if qtype is None:
            raw, qtype = plain_data(rng, name)
            quantized = name != "f32"
        else:
            raw, quantized = block_data(rng, name, qtype, offsets)
        out = np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(-1).astype("<f4")
        with open(os.path.join(args.out, f"{name}.blocks"), "wb") as f:
            f.write(raw.tobytes())
        with open(os.path.join(args.out, f"{name}.f32"), "wb") as f:
            f.write(out.tobytes())
        total += raw.nbytes + out.nbytes
        print(f"{name:5s} {raw.nbytes:6d} bytes -> {out.size:5d} values"
              f"{' (incl. quantize() blocks)' if quantized else ''}")
    print(f"total {total} bytes, gguf {gguf_version()}, numpy {np.__version__}, seed {args.seed}")


def gguf_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    main()
