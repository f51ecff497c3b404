#!/usr/bin/env python3
"""Loom vs llama.cpp, side by side, with llama-bench semantics.

    python3 benchmarks/compare_llamacpp.py                 # Markdown report on stdout
    python3 benchmarks/compare_llamacpp.py -r 3 --write    # ... and update the results in BENCHMARKS.md

Needs .build/release/loom-cli (`swift build -c release --product loom-cli`, or --build) and llama.cpp in
its own venv (benchmarks/llamacpp-venv.sh — benchmarks only, never CI). Runs with any python3 (standard
library only): Loom through `loom-cli bench --json`, llama.cpp through benchmarks/llamacpp_worker.py in
the venv's python.

What is measured (see BENCHMARKS.md): the same GGUF, the same thread counts, synthetic random ids, no
sampling, n_batch = n_ubatch = 512; pp512 = one 512-token prompt from an empty cache, tg128 = 128
single-token decodes from an empty cache; llama.cpp with llama-bench's defaults (f16 KV cache, flash
attention auto). Each run is a fresh process per engine and thread count that loads the model, warms up,
runs one extra full repetition that is discarded, then the measured repetition(s); the engines alternate
(Loom, llama.cpp, Loom, llama.cpp, ...) for R rounds, so slow drifts of the machine hit both alike.
The machine may be shared: before each run the script waits (up to --wait s) for other processes to leave
the CPU, and re-runs (up to --retries times) a run during which they used more than --quiet of a core
(plus half of each core the run leaves idle); runs still disturbed then are left out when clean ones exist.
Reported: best-of-R and mean ± sd tokens/s, Loom/llama.cpp ratios, thread scaling, load time, peak RSS
of each process (wait4), CPU time other processes used during the run, and the GEMM micro-benchmark
(numpy/OpenBLAS via gemm_numpy.py; Loom via `loom-cli bench --kernels --json` when it exists).
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("LOOM_CACHE") or os.path.expanduser("~/.cache/loom")
DEFAULT_MODEL = os.path.join(CACHE, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_VENV = os.environ.get("LLAMACPP_VENV") or os.path.join(CACHE, "llamacpp-venv")
BEGIN, END = "<!-- compare_llamacpp:begin -->", "<!-- compare_llamacpp:end -->"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, **kw).stdout.strip()
    except OSError:
        return ""


def run_measured(cmd, env=None):
    """Runs cmd; returns (stdout, stderr, peak RSS bytes of that very process, CPU seconds)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, text=True)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        errtext = err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{errtext[-3000:]}")
    return out, errtext, ru.ru_maxrss * 1024, ru.ru_utime + ru.ru_stime


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


# ---------------------------------------------------------------- machine

def cpuinfo():
    info, flags = {}, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" not in line:
                    continue
                k, v = (s.strip() for s in line.split(":", 1))
                if k in ("model name", "cpu family", "model", "stepping", "cpu MHz", "cache size") and k not in info:
                    info[k] = v
                if k == "flags" and not flags:
                    flags = set(v.split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",
                       "amx_tile", "amx_int8", "amx_bf16") if f in flags]
    return info, isa


