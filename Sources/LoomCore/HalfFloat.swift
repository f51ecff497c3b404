/// IEEE half and bfloat16 conversions, independent of the platform's Float16 support.
@inlinable
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        // zero or subnormal: mant * 2^-24
        let v = Float(mant) * (1.0 / 16_777_216.0)
        return sign != 0 ? -v : v
    }
    if exp == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

@inlinable
public func bf16ToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Round-to-nearest-even float -> half (used by writers and tests).
@inlinable
public func floatToHalf(_ f: Float) -> UInt16 {
    UInt16(truncatingIfNeeded: Float16(f).bitPattern)
}

/// Round-to-nearest-even float -> bfloat16 (NaN stays a quiet NaN), as PyTorch and gguf-py round.
@inlinable
public func floatToBF16(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
    let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
}
