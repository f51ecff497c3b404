"""numpy/OpenBLAS f32 GEMM throughput — the reference row of Loom's GEMM micro-benchmark comparison.

    python3 benchmarks/gemm_numpy.py [--sizes 512,1024] [--threads 1,2] [--json]

C = A @ B with A, B, C float32 n×n (C preallocated), 2n³ flops per call; best and median GFLOP/s over
calls totalling about --seconds per point, after a warm-up. Threads are set with threadpoolctl when it is
installed (benchmarks/llamacpp-venv.sh installs it into the benchmark venv), otherwise each thread count
runs in a fresh process with OPENBLAS_NUM_THREADS. The OpenBLAS kernel (core type) reported by
threadpoolctl / openblas_get_corename is printed: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE change it, and
compare_llamacpp.py runs this script with both removed from the environment.

Peak: the FMA peak is estimated two ways — nominal, lanes × 2 flops × FMA units × the clock in
/proc/cpuinfo (AVX-512: 16 lanes, 2 FMA units; the VM's "cpu MHz" is the nominal clock, turbo can exceed
it), and measured, with a register-only FMA loop compiled with `cc` (16 independent zmm chains) when a
C compiler is available. Fractions of both are printed.
"""

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

FMA_C = r"""
#include <immintrin.h>
#ifdef __AVX512F__
typedef __m512 V;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define LANES 16
static float hsum(V v) { return _mm512_reduce_add_ps(v); }
#else
typedef __m256 V;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define LANES 8
static float hsum(V v) { float t[8]; _mm256_storeu_ps(t, v); float s = 0; for (int i = 0; i < 8; i++) s += t[i]; return s; }
#endif
int fma_lanes(void) { return LANES; }
/* 16 independent FMA chains: 16 * LANES * 2 flops per iteration. */
float fma_loop(long iters) {
    V a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f), a5 = SET1(1.5f),
      a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f), a10 = SET1(2.0f), a11 = SET1(2.1f),
      a12 = SET1(2.2f), a13 = SET1(2.3f), a14 = SET1(2.4f), a15 = SET1(2.5f);
    const V m = SET1(0.9999999f), c = SET1(1e-7f);
    for (long i = 0; i < iters; i++) {
        a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);
        a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);
        a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
        a12 = FMA(a12, m, c); a13 = FMA(a13, m, c); a14 = FMA(a14, m, c); a15 = FMA(a15, m, c);
    }
    V s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    s = ADD(s, ADD(ADD(ADD(a8, a9), ADD(a10, a11)), ADD(ADD(a12, a13), ADD(a14, a15))));
    return hsum(s);
}
"""


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_mhz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def measured_fma_peak(threads_list, seconds):
    """GFLOP/s of a register-only FMA loop per thread count, or None without a C compiler."""
    flags = cpu_flags()
    isa = ["-mavx512f", "-mfma"] if "avx512f" in flags else ["-mavx2", "-mfma"]
    with tempfile.TemporaryDirectory() as d:
        src, lib = os.path.join(d, "fma.c"), os.path.join(d, "libfma.so")
        with open(src, "w") as f:
            f.write(FMA_C)
        for cc in ("cc", "gcc", "clang"):
            try:
                subprocess.run([cc, "-O2", "-shared", "-fPIC", *isa, src, "-o", lib], check=True,
                               capture_output=True)
                break
            except (OSError, subprocess.CalledProcessError):
                continue
        else:
            return None, None
        so = ctypes.CDLL(lib)
        so.fma_loop.restype = ctypes.c_float
        so.fma_loop.argtypes = [ctypes.c_long]
        lanes = so.fma_lanes()
        flops_per_iter = 16 * lanes * 2
        # calibrate: iterations for ~seconds/3 on one thread
        iters = 1_000_000
        while True:
            t0 = time.perf_counter()
            so.fma_loop(iters)
            dt = time.perf_counter() - t0
            if dt > 0.05:
                break
            iters *= 4
        iters = int(iters * (seconds / 3) / dt) + 1
        result = {}
        for nt in threads_list:
            best = 0.0
            for _ in range(3):
                ts = [threading.Thread(target=so.fma_loop, args=(iters,)) for _ in range(nt)]
                t0 = time.perf_counter()
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                dt = time.perf_counter() - t0
                best = max(best, nt * iters * flops_per_iter / dt / 1e9)
            result[nt] = best
        return result, lanes


