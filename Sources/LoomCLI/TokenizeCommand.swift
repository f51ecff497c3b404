import ArgumentParser
import LoomCore
import LoomModels

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Tokenize text with a model's tokenizer.")

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print only the ids, space-separated.")
    var ids = false

    @Flag(name: .customLong("no-special"), help: "Do not add BOS/EOS.")
    var noSpecial = false

    @Flag(name: .customLong("parse-special"), help: "Match control tokens such as <|im_start|> in the text.")
    var parseSpecial = false

    @Argument(help: "The text to tokenize.")
    var text: String

    func run() throws {
        let model = try modelOptions.load(vocabOnly: true)
        let tok = try model.tokenizer()
        let tokens = try tok.tokenize(text, addSpecial: !noSpecial, parseSpecial: parseSpecial)
        if ids {
            print(tokens.map(String.init).joined(separator: " "))
            return
        }
        for id in tokens {
            let piece = String(decoding: try tok.tokenToPiece(id, renderSpecial: true), as: UTF8.self)
            let shown = piece.replacingNewlines()
            print("\(String(id).leftPadded(7)) -> '\(shown)'")
        }
        print("\(tokens.count) tokens")
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print a model's metadata.")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let model = try modelOptions.load(vocabOnly: true)
        for (k, v) in model.metadata {
            print("\(k) = \(v.count > 120 ? String(v.prefix(120)) + "…" : v)")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    func replacingNewlines() -> String {
        var out = ""
        for c in unicodeScalars {
            switch c {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
