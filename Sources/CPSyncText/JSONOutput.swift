/// `--json` output of the command-line tools, one style for every command (README § JSON output): keys in
/// snake_case, every member present (`null` when it has no value, never left out), sorted keys, pretty-printed;
/// and errors, when `--json` was given, as one object on standard error:
/// `{"error":{"code":"data_error","message":"…","exit":65}}` (a server's refusal keeps the server's code and adds
/// `"status"`, its HTTP status).
public enum JSONOutput {
    /// Encodes `value` in the tools' JSON style. Unlike JSONEncoder, an optional without a value is written as
    /// `null`: a script sees every field of a record whether or not it is filled in.
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let root = Node()
        try value.encode(to: TreeEncoder(node: root, codingPath: []))
        var out = ""
        root.render(into: &out, indent: 0)
        return out
    }

    /// The JSON object an error is printed as under `--json`.
    public static func error(code: String, message: String, exit: Int32, status: Int? = nil) -> String {
        var out = "{\"error\":{\"code\":"
        escape(code, into: &out)
        out += ",\"message\":"
        escape(message, into: &out)
        out += ",\"exit\":\(exit)"
        if let status { out += ",\"status\":\(status)" }
        return out + "}}"
    }

    /// The error code of an exit code, for errors that did not come from the server.
    public static func code(forExit exit: Int32) -> String {
        switch exit {
        case ExitCode.usage.rawValue: "usage_error"
        case ExitCode.dataError.rawValue: "data_error"
        case ExitCode.unavailable.rawValue: "unavailable"
        case ExitCode.refused.rawValue: "refused"
        case ExitCode.ioError.rawValue: "io_error"
        default: "failure"
        }
    }

    /// Rewrites every object key of a JSON text from camelCase to snake_case, leaving values (strings, numbers
    /// exactly as written) alone: the protocol's wire messages, shown in the tools' style.
    public static func snakeCasedKeys(_ json: String) -> String {
        var out = String.UnicodeScalarView()
        let s = Array(json.unicodeScalars)
        var i = 0
        while i < s.count {
            let c = s[i]
            guard c == "\"" else { out.append(c); i += 1; continue }
            // A string token: find its end, then whether a ':' follows (a key).
            var j = i + 1
            while j < s.count && s[j] != "\"" { j += s[j] == "\\" ? 2 : 1 }
            let token = s[i...min(j, s.count - 1)]
            var k = j + 1
            while k < s.count && (s[k] == " " || s[k] == "\n" || s[k] == "\t" || s[k] == "\r") { k += 1 }
            if k < s.count && s[k] == ":" {
                out.append("\"")
                out.append(contentsOf: snakeCase(String(String.UnicodeScalarView(token.dropFirst().dropLast()))).unicodeScalars)
                out.append("\"")
            } else {
                out.append(contentsOf: token)
            }
            i = j + 1
        }
        return String(out)
    }

    /// `alreadyKnown` → `already_known`: the tools' keys, from Swift's and the wire's camelCase names.
    public static func snakeCase(_ key: String) -> String {
        var out = String.UnicodeScalarView()
        for (n, u) in key.unicodeScalars.enumerated() {
            if u.properties.isUppercase && u.isASCII {
                if n > 0 { out.append("_") }
                out.append(contentsOf: String(u).lowercased().unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// A JSON string literal of `s`, or `null`.
    public static func quoted(_ s: String?) -> String {
        guard let s else { return "null" }
        var out = ""
        escape(s, into: &out)
        return out
    }

    static func escape(_ s: String, into out: inout String) { out += JSONString.quoted(s) }
}

/// One value of the tree the encoder builds; containers write into it by reference.
final class Node {
    enum Shape { case unset, scalar(String), array, object }
    var shape: Shape = .unset
    var items: [Node] = []
    var members: [String: Node] = [:]

    func render(into out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1), close = String(repeating: "  ", count: indent)
        switch shape {
        case .unset: out += "null"
        case .scalar(let text): out += text
        case .array:
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (n, item) in items.enumerated() {
                out += pad
                item.render(into: &out, indent: indent + 1)
                out += n + 1 < items.count ? ",\n" : "\n"
            }
            out += close + "]"
        case .object:
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            let keys = members.keys.sorted()
            for (n, key) in keys.enumerated() {
                out += pad
                JSONOutput.escape(key, into: &out)
                out += " : "
                members[key]!.render(into: &out, indent: indent + 1)
                out += n + 1 < keys.count ? ",\n" : "\n"
            }
            out += close + "}"
        }
    }

    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
        return "\(d)"
    }

    static func string(_ s: String) -> String {
        var out = ""
        JSONOutput.escape(s, into: &out)
        return out
    }
}

struct TreeEncoder: Encoder {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.shape {} else { node.shape = .object }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.shape {} else { node.shape = .array }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, codingPath: codingPath) }
}

struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey]

    private func child(_ key: Key) -> Node {
        let n = Node()
        node.members[key.stringValue] = n
        return n
    }
    private func scalar(_ text: String, _ key: Key) { child(key).shape = .scalar(text) }

    mutating func encodeNil(forKey key: Key) throws { scalar("null", key) }
    mutating func encode(_ v: Bool, forKey key: Key) throws { scalar(v ? "true" : "false", key) }
    mutating func encode(_ v: String, forKey key: Key) throws { scalar(Node.string(v), key) }
    mutating func encode(_ v: Double, forKey key: Key) throws { scalar(Node.number(v), key) }
    mutating func encode(_ v: Float, forKey key: Key) throws { scalar(Node.number(Double(v)), key) }
    mutating func encode(_ v: Int, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { scalar(String(v), key) }
    mutating func encode<T: Encodable>(_ v: T, forKey key: Key) throws {
        try v.encode(to: TreeEncoder(node: child(key), codingPath: codingPath + [key]))
    }

    // The point of this encoder: an absent optional is written as null instead of being left out.
    private mutating func optional<T: Encodable>(_ v: T?, _ key: Key) throws {
        if let v { try encode(v, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ v: Bool?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: String?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Double?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Float?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Int?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Int8?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Int16?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Int32?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: Int64?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: UInt?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: UInt8?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: UInt16?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: UInt32?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent(_ v: UInt64?, forKey key: Key) throws { try optional(v, key) }
    mutating func encodeIfPresent<T: Encodable>(_ v: T?, forKey key: Key) throws { try optional(v, key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { TreeEncoder(node: node, codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { TreeEncoder(node: child(key), codingPath: codingPath + [key]) }
}

struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]
    var count: Int { node.items.count }

    private func next() -> Node {
        let n = Node()
        node.items.append(n)
        return n
    }
    private func scalar(_ text: String) { next().shape = .scalar(text) }

    mutating func encodeNil() throws { scalar("null") }
    mutating func encode(_ v: Bool) throws { scalar(v ? "true" : "false") }
    mutating func encode(_ v: String) throws { scalar(Node.string(v)) }
    mutating func encode(_ v: Double) throws { scalar(Node.number(v)) }
    mutating func encode(_ v: Float) throws { scalar(Node.number(Double(v))) }
    mutating func encode(_ v: Int) throws { scalar(String(v)) }
    mutating func encode(_ v: Int64) throws { scalar(String(v)) }
    mutating func encode<T: Encodable>(_ v: T) throws { try v.encode(to: TreeEncoder(node: next(), codingPath: codingPath)) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: next(), codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { TreeEncoder(node: next(), codingPath: codingPath).unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { TreeEncoder(node: next(), codingPath: codingPath) }
}

struct SingleContainer: SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.shape = .scalar("null") }
    mutating func encode(_ v: Bool) throws { node.shape = .scalar(v ? "true" : "false") }
    mutating func encode(_ v: String) throws { node.shape = .scalar(Node.string(v)) }
    mutating func encode(_ v: Double) throws { node.shape = .scalar(Node.number(v)) }
    mutating func encode(_ v: Float) throws { node.shape = .scalar(Node.number(Double(v))) }
    mutating func encode(_ v: Int) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: Int8) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: Int16) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: Int32) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: Int64) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: UInt) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: UInt8) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: UInt16) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: UInt32) throws { node.shape = .scalar(String(v)) }
    mutating func encode(_ v: UInt64) throws { node.shape = .scalar(String(v)) }
    mutating func encode<T: Encodable>(_ v: T) throws { try v.encode(to: TreeEncoder(node: node, codingPath: codingPath)) }
}