def openblas_info():
    try:
        from threadpoolctl import threadpool_info
        for i in threadpool_info():
            if i.get("internal_api") == "openblas":
                return {"corename": i.get("architecture"), "version": i.get("version"),
                        "threading": i.get("threading_layer"), "num_threads": i.get("num_threads"),
                        "source": "threadpoolctl"}
    except ImportError:
        pass
    # Without threadpoolctl: find the loaded OpenBLAS and ask it directly.
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
        for path in sorted(paths):
            so = ctypes.CDLL(path)
            for sym in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
                fn = getattr(so, sym, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    return {"corename": fn().decode(), "version": None, "threading": None, "num_threads": None,
                            "source": f"{os.path.basename(path)}:{sym}"}
    except OSError:
        pass
    return {"corename": "unknown", "version": None, "threading": None, "num_threads": None, "source": None}


def bench_gemm(np, n, seconds):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    for _ in range(3):
        np.matmul(a, b, out=c)
    times = []
    deadline = time.perf_counter() + seconds
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 1000):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    times.sort()
    flops = 2.0 * n ** 3
    return flops / times[0] / 1e9, flops / times[len(times) // 2] / 1e9, len(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=1.0, help="time per point (default 1 s)")
    ap.add_argument("--ghz", type=float, default=None, help="clock for the nominal peak (default: /proc/cpuinfo)")
    ap.add_argument("--fma-units", type=int, default=2, help="FMA units per core (default 2)")
    ap.add_argument("--no-measured-peak", action="store_true")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--_one-thread-count", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    threads_list = [int(s) for s in args.threads.split(",")]

    if args._one_thread_count is not None:  # child process without threadpoolctl
        import numpy as np
        nt = args._one_thread_count
        for n in sizes:
            best, med, calls = bench_gemm(np, n, args.seconds)
            print(json.dumps({"n": n, "threads": nt, "best": best, "median": med, "calls": calls}))
        print(json.dumps({"openblas": openblas_info()}))
        return

    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(max(threads_list)))
    import numpy as np
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None

    rows, blas = [], None
    if threadpool_limits is not None:
        for nt in threads_list:
            with threadpool_limits(limits=nt, user_api="blas"):
                blas = openblas_info()
                for n in sizes:
                    best, med, calls = bench_gemm(np, n, args.seconds)
                    rows.append({"n": n, "threads": nt, "best": best, "median": med, "calls": calls})
    else:
        for nt in threads_list:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(nt))
            out = subprocess.run([sys.executable, __file__, "--sizes", args.sizes, "--seconds", str(args.seconds),
                                  "--_one-thread-count", str(nt)], env=env, check=True, capture_output=True,
                                 text=True).stdout
            for line in out.splitlines():
                obj = json.loads(line)
                if "openblas" in obj:
                    blas = obj["openblas"]
                else:
                    rows.append(obj)

    flags = cpu_flags()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    mhz = args.ghz * 1000 if args.ghz else cpu_mhz()
    nominal_per_core = args.fma_units * lanes * 2 * mhz / 1000 if mhz else None
    measured, _ = (None, None) if args.no_measured_peak else measured_fma_peak(threads_list, args.seconds)

    env_note = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    header = {"numpy": np.__version__, "openblas": blas, "env_overrides": env_note,
              "peak_nominal_per_core_gflops": nominal_per_core, "clock_ghz": mhz / 1000 if mhz else None,
              "fma_units": args.fma_units, "lanes": lanes,
              "peak_measured_gflops": {str(k): v for k, v in measured.items()} if measured else None}
    for r in rows:
        r["frac_nominal_peak"] = r["best"] / (nominal_per_core * r["threads"]) if nominal_per_core else None
        r["frac_measured_peak"] = r["best"] / measured[r["threads"]] if measured else None

    if args.json:
        print(json.dumps({"kind": "info", **header}))
        for r in rows:
            print(json.dumps({"kind": "gemm", "engine": "numpy/OpenBLAS", **r}))
        return

    b = blas or {}
    print(f"numpy {np.__version__}, OpenBLAS {b.get('version')} kernel {b.get('corename')} "
          f"({b.get('threading')}; via {b.get('source')})"
          + (f"; environment overrides: {env_note}" if env_note else "; no OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE"))
    if nominal_per_core:
        print(f"nominal FMA peak: {args.fma_units} FMA units × {lanes} lanes × 2 flops × {mhz / 1000:.2f} GHz "
              f"= {nominal_per_core:.1f} GFLOP/s per core")
    if measured:
        print("measured register-only FMA peak: " + ", ".join(f"{v:.1f} GFLOP/s ({k} thr)" for k, v in measured.items()))
    print()
    print("| n (f32 n×n×n) | threads | best GFLOP/s | median GFLOP/s | of nominal peak | of measured FMA peak |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        fn = f"{100 * r['frac_nominal_peak']:.0f}%" if r["frac_nominal_peak"] else "–"
        fm = f"{100 * r['frac_measured_peak']:.0f}%" if r["frac_measured_peak"] else "–"
        print(f"| {r['n']} | {r['threads']} | {r['best']:.1f} | {r['median']:.1f} | {fn} | {fm} |")


if __name__ == "__main__":
    main()
