#if canImport(Glibc)
import Glibc
#endif

// Small f32 vector primitives shared by the kernels. Several independent accumulators keep the
// adds pipelined (Swift neither vectorises float reductions nor contracts a*b+c into FMA).

/// Σ a[i]·b[i].
@inlinable
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 32 <= n {
        acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self)
        acc2 += ra.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self)
        acc3 += ra.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self)
        i += 32
    }
    while i + 8 <= n {
        acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    let acc = (acc0 + acc1) + (acc2 + acc3)
    let h = acc.lowHalf + acc.highHalf
    let q = h.lowHalf + h.highHalf
    var sum = q[0] + q[1]
    while i < n {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// y[i] += alpha · x[i].
@inlinable
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let va = SIMD8<Float>(repeating: alpha)
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    while i + 8 <= n {
        let v = ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) + va * rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        ry.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        y[i] += alpha * x[i]
        i += 1
    }
}

/// y[i] += x[i].
@inlinable
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { y[i] += x[i] }
}
