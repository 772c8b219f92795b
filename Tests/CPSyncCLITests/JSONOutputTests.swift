import CPSyncCLI
import Foundation
import Testing

/// The tools' one JSON style: every field present (`null` when empty), sorted keys, snake_case, exact numbers;
/// errors as `{"error":{…}}`.
@Suite struct JSONOutputTests {
    struct Record: Encodable {
        var id = "m1"
        var siteID: String? = nil
        var phones: [String] = []
        var nested: [String: Int?] = ["a": nil, "b": 2]
        var rate: Double = 0.5
        var whole: Double = 3
        var note = "引号\"、反斜杠\\、换行\n和 / 斜杠"
        enum CodingKeys: String, CodingKey { case id, phones, nested, rate, whole, note, siteID = "site_id" }
    }

    @Test func absentOptionalsAreNullAndTheTextIsValidSortedJSON() throws {
        let text = try JSONOutput.encode(Record())
        #expect(text.contains("\"site_id\" : null"), "\(text)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["site_id"] is NSNull && (parsed["phones"] as? [Any])?.isEmpty == true)
        #expect((parsed["nested"] as? [String: Any])?["a"] is NSNull && (parsed["nested"] as? [String: Any])?["b"] as? Int == 2)
        #expect(parsed["rate"] as? Double == 0.5 && text.contains("\"whole\" : 3") && !text.contains("3.0"))
        #expect(parsed["note"] as? String == Record().note && text.contains("和 / 斜杠"))
        let keys = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.dropFirst(3).prefix { $0 != "\"" } }
        #expect(keys == keys.sorted(), "\(keys)")
        #expect(try JSONOutput.encode([Record?.none, Record()]).hasPrefix("[\n  null,\n  {"))
    }

    @Test func wireKeysBecomeSnakeCaseAndValuesStayExactlyAsWritten() {
        let wire = #"{"tableLabel":"提案","rowLabel":"a\"detectedAt\": b","winner":{"siteName":"华山","hlc":115598956953600001},"detectedAt":1763900300123,"list":["camelCase",{"minProtocol":1}]}"#
        #expect(JSONOutput.snakeCasedKeys(wire) == #"{"table_label":"提案","row_label":"a\"detectedAt\": b","winner":{"site_name":"华山","hlc":115598956953600001},"detected_at":1763900300123,"list":["camelCase",{"min_protocol":1}]}"#)
    }

    @Test func anErrorIsOneObject() throws {
        let text = JSONOutput.error(code: "unauthorized", message: "服务器拒绝了令牌 \"x\"", exit: 77, status: 401)
        let parsed = try #require((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? [String: Any])
        #expect(parsed["code"] as? String == "unauthorized" && parsed["exit"] as? Int == 77 && parsed["status"] as? Int == 401)
        #expect(parsed["message"] as? String == "服务器拒绝了令牌 \"x\"")
        #expect(JSONOutput.code(forExit: 64) == "usage_error" && JSONOutput.code(forExit: 65) == "data_error" && JSONOutput.code(forExit: 74) == "io_error")
    }
}
