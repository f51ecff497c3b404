import Foundation
import LoomCore
import XCTest

/// Fixture and cache locations shared by the tokenizer tests.
enum TestData {
    /// Tests/Fixtures/tokenizers (found from this file's path).
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()  // LoomTokenizersTests
        url.deleteLastPathComponent()  // Tests
        return url.appendingPathComponent("Fixtures/tokenizers").path
    }()

    static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// ${LOOM_CACHE:-~/.cache/loom}
    static let cache: String = {
        if let c = ProcessInfo.processInfo.environment["LOOM_CACHE"], !c.isEmpty { return c }
        return NSHomeDirectory() + "/.cache/loom"
    }()

    static var requireData: Bool { ProcessInfo.processInfo.environment["LOOM_REQUIRE_TEST_DATA"] == "1" }

    /// Returns `path` if it exists; otherwise skips the test (or fails it when
    /// LOOM_REQUIRE_TEST_DATA=1).
    static func requireFile(_ path: String, fetch: String) throws -> String {
        if FileManager.default.fileExists(atPath: path) { return path }
        let message = "missing test data \(path) (run \(fetch))"
        if requireData {
            XCTFail(message)
            throw XCTSkip(message)
        }
        print("NOTICE: skipping: \(message)")
        throw XCTSkip(message)
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }
}

extension Array where Element == Int32 {
    init(json: JSONValue?) {
        self = (json?.array ?? []).compactMap { $0.int.map(Int32.init) }
    }
}
