import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import LoomCore
@testable import LoomModels

/// Load progress (monotone 0 ... 1, cancel -> aborted, nothing left behind) and the log sink.
final class LoadProgressTests: XCTestCase {
    static let fixtures: [String] = [
        "tiny-llama/model.f32.gguf", "tiny-llama/model.q8_0.gguf", "tiny-llama", "tiny-gpt2/model.f32.gguf",
        "tiny-gpt2", "tiny-bert/model.f32.gguf", "tiny-bert", "tiny-t5",
    ].map { TestData.fixtures + "/" + $0 }

    /// Collects values from any thread.
    final class Recorder<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [T] = []
        func add(_ x: T) { lock.lock(); items.append(x); lock.unlock() }
        var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
    }

    func progressValues(_ path: String, vocabOnly: Bool = false) throws -> [Float] {
        let values = Recorder<Float>()
        _ = try Model.load(path: path, params: ModelParams(vocabOnly: vocabOnly, progress: { values.add($0); return true }))
        return values.all
    }

    func testProgressRisesFromZeroToOne() throws {
        for path in Self.fixtures {
            let v = try progressValues(path)
            XCTAssertEqual(v.first, 0, path)
            XCTAssertEqual(v.last, 1, path)
            XCTAssertGreaterThan(v.count, 4, path)
            XCTAssertEqual(v.filter { $0 == 1 }.count, 1, "\(path): 1 only at the end")
            for (a, b) in zip(v, v.dropFirst()) { XCTAssertLessThan(a, b, "\(path): \(v)") }
            XCTAssertTrue(v.allSatisfy { $0 >= 0 && $0 <= 1 }, path)
        }
        XCTAssertEqual(try progressValues(Self.fixtures[0], vocabOnly: true), [0, 1])
    }

    func testCancelAtEveryCallThrowsAborted() throws {
        for path in Self.fixtures {
            let n = try progressValues(path).count
            for k in 0..<n {
                let calls = Recorder<Float>()
                XCTAssertThrowsError(try Model.load(path: path, params: ModelParams(progress: {
                    calls.add($0)
                    return calls.all.count <= k
                })), "\(path): cancel at call \(k)") { error in
                    XCTAssertEqual((error as? LoomError)?.status, .aborted, "\(path) at call \(k): \(error)")
                }
                XCTAssertEqual(calls.all.count, k + 1, "\(path): no call after the cancelling one")
            }
        }
    }

    /// Resident memory (after handing freed heap pages back: glibc keeps a released model's blocks
    /// otherwise, which is not a leak), and mappings of the file, from /proc/self.
    static func residentBytes() -> Int {
        #if canImport(Glibc)
        if let trim = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") {
            _ = unsafeBitCast(trim, to: (@convention(c) (Int) -> Int32).self)(0)
        }
        #endif
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = s.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    static func mappings(of path: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return 0 }
        return s.split(separator: "\n").filter { $0.hasSuffix(path) }.count
    }

    func testCancelledLoadsLeaveNothingBehind() throws {
        let path = try TestData.require(TestData.smollm2)
        let n = try progressValues(path).count
        XCTAssertGreaterThan(n, 100, "SmolLM2 reports per tensor")
        let mapped = Self.mappings(of: path)   // other tests may keep a model of this file
        func loadAndCancel(at k: Int) {
            let calls = Recorder<Float>()
            XCTAssertThrowsError(try Model.load(path: path, params: ModelParams(progress: {
                calls.add($0)
                return calls.all.count <= k
            })))
            XCTAssertEqual(Self.mappings(of: path), mapped, "the file stays mapped after a cancel at call \(k)")
        }
        for k in [0, 1, n / 2, n - 1] { loadAndCancel(at: k) }   // first, early, middle, at 1.0
        let before = Self.residentBytes()
        for i in 0..<30 { loadAndCancel(at: i % 2 == 0 ? n / 2 : n - 2) }
        let grown = Self.residentBytes() - before
        XCTAssertLessThan(grown, 16 << 20, "30 cancelled loads of SmolLM2 grew RSS by \(grown) bytes")
    }

    func testLogSink() throws {
        let messages = Recorder<(LogLevel, String)>()
        defer { Log.setSink(nil, level: .info) }
        Log.setSink({ messages.add(($0, $1)) }, level: .debug)
        let path = Self.fixtures[0]
        _ = try Model.load(path: path)
        let loaded = messages.all.filter { $0.0 == .info && $0.1.hasPrefix("loaded '\(path)'") }
        XCTAssertEqual(loaded.count, 1, "\(messages.all)")
        XCTAssertTrue(loaded.first?.1.contains("architecture llama") ?? false, "\(loaded)")
        XCTAssertTrue(loaded.first?.1.contains("tensors") ?? false, "\(loaded)")
        XCTAssertTrue(messages.all.contains { $0.0 == .debug && $0.1.contains("layers") }, "\(messages.all)")

        // Cancelled: an info message says so.
        XCTAssertThrowsError(try Model.load(path: path, params: ModelParams(progress: { _ in false })))
        XCTAssertTrue(messages.all.contains { $0.0 == .info && $0.1.contains("cancelled") }, "\(messages.all)")

        // The threshold drops less severe messages, without evaluating them.
        Log.setLevel(.warn)
        let count = messages.all.count
        Log.info({ () -> String in XCTFail("an info message was formatted under a warn threshold"); return "" }())
        Log.warn("w")
        XCTAssertEqual(messages.all.count, count + 1)
        XCTAssertTrue(Log.isEnabled(.error))
        XCTAssertFalse(Log.isEnabled(.debug))

        // From many threads at once.
        Log.setLevel(.debug)
        let before = messages.all.count
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<100 { Log.debug("thread \(i) message \(j)") }
        }
        XCTAssertEqual(messages.all.count, before + 800)

        // No sink: nothing is delivered, nothing is formatted.
        Log.setSink(nil)
        XCTAssertFalse(Log.isEnabled(.error))
        Log.error({ () -> String in XCTFail("a message was formatted without a sink"); return "" }())
        _ = try Model.load(path: path)
        XCTAssertEqual(messages.all.count, before + 800)
    }

    func testFormatBytes() {
        XCTAssertEqual(formatBytes(512), "512 B")
        XCTAssertEqual(formatBytes(1536), "1.5 KiB")
        XCTAssertEqual(formatBytes(100 << 20), "100.0 MiB")
    }
}
