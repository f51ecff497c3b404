import LoomCore
import LoomFormats

/// An HF model folder: config.json, tokenizer.json and safetensors weights (one file or shards listed in
/// model.safetensors.index.json).
/// A class, so that `Model.Source` is an enum of two references (no partly initialised payload).
public final class HFFolder: Sendable {
    public let path: String
    public let config: HFConfig?
    public let weightFiles: [SafetensorsFile]

    public init(path: String, loadWeights: Bool) throws {
        self.path = path
        let configPath = path + "/config.json"
        config = fileExists(configPath) ? try HFConfig(path: configPath) : nil
        guard loadWeights else {
            weightFiles = []
            return
        }
        guard config != nil else { throw LoomError.io("'\(path)' has no config.json") }
        let single = path + "/model.safetensors"
        let index = path + "/model.safetensors.index.json"
        if fileExists(single) {
            weightFiles = [try SafetensorsFile(path: single)]
        } else if fileExists(index) {
            let json = try JSONParser.parse(try readWholeFile(index, limit: 64 << 20))
            guard let map = json["weight_map"]?.object else {
                throw LoomError.format("'\(index)' has no weight_map object")
            }
            var names: [String] = []
            for k in map.keys {
                guard let f = map[k]?.string, !f.contains("/"), !names.contains(f) else { continue }
                names.append(f)
            }
            weightFiles = try names.map { try SafetensorsFile(path: path + "/" + $0) }
        } else {
            throw LoomError.io("'\(path)' has neither model.safetensors nor model.safetensors.index.json")
        }
    }

    /// Finds a tensor by name across the shards.
    public func tensor(named name: String) -> (SafetensorsFile, SafetensorsTensorInfo)? {
        for f in weightFiles { if let t = f.tensor(named: name) { return (f, t) } }
        return nil
    }
}
