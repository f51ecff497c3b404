import ArgumentParser
import LoomCore
import LoomKernels
import LoomModels

#if canImport(Glibc)
import Glibc
#endif

/// llama-bench semantics: synthetic ids, no sampling; pp = one prompt of -p tokens decoded in
/// batches of n_batch from an empty cache; tg = -n tokens decoded one at a time from an empty cache.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure prompt processing and generation speed (llama-bench semantics).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.short, .customLong("n-prompt")], help: "Prompt tokens (0 = skip pp).")
    var p: Int = 512

    @Option(name: [.short, .customLong("n-gen")], help: "Generated tokens (0 = skip tg).")
    var n: Int = 128

    @Option(name: [.short, .customLong("threads")], help: "Threads.")
    var t: Int = ContextParams.defaultThreads

    @Option(name: [.short, .customLong("repetitions")], help: "Repetitions of each test.")
    var r: Int = 5

    @Option(name: [.short, .customLong("batch-size")], help: "n_batch.")
    var b: Int = 512

    @Option(name: .customLong("kv-type"), help: "KV cache elements: f32 (exact) or f16.")
    var kvType: String = "f32"

    @Flag(help: "One JSON object per line.")
    var json = false

    @Flag(help: "Kernel micro-benchmarks instead (f32 GEMM 512³/1024³, SmolLM2-shaped GEMV/GEMM) at 1 and 2 threads.")
    var kernels = false

    func run() throws {
        if kernels {
            for r in runKernelBenchmarks(threads: [1, 2]) {
                if json {
                    print("{\"test\": \"\(r.name)\", \"threads\": \(r.threads), \"value\": \(r.value), \"unit\": \"\(r.unit)\"}")
                } else {
                    print("\(r.name.padding(16)) threads \(r.threads): \(format1(r.value)) \(r.unit)")
                }
            }
            return
        }
        guard r >= 1, p >= 0, n >= 0, t >= 1 else { throw ValidationError("need -r >= 1, -p >= 0, -n >= 0, -t >= 1") }
        let loadStart = monotonicSeconds()
        let model = try modelOptions.load(vocabOnly: false)
        let loadSeconds = monotonicSeconds() - loadStart
        guard kvType == "f32" || kvType == "f16" else { throw ValidationError("--kv-type is f32 or f16") }
        let ctx = try Context(model: model, params: ContextParams(contextLength: max(p + n, 16), batchSize: b, threads: t,
                                                                   kvType: kvType == "f16" ? .f16 : .f32))
        var rng = SystemRandomNumberGenerator()
        let vocab = ctx.vocabSize
        func synthetic(_ count: Int) -> [Int32] { (0..<count).map { _ in Int32.random(in: 0..<Int32(vocab), using: &rng) } }

        // Warm-up: touches the weights and the thread pool once.
        ctx.clear()
        try ctx.decode(synthetic(min(max(p, 1), 32)), logits: .last)

        let modelName = model.metadataValue("general.name") ?? model.path
        let sizeMiB = Double(fileSize(model.path)) / 1_048_576
        if !json {
            print("model: \(modelName) (\(format1(sizeMiB)) MiB), load \(format1(loadSeconds * 1000)) ms, threads \(t), n_batch \(b), KV cache \(kvType) \(format1(Double(ctx.cache.byteCount) / 1_048_576)) MiB")
            print("| test   | tokens/s mean ± sd | runs |")
            print("|--------|--------------------|------|")
        }
        func report(_ name: String, nPrompt: Int, nGen: Int, rates: [Double]) {
            let mean = rates.reduce(0, +) / Double(rates.count)
            let sd = rates.count > 1 ? (rates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rates.count - 1)).squareRoot() : 0
            if json {
                print("{\"model\": \"\(modelName)\", \"test\": \"\(name)\", \"n_prompt\": \(nPrompt), \"n_gen\": \(nGen), \"threads\": \(t), \"n_batch\": \(b), \"avg_ts\": \(mean), \"stddev_ts\": \(sd), \"samples_ts\": \(rates), \"load_ms\": \(loadSeconds * 1000), \"peak_rss_bytes\": \(peakRSSBytes())}")
            } else {
                print("| \(name.padding(6)) | \(format1(mean).leftPadded(8)) ± \(format1(sd).padding(7)) | \(String(rates.count).leftPadded(4)) |")
            }
        }
        if p > 0 {
            var rates: [Double] = []
            for _ in 0..<r {
                ctx.clear()
                let ids = synthetic(p)
                let start = monotonicSeconds()
                try ctx.decode(ids, logits: .last)
                rates.append(Double(p) / (monotonicSeconds() - start))
            }
            report("pp\(p)", nPrompt: p, nGen: 0, rates: rates)
        }
        if n > 0 {
            var rates: [Double] = []
            for _ in 0..<r {
                ctx.clear()
                var token = synthetic(1)[0]
                let start = monotonicSeconds()
                for _ in 0..<n {
                    try ctx.decode([token], logits: .last)
                    token = Int32.random(in: 0..<Int32(vocab), using: &rng)
                }
                rates.append(Double(n) / (monotonicSeconds() - start))
            }
            report("tg\(n)", nPrompt: 0, nGen: n, rates: rates)
        }
        if !json {
            print("peak RSS \(format1(Double(peakRSSBytes()) / 1_048_576)) MiB")
        }
    }
}

func peakRSSBytes() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Int(u.ru_maxrss) * 1024
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func format1(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return String(r)
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
