"""llama.cpp side of benchmarks/compare_llamacpp.py — runs INSIDE the llama.cpp venv
(benchmarks/llamacpp-venv.sh), never in CI and never as a dependency of Loom.

Mirrors `loom bench` / llama-bench: synthetic random ids, no sampling;
  pp<P> = one prompt of P tokens decoded in batches of n_batch from an empty cache (logits of the last token);
  tg<N> = N single-token decodes from an empty cache (logits of each token).
A warm-up like llama-bench's (one full prompt run, one generated token) precedes the repetitions, and the
memory (KV cache) is cleared before each repetition with llama_memory_clear(llama_get_memory(ctx), false),
as llama-bench does. The KV cache is f16 (llama-bench's default type_k = type_v = f16), flash attention
is llama-bench's default (auto). Only the low-level API is used (llama_decode on a llama_batch), so the
Python overhead is a few microseconds per call.

Prints one JSON object per line with the same keys as `loom-cli bench --json` (n_prompt, n_gen, threads,
avg_ts, stddev_ts, samples_ts, load_ms, peak_rss_bytes) plus engine/version details.
"""

import argparse
import ctypes
import json
import os
import random
import resource
import sys
import time


def rss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("-r", "--repetitions", type=int, default=5)
    ap.add_argument("-b", "--batch-size", type=int, default=512)
    ap.add_argument("-ub", "--ubatch-size", type=int, default=512)
    ap.add_argument("--kv-type", choices=["f16", "f32"], default="f16")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    p, n, t, b = args.n_prompt, args.n_gen, args.threads, args.batch_size
    if args.repetitions < 1 or p < 0 or n < 0 or t < 1 or b < 1:
        ap.error("need -r >= 1, -p >= 0, -n >= 0, -t >= 1, -b >= 1")
    rng = random.Random(args.seed)

    rss_before_import = rss_bytes()
    import llama_cpp as L
    import llama_cpp._logger as LL

    LL.set_verbose(False)  # llama.cpp's load-time log goes nowhere
    L.llama_backend_init()
    rss_before_load = rss_bytes()

    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    load_start = time.perf_counter()
    model = L.llama_model_load_from_file(args.model.encode(), mp)
    load_ms = (time.perf_counter() - load_start) * 1000
    if not model:
        sys.exit(f"llama.cpp could not load {args.model}")

    cp = L.llama_context_default_params()
    cp.n_ctx = max(p + n, 16)  # Loom's bench uses the same context length
    cp.n_batch = b
    cp.n_ubatch = min(args.ubatch_size, b)
    cp.n_threads = t
    cp.n_threads_batch = t
    kv = L.GGML_TYPE_F16 if args.kv_type == "f16" else L.GGML_TYPE_F32
    cp.type_k = kv
    cp.type_v = kv
    cp.no_perf = True
    ctx = L.llama_init_from_model(model, cp)
    if not ctx:
        sys.exit("llama.cpp could not create a context")
    L.llama_set_n_threads(ctx, t, t)
    mem = L.llama_get_memory(ctx)
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)

    batch = L.llama_batch_init(b, 0, 1)
    for i in range(b):
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = 0
        batch.logits[i] = 0
    token, pos, logits = batch.token, batch.pos, batch.logits

    def synthetic(count):
        return [rng.randrange(n_vocab) for _ in range(count)]

    def decode_prompt(ids):
        """ids from position 0 in batches of n_batch, logits for the last token only."""
        done = 0
        while done < len(ids):
            k = min(len(ids) - done, b)
            for i in range(k):
                token[i] = ids[done + i]
                pos[i] = done + i
                logits[i] = 0
            logits[k - 1] = 1
            batch.n_tokens = k
            rc = L.llama_decode(ctx, batch)
            if rc != 0:
                sys.exit(f"llama_decode failed (prompt): {rc}")
            done += k
        L.llama_synchronize(ctx)

    def decode_gen(first, count, next_ids):
        tok = first
        logits[0] = 1
        batch.n_tokens = 1
        for i in range(count):
            token[0] = tok
            pos[0] = i
            rc = L.llama_decode(ctx, batch)
            if rc != 0:
                sys.exit(f"llama_decode failed (generation): {rc}")
            L.llama_synchronize(ctx)
            tok = next_ids[i]

    def clear():
        L.llama_memory_clear(mem, False)

    # Warm-up, as llama-bench: one full prompt run and one generated token.
    clear()
    if p > 0:
        decode_prompt(synthetic(p))
    if n > 0:
        clear()
        decode_gen(synthetic(1)[0], 1, synthetic(1))

    try:
        ggml_base = ctypes.CDLL(os.path.join(os.path.dirname(L.__file__), "lib", "libggml-base.so"))
        ggml_base.ggml_version.restype = ctypes.c_char_p
        ggml_base.ggml_commit.restype = ctypes.c_char_p
        ggml = f"{ggml_base.ggml_version().decode()} ({ggml_base.ggml_commit().decode()})"
    except (OSError, AttributeError):
        ggml = "unknown"
    desc = ctypes.create_string_buffer(256)
    L.llama_model_desc(model, desc, len(desc))
    info = {
        "engine": "llama.cpp",
        "version": f"llama-cpp-python {L.__version__}, ggml {ggml}",
        "system_info": L.llama_print_system_info().decode().strip(),
        "model": desc.value.decode(errors="replace"),
        "kv_type": args.kv_type,
        "n_ubatch": cp.n_ubatch,
        "rss_before_import_bytes": rss_before_import,
        "rss_before_load_bytes": rss_before_load,
    }

    def report(name, n_prompt, n_gen, rates):
        mean = sum(rates) / len(rates)
        sd = (sum((r - mean) ** 2 for r in rates) / (len(rates) - 1)) ** 0.5 if len(rates) > 1 else 0.0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({**info, "test": name, "n_prompt": n_prompt, "n_gen": n_gen, "threads": t,
                          "n_batch": b, "avg_ts": mean, "stddev_ts": sd, "samples_ts": rates,
                          "load_ms": load_ms, "peak_rss_bytes": peak}), flush=True)

    if p > 0:
        rates = []
        for _ in range(args.repetitions):
            clear()
            ids = synthetic(p)
            start = time.perf_counter()
            decode_prompt(ids)
            rates.append(p / (time.perf_counter() - start))
        report(f"pp{p}", p, 0, rates)
    if n > 0:
        rates = []
        for _ in range(args.repetitions):
            clear()
            ids = synthetic(n + 1)
            start = time.perf_counter()
            decode_gen(ids[0], n, ids[1:])
            rates.append(n / (time.perf_counter() - start))
        report(f"tg{n}", 0, n, rates)

    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
