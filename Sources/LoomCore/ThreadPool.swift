import CLoomSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent pool of `threadCount - 1` worker threads plus the calling thread.
///
/// `run` hands one closure to every thread and returns when all are done. Workers spin briefly
/// waiting for the next job (a parallel region costs well under a microsecond when they are
/// awake) and then park on a condition variable, so an idle pool burns no CPU and an
/// oversubscribed machine does not collapse. One pool serves one caller at a time (a context owns
/// its pool); `run` must not be called concurrently or re-entrantly.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    private let shared = PoolShared()
    private var threads: [pthread_t] = []

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        for index in 1..<self.threadCount {
            let start = Unmanaged.passRetained(WorkerStart(shared: shared, index: index))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { raw in
                guard let raw else { return nil }
                let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
                start.shared.workerLoop(index: start.index)
                return nil
            }, start.toOpaque())
            if rc == 0 { threads.append(tid) } else { start.release() }
        }
    }

    deinit {
        shared.stop()
        for t in threads { pthread_join(t, nil) }
    }

    /// Threads that actually run jobs (fewer than requested if thread creation failed).
    public var activeThreads: Int { threads.count + 1 }

    /// Runs `body(threadIndex)` on every thread (index 0 is the caller) and waits for all.
    public func run(_ body: (Int) -> Void) {
        let n = activeThreads
        if n == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            shared.run(escaping, workers: n - 1)
        }
    }

    /// Splits `0..<count` into one contiguous chunk per thread.
    public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        let n = activeThreads
        if n == 1 || count <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        run { t in
            let lo = count * t / n
            let hi = count * (t + 1) / n
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// The state workers share with their pool. Workers hold this, not the pool, so dropping the last
/// reference to a pool stops and joins its threads.
private final class PoolShared: @unchecked Sendable {
    /// Bumped once per job (and once to stop); workers start having seen 0.
    let generation = Atomic<Int>(0)
    let pending = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let sleepers = Atomic<Int>(0)
    var job: ((Int) -> Void)?
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let wake: UnsafeMutablePointer<pthread_cond_t>

    /// Spin iterations (each a `pause`, tens of cycles) before a worker parks.
    static let spinBudget = 20_000

    init() {
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
    }

    func run(_ body: @escaping (Int) -> Void, workers: Int) {
        job = body
        pending.store(workers, ordering: .sequentiallyConsistent)
        publish()
        body(0)
        while pending.load(ordering: .acquiring) > 0 { loomi_cpu_pause() }
        job = nil
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        publish()
    }

    /// Starts a new generation. Publish first, then look for sleepers (both sequentially consistent):
    /// a worker that registers as a sleeper after this load re-reads the generation under the mutex.
    private func publish() {
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                if spins < Self.spinBudget {
                    loomi_cpu_pause()
                    spins += 1
                    current = generation.load(ordering: .acquiring)
                } else {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    current = generation.load(ordering: .sequentiallyConsistent)
                    while current == seen {
                        pthread_cond_wait(wake, mutex)
                        current = generation.load(ordering: .sequentiallyConsistent)
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                }
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            job?(index)
            pending.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}

private final class WorkerStart {
    let shared: PoolShared
    let index: Int
    init(shared: PoolShared, index: Int) {
        self.shared = shared
        self.index = index
    }
}
