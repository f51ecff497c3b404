import LoomCore
import LoomKernelsAVX2
import LoomKernelsAVX512

// Run-time selection among the three builds of ISAKernels.swift. Each call processes a whole
// thread's share of a matrix (or one panel), so the switch costs nothing measurable.

func isaGemvQ4_1(_ isa: ISALevel, _ w: UnsafeRawPointer, groups: Int, tiles: Int, x: UnsafePointer<Float>,
                 xsum: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.gemvQ4_1(w, groups: groups, tiles: tiles, x: x, xsum: xsum, y: y)
    case .avx2: LoomKernelsAVX2.gemvQ4_1(w, groups: groups, tiles: tiles, x: x, xsum: xsum, y: y)
    case .scalar: LoomKernels.gemvQ4_1(w, groups: groups, tiles: tiles, x: x, xsum: xsum, y: y)
    }
}

func isaGemvQ4_0(_ isa: ISALevel, _ w: UnsafeRawPointer, groups: Int, tiles: Int, x: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.gemvQ4_0(w, groups: groups, tiles: tiles, x: x, y: y)
    case .avx2: LoomKernelsAVX2.gemvQ4_0(w, groups: groups, tiles: tiles, x: x, y: y)
    case .scalar: LoomKernels.gemvQ4_0(w, groups: groups, tiles: tiles, x: x, y: y)
    }
}

func isaFillQ4_0(_ isa: ISALevel, _ src: UnsafeRawPointer, tiles: Int, out: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.fillQ4_0(src, tiles: tiles, out: out)
    case .avx2: LoomKernelsAVX2.fillQ4_0(src, tiles: tiles, out: out)
    case .scalar: LoomKernels.fillQ4_0(src, tiles: tiles, out: out)
    }
}

func isaGemvQ8_0(_ isa: ISALevel, _ w: UnsafeRawPointer, groups: Int, tiles: Int, x: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.gemvQ8_0(w, groups: groups, tiles: tiles, x: x, y: y)
    case .avx2: LoomKernelsAVX2.gemvQ8_0(w, groups: groups, tiles: tiles, x: x, y: y)
    case .scalar: LoomKernels.gemvQ8_0(w, groups: groups, tiles: tiles, x: x, y: y)
    }
}

func isaGemvF32(_ isa: ISALevel, _ w: UnsafePointer<Float>, groups: Int, cols: Int, x: UnsafePointer<Float>,
                y: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.gemvF32(w, groups: groups, cols: cols, x: x, y: y)
    case .avx2: LoomKernelsAVX2.gemvF32(w, groups: groups, cols: cols, x: x, y: y)
    case .scalar: LoomKernels.gemvF32(w, groups: groups, cols: cols, x: x, y: y)
    }
}

func isaFillQ4_1(_ isa: ISALevel, _ src: UnsafeRawPointer, tiles: Int, out: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.fillQ4_1(src, tiles: tiles, out: out)
    case .avx2: LoomKernelsAVX2.fillQ4_1(src, tiles: tiles, out: out)
    case .scalar: LoomKernels.fillQ4_1(src, tiles: tiles, out: out)
    }
}

func isaFillQ8_0(_ isa: ISALevel, _ src: UnsafeRawPointer, tiles: Int, out: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.fillQ8_0(src, tiles: tiles, out: out)
    case .avx2: LoomKernelsAVX2.fillQ8_0(src, tiles: tiles, out: out)
    case .scalar: LoomKernels.fillQ8_0(src, tiles: tiles, out: out)
    }
}

func isaRowBlock(_ isa: ISALevel) -> Int {
    switch isa {
    case .avx512: return LoomKernelsAVX512.gemmRowBlock
    case .avx2: return LoomKernelsAVX2.gemmRowBlock
    case .scalar: return LoomKernels.gemmRowBlock
    }
}

