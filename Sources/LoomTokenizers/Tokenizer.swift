import LoomCore
import LoomFormats
// placeholder, replaced by the tokenizer implementation
