import CLoomSupport
import LoomCore
import LoomFormats
import LoomModels

// Quantize and convert: loom_model_quantize, loom_model_convert (include/loom.h, "quantize and convert").

@_cdecl("loom_quantize_default_params")
public func loom_quantize_default_params() -> loom_quantize_params {
    loom_quantize_params(size: UInt32(MemoryLayout<loom_quantize_params>.size), ftype: 7, nthread: 0,
                         allow_requantize: false, quantize_output: true,
                         progress_callback: nil, progress_user_data: nil)
}

/// A caller's progress callback for one quantize/convert call, as a (done, total) -> continue closure.
private struct WriteProgress: @unchecked Sendable {
    let callback: loom_progress_callback
    let userData: UnsafeMutableRawPointer?
    func callAsFunction(_ done: Int, _ total: Int) -> Bool {
        callback(userData, total > 0 ? Float(done) / Float(total) : 1)
    }
}

@_cdecl("loom_model_quantize")
public func loom_model_quantize(_ inPath: UnsafePointer<CChar>?, _ outPath: UnsafePointer<CChar>?,
                                _ params: UnsafePointer<loom_quantize_params>?) -> loom_status {
    guarded("loom_model_quantize") {
        let input = try requireString(inPath, "in_path")
        let output = try requireString(outPath, "out_path")
        let p = try readParams(params, defaults: loom_quantize_default_params(), what: "params")
        guard p.ftype >= 0, let type = QuantizeFileType(llamaFileType: UInt32(p.ftype)) else {
            throw LoomError.invalidArgument("params.ftype \(p.ftype) is not a LOOM_FTYPE_* value")
        }
        var options = QuantizeOptions(type: type)
        options.threads = Int(p.nthread)
        options.allowRequantize = p.allow_requantize
        options.quantizeOutput = p.quantize_output
        if let cb = p.progress_callback {
            let progress = WriteProgress(callback: cb, userData: p.progress_user_data)
            options.progress = { progress($0, $1) }
        }
        try quantizeModel(input: input, output: output, options: options)
        return LOOM_OK
    }
}

@_cdecl("loom_convert_default_params")
public func loom_convert_default_params() -> loom_convert_params {
    loom_convert_params(size: UInt32(MemoryLayout<loom_convert_params>.size), ftype: 1)
}

@_cdecl("loom_model_convert")
public func loom_model_convert(_ hfDir: UnsafePointer<CChar>?, _ outPath: UnsafePointer<CChar>?,
                               _ params: UnsafePointer<loom_convert_params>?) -> loom_status {
    guarded("loom_model_convert") {
        let folder = try requireString(hfDir, "hf_dir")
        let output = try requireString(outPath, "out_path")
        let p = try readParams(params, defaults: loom_convert_default_params(), what: "params")
        let type: ConvertType
        switch p.ftype {
        case 0: type = .f32
        case 1: type = .f16
        case 32: type = .bf16
        case 7: type = .q8_0
        default: throw LoomError.invalidArgument("params.ftype \(p.ftype) is not LOOM_FTYPE_F32, _F16, _BF16 or _Q8_0")
        }
        try convertHF(folder: folder, output: output, type: type)
        return LOOM_OK
    }
}
