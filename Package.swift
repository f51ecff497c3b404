// swift-tools-version:6.0
// Loom: one SwiftPM target per layer; dependencies point one way:
// Core <- Kernels <- Formats <- Tokenizers <- Models <- (Generation, Adapters, Evaluation) <- C ABI <- CLI.
import PackageDescription

// Kernels are hot loops: unchecked arithmetic pays there in release builds (see notes).
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
// The inner kernels, built once per x86 instruction-set level from the same sources
// (Sources/LoomKernels/ISA, symlinked) and chosen at run time from CPUID (LoomCore/CPUFeatures).
// Optimised in debug builds too, so that tests of large shapes stay fast. Elsewhere they are plain Swift.
#if arch(x86_64)
let avx2Flags: [SwiftSetting] = [.define("LOOM_AVX2"), .unsafeFlags(["-target-cpu", "haswell", "-Ounchecked"])]
let avx512Flags: [SwiftSetting] = [.define("LOOM_AVX512"), .unsafeFlags(["-target-cpu", "skylake-avx512", "-Ounchecked"])]
#else
let avx2Flags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]
#endif

let package = Package(
    name: "Loom",
    products: [
        // The only dynamic product: libloom.so with the C ABI of include/loom.h.
        .library(name: "loom", type: .dynamic, targets: ["LoomC"]),
        // SwiftPM cannot name two products "loom"; installed as the `loom` command.
        .executable(name: "loom-cli", targets: ["LoomCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CLoomSupport"),
        .target(name: "LoomCore", dependencies: ["CLoomSupport"]),
        .target(name: "LoomKernelsAVX2", dependencies: ["CLoomSupport"], swiftSettings: avx2Flags),
        .target(name: "LoomKernelsAVX512", dependencies: ["CLoomSupport"], swiftSettings: avx512Flags),
        .target(name: "LoomKernels", dependencies: ["LoomCore", "CLoomSupport", "LoomKernelsAVX2", "LoomKernelsAVX512"],
                swiftSettings: kernelFlags),
        // `swift run -c release LoomKernelBench`: kernel micro-benchmarks (SGEMM, SmolLM2-shaped GEMV/GEMM).
        .executableTarget(name: "LoomKernelBench", dependencies: ["LoomKernels", "LoomCore"]),
        .target(name: "LoomFormats", dependencies: ["LoomCore", "LoomKernels"]),
        .target(name: "LoomTokenizers", dependencies: ["LoomCore", "LoomFormats"]),
        .target(name: "LoomModels", dependencies: ["LoomCore", "LoomKernels", "LoomFormats", "LoomTokenizers"]),
        // The Jinja language (lexer, parser, evaluator) that chat templates are written in.
        .target(name: "LoomJinja", dependencies: ["LoomCore"]),
        .target(name: "LoomGeneration", dependencies: ["LoomCore", "LoomKernels", "LoomTokenizers", "LoomModels", "LoomJinja"]),
        // Evaluation: perplexity, log-likelihood scoring and multiple choice, BLEU and classification metrics.
        .target(name: "LoomEvaluation", dependencies: ["LoomCore", "LoomModels", "LoomTokenizers"]),
        .target(
            name: "LoomC",
            dependencies: ["LoomCore", "LoomFormats", "LoomTokenizers", "LoomModels", "LoomGeneration", "LoomEvaluation", "CLoomSupport"],
            exclude: ["exports.map"],
            linkerSettings: [
                // A self-contained .so: the Swift runtime is linked in statically, and only the
                // loom_* C symbols are exported (Sources/LoomC/exports.map).
                .unsafeFlags(["-static-stdlib", "-Xlinker", "-soname=libloom.so.0",
                              "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/LoomC/exports.map"]),
            ]
        ),
        .executableTarget(
            name: "LoomCLI",
            dependencies: ["LoomGeneration", "LoomEvaluation", "LoomModels", "LoomTokenizers", "LoomFormats", "LoomKernels", "LoomCore",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "LoomKernelsTests", dependencies: ["LoomKernels", "LoomCore"]),
        // Paths of fixtures and cached test data, shared by the test targets.
        .target(name: "LoomTestSupport", path: "Tests/LoomTestSupport"),
        .testTarget(name: "LoomFormatsTests", dependencies: ["LoomTestSupport", "LoomFormats", "LoomKernels", "LoomCore"]),
        .testTarget(name: "LoomTokenizersTests", dependencies: ["LoomTokenizers", "LoomFormats", "LoomCore"]),
        .testTarget(name: "LoomModelsTests", dependencies: ["LoomTestSupport", "LoomModels", "LoomKernels", "LoomFormats", "LoomCore"]),
        .testTarget(name: "LoomJinjaTests", dependencies: ["LoomJinja", "LoomCore"]),
        .testTarget(name: "LoomGenerationTests", dependencies: ["LoomTestSupport", "LoomGeneration", "LoomModels", "LoomFormats", "LoomCore"]),
        .testTarget(name: "LoomEvaluationTests", dependencies: ["LoomTestSupport", "LoomEvaluation", "LoomModels", "LoomTokenizers", "LoomFormats", "LoomCore"]),
    ],
    swiftLanguageModes: [.v5]
)
