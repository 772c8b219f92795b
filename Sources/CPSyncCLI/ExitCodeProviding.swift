/// An error that knows which exit code it maps to.
public protocol ExitCodeProviding: Error, CustomStringConvertible {
    var exitCode: ExitCode { get }
}
