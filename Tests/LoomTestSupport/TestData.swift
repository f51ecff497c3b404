import XCTest
import Foundation

/// Paths of test data shared by the test targets: committed fixtures (Tests/Fixtures), large data
/// in the cache folder.
public enum TestData {
    public static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    public static var cache: String {
        ProcessInfo.processInfo.environment["LOOM_CACHE"] ?? (NSHomeDirectory() + "/.cache/loom")
    }

    public static var smollm2: String { cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }

    /// Skips when cached data is missing, unless LOOM_REQUIRE_TEST_DATA=1 (then it fails).
    public static func require(_ path: String) throws -> String {
        if FileManager.default.fileExists(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["LOOM_REQUIRE_TEST_DATA"] == "1" {
            XCTFail("\(path) is missing: run scripts/fetch-model.sh / scripts/fetch-test-data.sh")
        }
        throw XCTSkip("\(path) is missing: run scripts/fetch-model.sh / scripts/fetch-test-data.sh")
    }
}