func isaGemmPanel(_ isa: ISALevel, kc: Int, a: UnsafePointer<Float>, lda: Int, m: Int,
                  b0: UnsafePointer<Float>, b1: UnsafePointer<Float>?,
                  c: UnsafeMutablePointer<Float>, ldc: Int, nc: Int, accumulate: Bool, bias: UnsafePointer<Float>?,
                  next: (first: UnsafeRawPointer?, second: UnsafeRawPointer?, bytes: Int)) {
    switch isa {
    case .avx512:
        LoomKernelsAVX512.gemmPanel(kc: kc, a: a, lda: lda, m: m, b0: b0, b1: b1, c: c, ldc: ldc,
                                    nc: nc, accumulate: accumulate, bias: bias,
                              next: .init(first: next.first, second: next.second, bytes: next.bytes))
    case .avx2:
        LoomKernelsAVX2.gemmPanel(kc: kc, a: a, lda: lda, m: m, b0: b0, b1: b1, c: c, ldc: ldc,
                                  nc: nc, accumulate: accumulate, bias: bias,
                              next: .init(first: next.first, second: next.second, bytes: next.bytes))
    case .scalar:
        LoomKernels.gemmPanel(kc: kc, a: a, lda: lda, m: m, b0: b0, b1: b1, c: c, ldc: ldc,
                              nc: nc, accumulate: accumulate, bias: bias,
                              next: .init(first: next.first, second: next.second, bytes: next.bytes))
    }
}

func isaSwiglu(_ isa: ISALevel, _ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    switch isa {
    case .avx512: LoomKernelsAVX512.swigluKernel(gate, up, n)
    case .avx2: LoomKernelsAVX2.swigluKernel(gate, up, n)
    case .scalar: LoomKernels.swigluKernel(gate, up, n)
    }
}

func isaExpShiftSum(_ isa: ISALevel, _ x: UnsafeMutablePointer<Float>, _ n: Int, _ m: Float) -> Double {
    switch isa {
    case .avx512: return LoomKernelsAVX512.expShiftSum(x, n, m)
    case .avx2: return LoomKernelsAVX2.expShiftSum(x, n, m)
    case .scalar: return LoomKernels.expShiftSum(x, n, m)
    }
}

func isaMaxValue(_ isa: ISALevel, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    switch isa {
    case .avx512: return LoomKernelsAVX512.maxValue(x, n)
    case .avx2: return LoomKernelsAVX2.maxValue(x, n)
    case .scalar: return LoomKernels.maxValue(x, n)
    }
}

func isaSumOfSquares(_ isa: ISALevel, _ x: UnsafePointer<Float>, _ n: Int) -> Double {
    switch isa {
    case .avx512: return LoomKernelsAVX512.sumOfSquares(x, n)
    case .avx2: return LoomKernelsAVX2.sumOfSquares(x, n)
    case .scalar: return LoomKernels.sumOfSquares(x, n)
    }
}

func isaDot(_ isa: ISALevel, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    switch isa {
    case .avx512: return LoomKernelsAVX512.dotF32(a, b, n)
    case .avx2: return LoomKernelsAVX2.dotF32(a, b, n)
    case .scalar: return LoomKernels.dotF32(a, b, n)
    }
}

func isaGemvHalf(_ isa: ISALevel, _ w: UnsafeRawPointer, groups: Int, cols: Int, bf16: Bool, x: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.gemvHalf(w, groups: groups, cols: cols, bf16: bf16, x: x, y: y)
    case .avx2: LoomKernelsAVX2.gemvHalf(w, groups: groups, cols: cols, bf16: bf16, x: x, y: y)
    case .scalar: LoomKernels.gemvHalf(w, groups: groups, cols: cols, bf16: bf16, x: x, y: y)
    }
}

func isaFillHalf(_ isa: ISALevel, _ src: UnsafeRawPointer, count: Int, bf16: Bool, out: UnsafeMutablePointer<Float>) {
    switch isa {
    case .avx512: LoomKernelsAVX512.fillHalf(src, count: count, bf16: bf16, out: out)
    case .avx2: LoomKernelsAVX2.fillHalf(src, count: count, bf16: bf16, out: out)
    case .scalar: LoomKernels.fillHalf(src, count: count, bf16: bf16, out: out)
    }
}
