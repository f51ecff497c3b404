// Kernel micro-benchmarks (build in release):
//   swift run -c release LoomKernelBench                       full report (SGEMM, SmolLM2 GEMV and GEMM)
//   swift run -c release LoomKernelBench --threads 1,2 --isa avx2
//   ... --sgemm 512,1024 | --shape tokens,rows,cols | --gemv | --gemm | --small
import LoomCore
import LoomKernels
#if canImport(Glibc)
import Glibc
#endif

var isa = CPUFeatures.selectedISA
var threads = [1, 2]
var jobs: [() -> Void] = []
var args = CommandLine.arguments.dropFirst()

func usage() -> Never {
    print("usage: LoomKernelBench [--isa scalar|avx2|avx512] [--threads 1,2] [--sgemm 512,1024] [--shape tokens,rows,cols] [--gemv] [--gemm] [--small]")
    exit(2)
}
func ints(_ s: String?) -> [Int] { (s ?? "").split(separator: ",").compactMap { Int($0) } }

while let a = args.popFirst() {
    switch a {
    case "--isa":
        guard let v = args.popFirst(), let level = ISALevel(name: v) else { usage() }
        isa = level
    case "--threads":
        threads = ints(args.popFirst())
    case "--sgemm":
        let sizes = ints(args.popFirst())
        jobs.append {
            for s in sizes {
                for t in threads { print("sgemm \(s)³, \(t) thread(s): \(benchmarkSGEMM(size: s, threads: t, isa: isa)) GFLOP/s") }
            }
        }
    case "--shape":
        let v = ints(args.popFirst())
        guard v.count == 3 else { usage() }
        jobs.append {
            for t in threads {
                let g = benchmarkSGEMM(tokens: v[0], rows: v[1], cols: v[2], threads: t, isa: isa)
                print("sgemm tokens \(v[0]) × rows \(v[1]) × cols \(v[2]), \(t) thread(s): \(g) GFLOP/s")
            }
        }
    case "--gemv":
        jobs.append {
            let shapes = try! SmolLM2Shapes()
            for t in threads { print("SmolLM2 GEMV, \(t) thread(s): \(benchmarkSmolLM2GEMV(threads: t, isa: isa, shapes: shapes)) ms/token") }
        }
    case "--gemm":
        jobs.append {
            let shapes = try! SmolLM2Shapes()
            for t in threads { print("SmolLM2 GEMM 512 tokens, \(t) thread(s): \(benchmarkSmolLM2GEMM(tokens: 512, threads: t, isa: isa, shapes: shapes)) ms") }
        }
    case "--small":
        jobs.append {
            let shapes = try! SmolLM2Shapes()
            for n in [1, 2, 3, 4, 6, 8, 16] {
                for t in threads {
                    print("SmolLM2 n=\(n), \(t) thread(s): \(benchmarkSmolLM2GEMM(tokens: n, threads: t, isa: isa, shapes: shapes) / Double(n)) ms/token")
                }
            }
        }
    default:
        usage()
    }
}
if jobs.isEmpty {
    print(kernelBenchmarkReport(threads: threads, isa: isa))
} else {
    print("kernels: \(isa) (CPU: \(CPUFeatures.host))")
    for job in jobs { job() }
}
