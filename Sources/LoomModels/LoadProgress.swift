#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoomCore

/// Reports a model load's progress to a caller's callback and turns its "stop" into `LoomError.aborted`.
///
/// Progress is the share of the model's tensor bytes the architecture's loader has reached: every
/// tensor is counted once, when the loader first looks it up (`WeightSource.optional`) or materialises
/// it (`WeightTensor.matrix` / `floats`), before its conversion. The values passed to the callback
/// rise strictly from 0 (after the file is parsed and the tokenizer built) to exactly 1 (the model is
/// complete). The load in progress on a thread is found through a thread-local, so the architectures'
/// loaders need no parameter for it; loading happens on the caller's thread.
final class LoadProgress {
    private let callback: (Float) -> Bool
    private var totalBytes = 0
    private var doneBytes = 0
    private var seen = Set<UnsafeRawPointer>()
    private var last: Float = -1
    private(set) var calls = 0

    init(callback: @escaping (Float) -> Bool) { self.callback = callback }

    /// Calls the callback with `value` (clamped to [0, 1]) unless it would not rise; throws `aborted`
    /// when the callback asks to stop.
    func report(_ value: Float) throws {
        let v = min(max(value.isFinite ? value : 0, 0), 1)
        guard v > last else { return }
        last = v
        calls += 1
        if !callback(v) {
            Log.info("model load cancelled by the progress callback at \(Int(v * 100))%")
            throw LoomError(.aborted, "loading cancelled by the progress callback at \(Int(v * 100))%")
        }
    }

    /// The tensors' bytes are known: reports 0.
    func start(totalBytes: Int) throws {
        self.totalBytes = max(totalBytes, 0)
        try report(0)
    }

    /// The loader reached the tensor at `data` (`bytes` long): reports the share done before it.
    func reached(_ data: UnsafeRawPointer, bytes: Int) throws {
        guard seen.insert(data).inserted else { return }
        if totalBytes > 0 {
            // Never 1 before the model is complete (the last tensor is still to be converted).
            try report(min(Float(Double(doneBytes) / Double(totalBytes)), 0.999))
        }
        doneBytes += max(bytes, 0)
    }

    // MARK: the thread's load in progress

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// The load in progress on the calling thread, if it reports progress.
    static var current: LoadProgress? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<LoadProgress>.fromOpaque(p).takeUnretainedValue()
    }

    /// Runs `body` with `progress` as the calling thread's load in progress (restores the previous one).
    static func with<T>(_ progress: LoadProgress?, _ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, progress.map { UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) })
        defer { pthread_setspecific(key, previous) }
        return try withExtendedLifetime(progress) { try body() }
    }
}
