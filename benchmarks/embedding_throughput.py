#!/usr/bin/env python3
"""MiniLM sentence-embedding throughput: Loom (f32, bf16, f16 matmuls) beside sentence-transformers (torch, CPU).

    python3 benchmarks/embedding_throughput.py [--write] [--rounds 5] [--precisions f32,bf16,f16]

Workload (issue 6): 512 sentences cut from /usr/share/common-licenses/* at ". " (sorted files, each
sentence's white space collapsed, empty ones dropped), batch 32, 1 and 2 threads. Each (engine,
threads) runs in its own subprocess: Loom through the Python binding (system python, release
libloom.so: LOOM_LIBRARY_PATH or .build-bench/release/libloom.so) once per matmul precision
(Model.embed(precision=...): "f32" exact, "bf16" on AMX / AVX512-BF16, "f16" on AVX512-FP16; the f32
path where the CPU lacks the kernels), sentence-transformers from the venv made by benchmarks/st-venv.sh
(torch.set_num_threads). R rounds, interleaved: each round runs every engine once (a fresh subprocess:
a warm-up, then one timed run), so that load from elsewhere on the machine hits all engines alike; the
best round of each engine counts. Each Loom mode's embeddings are compared with sentence-transformers'
(min cosine) so the comparison is on the same output.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("LOOM_CACHE") or os.path.expanduser("~/.cache/loom")
MODEL = os.path.join(CACHE, "models", "all-MiniLM-L6-v2")
ST_PYTHON = os.path.join(CACHE, "st-venv", "bin", "python")
BEGIN, END = "<!-- embedding_throughput:begin -->", "<!-- embedding_throughput:end -->"


def sentences(n=512):
    out = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if not os.path.isfile(path):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        for s in text.split(". "):
            s = " ".join(s.split())
            if s:
                out.append(s)
            if len(out) == n:
                return out
    return out


def worker(engine, threads, rounds, batch, out_path):
    texts = sentences()
    if engine.startswith("loom"):
        sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
        import loom
        model = loom.Model(MODEL)
        precision = engine.split(":", 1)[1] if ":" in engine else "f32"
        run = lambda: model.embed(texts, normalize=True, batch_size=batch, n_threads=threads, precision=precision)
    else:
        import torch
        torch.set_num_threads(threads)
        from sentence_transformers import SentenceTransformer
        st = SentenceTransformer(MODEL, device="cpu")
        run = lambda: st.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
    emb = run()  # warm-up
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        emb = run()
        best = min(best, time.perf_counter() - t0)
    import numpy as np
    np.save(out_path, np.asarray(emb, dtype=np.float32))
    print(json.dumps({"seconds": best, "n": len(texts)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", "-r", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--precisions", default="f32,bf16,f16", help="Loom matmul precisions to run")
    ap.add_argument("--write", action="store_true", help="replace the results section of BENCHMARKS.md")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker[0], int(a.worker[1]), a.rounds, a.batch, a.worker[2])
        return
    if not os.path.isdir(MODEL):
        sys.exit(f"{MODEL} is missing: run scripts/fetch-model.sh")
    if not os.path.exists(ST_PYTHON):
        sys.exit(f"{ST_PYTHON} is missing: run benchmarks/st-venv.sh")
    env = dict(os.environ)
    lib = os.path.join(ROOT, ".build-bench", "release", "libloom.so")
    if "LOOM_LIBRARY_PATH" not in env and os.path.exists(lib):
        env["LOOM_LIBRARY_PATH"] = lib
    import numpy as np
    rows = []
    precisions = [p for p in a.precisions.split(",") if p]
    engines = [(f"loom:{p}", sys.executable) for p in precisions] + [("sentence-transformers", ST_PYTHON)]
    for t in [int(x) for x in a.threads.split(",")]:
        res = {}
        for _ in range(a.rounds):
            for engine, python in engines:
                out = f"/tmp/emb-{engine.replace(':', '-')}-{t}.npy"
                e = dict(env, OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
                p = subprocess.run([python, __file__, "--rounds", "1", "--batch", str(a.batch),
                                    "--worker", engine, str(t), out], env=e, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"{engine} worker failed:\n{p.stderr[-3000:]}")
                r = json.loads(p.stdout.strip().splitlines()[-1])
                if engine not in res or r["seconds"] < res[engine]["seconds"]:
                    r["emb"] = np.load(out)
                    res[engine] = r
        st = res["sentence-transformers"]
        for p in precisions:
            r = res[f"loom:{p}"]
            cos = float((r["emb"] * st["emb"]).sum(axis=1).min())
            ls, ss = r["n"] / r["seconds"], st["n"] / st["seconds"]
            rows.append((t, p, r["n"], ls, ss, ls / ss, cos))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    kernels = {"bf16": "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "f32 fallback",
               "f16": "AVX512-FP16" if "avx512_fp16" in flags else "f32 fallback", "f32": "f32 AVX-512 FMA"}
    head = (f"### {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC — {cpu}, {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.2f}\n\nall-MiniLM-L6-v2, {rows[0][2]} sentences from the Debian licences, "
            f"batch {a.batch}, best of {a.rounds} interleaved rounds (each after a warm-up); normalized mean-pooled embeddings. Loom's matmul "
            f"kernels here: " + ", ".join(f"{p}: {kernels.get(p, '?')}" for p in precisions) +
            f" (CPU flags: {', '.join(f for f in ('amx_bf16', 'avx512_bf16', 'avx512_fp16') if f in flags) or 'none of amx_bf16, avx512_bf16, avx512_fp16'}).\n\n")
    table = ("| threads | Loom precision | Loom sentences/s | sentence-transformers sentences/s | Loom/ST | min cosine Loom–ST |\n"
             "|---|---|---|---|---|---|\n")
    for t, p, n, ls, ss, ratio, cos in rows:
        table += f"| {t} | {p} | {ls:,.0f} | {ss:,.0f} | **{ratio:.2f}×** | {cos:.6f} |\n"
    text = head + table
    print(text)
    if a.write:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        md = open(path).read()
        if BEGIN in md:
            md = md[:md.index(BEGIN) + len(BEGIN)] + "\n" + text + md[md.index(END):]
        else:
            md += ("\n## Sentence embeddings: Loom vs sentence-transformers\n\n`python3 benchmarks/embedding_throughput.py "
                   "--write` (needs `benchmarks/st-venv.sh` once, and the MiniLM folder from scripts/fetch-model.sh).\n\n"
                   + BEGIN + "\n" + text + END + "\n")
        open(path, "w").write(md)


if __name__ == "__main__":
    main()
