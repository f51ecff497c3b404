// swift-tools-version:6.0
// libFuzzer targets for Loom's parsers of untrusted files (see RELIABILITY.md, "Fuzzing").
// Built only by scripts/fuzz.sh (`swift build -c release --sanitize=fuzzer`), never by the main
// package: its own package so that `swift build` / `swift test` at the root are not affected.
//
// Why not a path dependency on the main package: SwiftPM links other packages only through their
// products, and the main package's only library product is libloom.so, which exports the C ABI and
// hides the Swift modules. The fuzz targets call the Swift modules directly (coverage feedback from
// the library's own code), so this package compiles the same sources through symlinks in Sources/
// (Sources/LoomCore -> ../../Sources/LoomCore, ...) with the same per-target settings as the main
// Package.swift. Keep the target graph below in step with it when a module gains a dependency.
import PackageDescription

let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
#if arch(x86_64)
let avx2Flags: [SwiftSetting] = [.define("LOOM_AVX2"), .unsafeFlags(["-target-cpu", "haswell", "-Ounchecked"])]
let avx512Flags: [SwiftSetting] = [.define("LOOM_AVX512"), .unsafeFlags(["-target-cpu", "skylake-avx512", "-Ounchecked"])]
#else
let avx2Flags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]
#endif

/// One executable per fuzz target: Targets/<Name>/<Name>.swift defines LLVMFuzzerTestOneInput.
func fuzzTarget(_ name: String, _ deps: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + deps, path: "Targets/\(name)",
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "LoomFuzz",
    targets: [
        .target(name: "CLoomSupport"),
        .target(name: "LoomCore", dependencies: ["CLoomSupport"]),
        .target(name: "LoomKernelsAVX2", dependencies: ["CLoomSupport"], swiftSettings: avx2Flags),
        .target(name: "LoomKernelsAVX512", dependencies: ["CLoomSupport"], swiftSettings: avx512Flags),
        .target(name: "LoomKernels", dependencies: ["LoomCore", "CLoomSupport", "LoomKernelsAVX2", "LoomKernelsAVX512"],
                swiftSettings: kernelFlags),
        .target(name: "LoomFormats", dependencies: ["LoomCore", "LoomKernels"]),
        .target(name: "LoomTokenizers", dependencies: ["LoomCore", "LoomFormats"]),
        .target(name: "LoomModels", dependencies: ["LoomCore", "LoomKernels", "LoomFormats", "LoomTokenizers"]),
        .target(name: "LoomJinja", dependencies: ["LoomCore"]),
        // Shared by the fuzz targets: scratch files, splitting one input into several files, fixtures.
        .target(name: "FuzzSupport", dependencies: ["LoomCore", "LoomTokenizers", "LoomModels"], path: "Support"),
        fuzzTarget("FuzzGGUF", ["LoomCore", "LoomFormats"]),
        fuzzTarget("FuzzGGUFModel", ["LoomCore", "LoomFormats", "LoomTokenizers", "LoomModels"]),
        fuzzTarget("FuzzHFFolder", ["LoomCore", "LoomFormats", "LoomModels"]),
        fuzzTarget("FuzzTokenizerJSON", ["LoomCore", "LoomTokenizers"]),
        fuzzTarget("FuzzTokenize", ["LoomCore", "LoomFormats", "LoomTokenizers"]),
        fuzzTarget("FuzzAdapter", ["LoomCore", "LoomModels"]),
        fuzzTarget("FuzzJinja", ["LoomCore", "LoomJinja"]),
    ],
    swiftLanguageModes: [.v5]
)