def cpu_busy_seconds():
    """Busy CPU time of the whole machine (all CPUs) from /proc/stat, in seconds."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def wait_quiet(max_wait, quiet):
    """Waits (up to max_wait s) until other processes have used < quiet of a core for 2 s in a row."""
    if max_wait <= 0 or cpu_busy_seconds() is None:
        return 0.0
    start, calm = time.monotonic(), 0
    while time.monotonic() - start < max_wait:
        b0, s0 = cpu_busy_seconds(), own_cpu_seconds()
        time.sleep(0.5)
        calm = calm + 1 if (cpu_busy_seconds() - b0) - (own_cpu_seconds() - s0) < quiet * 0.5 else 0
        if calm >= 4:
            break
    return time.monotonic() - start


def machine_info(loom, venv_python):
    info, isa = cpuinfo()
    now = datetime.datetime.now(datetime.timezone.utc)
    built = datetime.datetime.fromtimestamp(os.path.getmtime(loom), datetime.timezone.utc)
    swift = sh(["swift", "--version"]).splitlines()
    git = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources", "Package.swift"])
    return {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": info.get("model name", platform.processor() or "unknown"),
        "cpu_id": f"family {info.get('cpu family', '?')} model {info.get('model', '?')} stepping {info.get('stepping', '?')}",
        "mhz": info.get("cpu MHz"),
        "cores": os.cpu_count(),
        "isa": isa,
        "kernel": platform.release(),
        "loadavg_start": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None,
        "swift": swift[0] if swift else "swift not on PATH",
        "loom": f"{sh([loom, '--version']) or '?'} (repo HEAD {git or '?'} at run time{', Sources modified' if dirty else ''}; "
                f"loom-cli built {built:%Y-%m-%d %H:%M} UTC)",
    }


# ---------------------------------------------------------------- engines

def loom_cmd(args, threads, reps):
    return [args.loom, "bench", "-m", args.model, "-p", str(args.n_prompt), "-n", str(args.n_gen),
            "-t", str(threads), "-r", str(reps), "-b", str(args.batch), "--json"]


def llama_cmd(args, threads, reps):
    return [args.venv_python, os.path.join(HERE, "llamacpp_worker.py"), "-m", args.model, "-p", str(args.n_prompt),
            "-n", str(args.n_gen), "-t", str(threads), "-r", str(reps), "-b", str(args.batch),
            "-ub", str(args.batch), "--kv-type", "f16"]


def summarize(tagged):
    """(best, mean, sd, used, excluded) of [(tokens/s, clean)]: runs that stayed disturbed after their
    retries are left out when clean runs exist."""
    samples = [x for x, clean in tagged if clean] or [x for x, _ in tagged]
    best = max(samples)
    mean = statistics.fmean(samples)
    sd = statistics.stdev(samples) if len(samples) > 1 else 0.0
    return best, mean, sd, len(samples), len(tagged) - len(samples)


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


# ---------------------------------------------------------------- GEMM

def gemm_section(args, threads):
    lines = []
    py = args.venv_python if args.venv_python and os.path.exists(args.venv_python) else sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    removed = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    try:
        out, _, _, _ = run_measured([py, os.path.join(HERE, "gemm_numpy.py"), "--json",
                                     "--threads", ",".join(map(str, threads))], env=env)
    except (RuntimeError, OSError) as e:
        return [f"GEMM: numpy run failed: {e}"], None
    objs = json_lines(out)
    head = next((o for o in objs if o.get("kind") == "info"), {})
    rows = [o for o in objs if o.get("kind") == "gemm"]
    blas = head.get("openblas") or {}
    lines.append(f"numpy {head.get('numpy')}, OpenBLAS {blas.get('version') or ''} kernel **{blas.get('corename')}** "
                 f"(reported by {blas.get('source')}; run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
                 + (f", removed from this environment: {', '.join(removed)}" if removed else "") + ").")
    peak = head.get("peak_nominal_per_core_gflops")
    measured = head.get("peak_measured_gflops") or {}
    if peak:
        lines.append(f"FMA peak: nominal {head['fma_units']} FMA units × {head['lanes']} lanes × 2 flops × "
                     f"{head['clock_ghz']:.2f} GHz (cpuinfo) = {peak:.1f} GFLOP/s per core"
                     + ("; measured register-only FMA loop: " + ", ".join(f"{v:.1f} GFLOP/s on {k} thread(s)"
                                                                         for k, v in measured.items()) if measured else "")
                     + ". Turbo makes the measured peak higher than the nominal one.")
    lines.append("")
    loom_rows = loom_kernel_rows(args, threads)
    lines.append("| engine | kernel | shape | threads | result | of measured FMA peak | Loom / numpy |")
    lines.append("|---|---|---|---|---|---|---|")
    by_key = {(r["n"], r["threads"]): r for r in rows}
    for r in rows:
        fm = f"{100 * r['frac_measured_peak']:.0f}%" if r.get("frac_measured_peak") else "–"
        lines.append(f"| numpy/OpenBLAS | sgemm | {r['n']}³ | {r['threads']} | {r['best']:.1f} GFLOP/s | {fm} | |")
    notice = loom_rows if isinstance(loom_rows, str) else None
    for r in ([] if notice else loom_rows):
        gf = r["gflops"]
        ref = by_key.get((r["n"], r["threads"])) if r["n"] and gf else None
        peak_t = measured.get(str(r["threads"])) if gf else None
        fm = f"{100 * gf / peak_t:.0f}%" if peak_t else "–"
        ratio = f"**{gf / ref['best']:.2f}×**" if ref else ""
        lines.append(f"| Loom | {r['name']} | {r['shape']} | {r['threads'] if r['threads'] is not None else '?'} | "
                     f"{r['result']} | {fm} | {ratio} |")
    if notice:
        lines.append("")
        lines.append(f"Loom GEMM rows skipped: {notice}")
    return lines, {"numpy": objs, "loom": loom_rows}


def loom_kernel_row(o, default_threads):
    """One JSON object of `loom-cli bench --kernels --json` as a table row, or None. Understands
    {name, threads, value, unit, secondary, secondary_unit} (LoomKernels.KernelBenchmarkResult) as well
    as objects with a *gflop* key and m/n/k or size."""
    name = str(o.get("name") or o.get("kernel") or o.get("test") or "kernel")
    unit = str(o.get("unit") or "")
    value = o.get("value")
    gf = next((v for k, v in o.items() if "gflop" in k.lower() and isinstance(v, (int, float))), None)
    if gf is None and isinstance(value, (int, float)) and unit.lower().startswith("gflop"):
        gf = value
    if gf is None and not isinstance(value, (int, float)):
        return None
    m, n, k = o.get("m"), o.get("n"), o.get("k")
    sq = m if (m and m == n == k) else o.get("size") if isinstance(o.get("size"), int) else None
    if sq is None:
        mt = re.fullmatch(r"sgemm_?(\d+)", name)
        sq = int(mt.group(1)) if mt else None
    shape = o.get("shape") or (f"{m}×{n}×{k}" if m and n and k else f"{sq}³" if sq else "SmolLM2" if "smollm2" in name else "")
    if gf is not None:
        result = f"{gf:.1f} GFLOP/s"
    else:
        result = f"{value:.2f} {unit}"
        sec, su = o.get("secondary"), o.get("secondary_unit") or o.get("secondaryUnit")
        if isinstance(sec, (int, float)):
            result += f" ({sec:.1f} {su or ''})".replace(" )", ")")
    return {"name": name, "shape": shape, "n": sq, "threads": o.get("threads", default_threads), "gflops": gf,
            "result": result, "raw": o}


def loom_kernel_rows(args, threads):
    helptext = sh([args.loom, "bench", "--help"])
    if "--kernels" not in helptext:
        return "`loom-cli bench` has no `--kernels` option yet (this build)."
    rows, seen = [], set()

    def collect(cmd, default_threads):
        out, _, _, _ = run_measured(cmd)
        for o in json_lines(out):
            r = loom_kernel_row(o, default_threads)
            if r and (r["name"], r["shape"], r["threads"]) not in seen:
                seen.add((r["name"], r["shape"], r["threads"]))
                rows.append(r)

    try:
        collect([args.loom, "bench", "--kernels", "--json"], None)
        for t in threads:  # thread counts the default run did not cover
            if not any(r["threads"] == t for r in rows):
                collect([args.loom, "bench", "--kernels", "--json", "-t", str(t)], t)
    except (RuntimeError, OSError) as e:
        if not rows:
            return f"`loom-cli bench --kernels --json` failed: {str(e)[:300]}"
    return rows or "`loom-cli bench --kernels --json` printed no rows."


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="Loom vs llama.cpp (llama-bench semantics); Markdown on stdout.")
    ap.add_argument("-m", "--model", default=DEFAULT_MODEL)
    ap.add_argument("-t", "--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("-r", "--rounds", type=int, default=5, help="alternating runs per engine and thread count (default 5)")
    ap.add_argument("--retries", type=int, default=2,
                    help="re-run a run during which other processes used the CPU (default 2 times)")
    ap.add_argument("--wait", type=float, default=60,
                    help="before each run, wait up to this many seconds for other processes to leave the CPU (60)")
    ap.add_argument("--quiet", type=float, default=0.05,
                    help="a run is disturbed when other processes used more than this fraction of one core (0.05), "
                         "plus half of each core the run leaves idle")
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("-b", "--batch", type=int, default=512, help="n_batch = n_ubatch (default 512)")
    ap.add_argument("--loom", default=os.path.join(ROOT, ".build", "release", "loom-cli"))
    ap.add_argument("--venv", default=DEFAULT_VENV, help="llama.cpp venv (benchmarks/llamacpp-venv.sh)")
    ap.add_argument("--build", action="store_true", help="swift build -c release --product loom-cli first")
    ap.add_argument("--no-gemm", action="store_true", help="skip the GEMM micro-benchmark")
    ap.add_argument("--write", action="store_true", help="replace the results section of BENCHMARKS.md")
    ap.add_argument("--note", default="", help="a sentence to put under the results heading")
    ap.add_argument("--json-out", help="also write all raw results to this JSON file")
    args = ap.parse_args()
    threads = [int(x) for x in args.threads.split(",")]
    if args.rounds < 1:
        ap.error("need -r >= 1")

    if args.build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "loom-cli"], cwd=ROOT, check=True)
    if not os.access(args.loom, os.X_OK):
        sys.exit(f"{args.loom} not found: run `swift build -c release --product loom-cli` in {ROOT} (or pass --build)")
    if not os.path.exists(args.model):
        sys.exit(f"model {args.model} not found (scripts/run.sh fetches the default SmolLM2)")
    args.venv_python = os.path.join(args.venv, "bin", "python")
    probe = subprocess.run([args.venv_python, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                           capture_output=True, text=True) if os.path.exists(args.venv_python) else None
    if not probe or probe.returncode != 0:
        sys.exit(f"llama.cpp is not installed in {args.venv}: run benchmarks/llamacpp-venv.sh first "
                 "(builds llama-cpp-python==0.3.36 once, ~15 min; benchmarks only, never CI)")

    machine = machine_info(args.loom, args.venv_python)
    engines = [("Loom", loom_cmd), ("llama.cpp", llama_cmd)]
    tests = [t for t in ((f"pp{args.n_prompt}", args.n_prompt), (f"tg{args.n_gen}", args.n_gen)) if t[1] > 0]
    samples = {(e, t, test): [] for e, _ in engines for t in threads for test, _ in tests}
    loads = {(e, t): [] for e, _ in engines for t in threads}
    rss = {(e, t): [] for e, _ in engines for t in threads}
    extra = {}
    raw = []
    disturbed, kept_stolen, kept_wall = 0, 0.0, 0.0
    wall0 = time.monotonic()

    def allowed(t):
        # Other processes may use --quiet of a core, plus half of each core this run leaves idle.
        return args.quiet + 0.5 * max(0, (os.cpu_count() or t) - t)
    for rnd in range(args.rounds):
        for t in threads:
            for name, make in engines:
                for attempt in range(args.retries + 1):
                    log(f"round {rnd + 1}/{args.rounds}, {t} thread(s): {name}" + (f" (retry {attempt})" if attempt else ""))
                    waited = wait_quiet(args.wait, args.quiet)
                    if waited > 3:
                        log(f"  waited {waited:.0f} s for other processes to leave the CPU")
                    b0, s0, w0 = cpu_busy_seconds(), own_cpu_seconds(), time.monotonic()
                    out, _, peak, child_cpu = run_measured(make(args, t, 2))  # first repetition: discarded warm-up
                    run_wall = time.monotonic() - w0
                    stolen = (cpu_busy_seconds() - b0) - (own_cpu_seconds() - s0) if b0 is not None else 0.0
                    clean = stolen <= allowed(t) * run_wall
                    if clean or attempt == args.retries:
                        kept_stolen += max(stolen, 0.0)
                        kept_wall += run_wall
                        break
                    log(f"  other processes used {stolen:.1f} CPU-s during this {run_wall:.1f} s run: disturbed")
                    disturbed += 1
                for o in json_lines(out):
                    raw.append({"engine": name, "round": rnd, "retries": attempt, "other_cpu_s": stolen,
                                "process_peak_rss_bytes": peak, "process_cpu_s": child_cpu, **o})
                    test = o.get("test")
                    if (name, t, test) in samples:
                        samples[(name, t, test)].extend((x, clean) for x in o["samples_ts"][1:])
                    loads[(name, t)].append(o["load_ms"])
                    if name == "llama.cpp":
                        extra = {k: o.get(k) for k in ("version", "system_info", "rss_before_load_bytes", "model")}
                rss[(name, t)].append(peak)
    wall = time.monotonic() - wall0

    # ------------------------------------------------------------ report
    L = []
    L.append(f"### {machine['date']} — {machine['cpu']} ({machine['cpu_id']}), {machine['cores']} cores")
    L.append("")
    if args.note:
        L.append(args.note)
        L.append("")
    size_mib = os.path.getsize(args.model) / 1048576
    L.append(f"Model `{os.path.basename(args.model)}` ({size_mib:.1f} MiB, llama.cpp: {extra.get('model')}); "
             f"{', '.join(t for t, _ in tests)}; n_batch = n_ubatch = {args.batch}; "
             f"{args.rounds} alternating runs per engine and thread count (best of {args.rounds}, mean ± sd); tokens/s.")
    L.append("")
    L.append("| test | threads | Loom best | Loom mean ± sd | llama.cpp best | llama.cpp mean ± sd | Loom/llama.cpp best | Loom/llama.cpp mean |")
    L.append("|---|---|---|---|---|---|---|---|")
    summary, excluded = {}, 0

    def excl(k):
        return f" (n={args.rounds - k})" if k else ""
    for test, _ in tests:
        for t in threads:
            lb, lm, ls, ln, lx = summarize(samples[("Loom", t, test)])
            cb, cm, cs, cn, cx = summarize(samples[("llama.cpp", t, test)])
            summary[(test, t)] = (lb, lm, ls, cb, cm, cs)
            L.append(f"| {test} | {t} | {lb:.1f} | {lm:.1f} ± {ls:.1f}{excl(lx)} | {cb:.1f} | {cm:.1f} ± {cs:.1f}{excl(cx)} | "
                     f"**{lb / cb:.2f}×** | {lm / cm:.2f}× |")
            excluded += lx + cx
    if excluded:
        L.append("")
        L.append(f"(n=…): {excluded} run(s) stayed disturbed by other processes after {args.retries} retries and are "
                 "left out of that cell.")
    if len(threads) > 1:
        L.append("")
        t0 = threads[0]
        L.append("| test | " + " | ".join(f"Loom {t0}→{t}" for t in threads[1:]) + " | "
                 + " | ".join(f"llama.cpp {t0}→{t}" for t in threads[1:]) + " |")
        L.append("|---|" + "---|" * (2 * (len(threads) - 1)))
        for test, _ in tests:
            lo = [summary[(test, t)][0] / summary[(test, t0)][0] for t in threads[1:]]
            ll = [summary[(test, t)][3] / summary[(test, t0)][3] for t in threads[1:]]
            L.append(f"| {test} (best) | " + " | ".join(f"{x:.2f}×" for x in lo) + " | "
                     + " | ".join(f"{x:.2f}×" for x in ll) + " |")
    L.append("")
    L.append("| engine | threads | model load ms (mean) | peak RSS MiB (max of runs) |")
    L.append("|---|---|---|---|")
    for name, _ in engines:
        for t in threads:
            L.append(f"| {name} | {t} | {statistics.fmean(loads[(name, t)]):.0f} | {max(rss[(name, t)]) / 1048576:.0f} |")
    base = extra.get("rss_before_load_bytes")
    L.append("")
    L.append("Peak RSS is the whole process's (wait4): for llama.cpp it includes the Python interpreter and "
             f"llama_cpp/numpy imports, {base / 1048576:.0f} MiB before the model is loaded." if base else
             "Peak RSS is the whole process's (wait4).")
    L.append("")
    L.append(f"- Loom {machine['loom']}; {machine['swift']}")
    L.append(f"- llama.cpp: {extra.get('version')}, built by benchmarks/llamacpp-venv.sh; {extra.get('system_info')}")
    L.append(f"- CPU flags: {' '.join(machine['isa'])}; cpu MHz {machine['mhz']}; Linux {machine['kernel']}")
    if cpu_busy_seconds() is not None:
        L.append(f"- Load: loadavg {' '.join(machine['loadavg_start'] or [])} at the start; during the kept runs "
                 f"({kept_wall:.0f} s) other processes used {kept_stolen:.1f} CPU-seconds "
                 f"({100 * kept_stolen / max(kept_wall, 1e-9):.1f}% of one core)"
                 + (" — the machine was not quiet, treat the numbers with care." if kept_stolen > args.quiet * kept_wall else ".")
                 + (f" {disturbed} run(s) found disturbed and re-run after waiting for a quiet CPU." if disturbed else "")
                 + f" The comparison took {wall / 60:.1f} min.")
    gemm_raw = None
    if not args.no_gemm:
        log("GEMM micro-benchmark")
        wait_quiet(args.wait, args.quiet)
        L.append("")
        L.append("#### GEMM micro-benchmark (f32)")
        L.append("")
        g, gemm_raw = gemm_section(args, threads)
        L.extend(g)
    report = "\n".join(L) + "\n"
    print(report)

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": machine, "runs": raw, "gemm": gemm_raw}, f, indent=1, default=str)
    if args.write:
        write_section(os.path.join(ROOT, "BENCHMARKS.md"), report)
        log("updated BENCHMARKS.md")


def write_section(path, report):
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    block = f"{BEGIN}\n{report}{END}"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
