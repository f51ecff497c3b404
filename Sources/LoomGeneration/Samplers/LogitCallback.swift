/// A user-supplied processor: the closure gets the logits (to change in place) and the context.
/// Use it for logit bias, banned words or anything HF's `logits_processor=` list would hold.
public final class LogitCallbackProcessor: LogitProcessor {
    public typealias Body = (UnsafeMutableBufferPointer<Float>, LogitContext) -> Void
    private let body: Body

    public init(_ body: @escaping Body) { self.body = body }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitContext) {
        body(logits, context)
    }
}
