import Foundation

/// A command's `--json` output read as JSON, never as text: the tools pretty-print with sorted keys, so a test that
/// looked for `"held":3` in the text would test the layout, not the value.
public enum JSONText {
    /// The top-level object of `text`; nil when it is not one.
    public static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) as? [String: Any]
    }

    public static func int(_ text: String, _ key: String) -> Int? {
        guard let value = object(text)?[key], !isBoolean(value) else { return nil }
        return value as? Int
    }

    public static func bool(_ text: String, _ key: String) -> Bool? {
        guard let value = object(text)?[key], isBoolean(value) else { return nil }
        return value as? Bool
    }

    /// JSON's `true`/`false`, not a number (Foundation bridges both to NSNumber, and 0 and 1 cast to Bool).
    static func isBoolean(_ value: Any) -> Bool { String(describing: type(of: value)).contains("Boolean") || type(of: value) == Bool.self }

    public static func string(_ text: String, _ key: String) -> String? { object(text)?[key] as? String }

    /// The objects of the array member `key` (e.g. `status --json`'s `held`); nil when there is no such array.
    public static func objects(_ text: String, _ key: String) -> [[String: Any]]? { object(text)?[key] as? [[String: Any]] }

    /// The member `key` written back as compact JSON with sorted keys, for `contains` checks on a part of the output.
    public static func member(_ text: String, _ key: String) -> String? {
        guard let value = object(text)?[key],
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
