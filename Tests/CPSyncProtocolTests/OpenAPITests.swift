import Foundation
import XCTest

/// Runs the OpenAPI 3.1 validator (python3 + openapi-spec-validator) on Protocol/openapi.yaml, then checks every
/// golden vector against the document's JSON schemas, so spec, vectors and codec cannot drift apart.
final class OpenAPITests: XCTestCase {
    static let script = #"""
import json, sys, yaml
from openapi_spec_validator import validate
doc = yaml.safe_load(open("Protocol/openapi.yaml"))
validate(doc)
try:
    from jsonschema import Draft202012Validator
except ImportError:
    print("jsonschema missing: vectors not checked against the schemas"); sys.exit(0)
def check(name, schema, inst):
    root = dict(doc); root["$ref"] = "#/components/schemas/" + schema
    errs = list(Draft202012Validator(root).iter_errors(inst))
    if errs:
        print("%s does not match %s: %s" % (name, schema, errs[0].message)); sys.exit(1)
def load(name):
    return json.load(open("Protocol/vectors/" + name, encoding="utf-8"))
for f, s in [("changeset.json", "PushRequest"), ("pull-page.json", "PullResponse"), ("push-response.json", "PushResponse"),
             ("status.json", "StatusResponse"), ("health.json", "HealthResponse"), ("conflict.json", "ConflictListResponse"),
             ("audit.json", "AuditListResponse"), ("accounts-audit.json", "AccountAuditResponse"),
             ("admin-sites.json", "SiteListResponse"), ("admin-token.json", "AdminTokenResponse"),
             ("compact-changeset.json", "CompactPushRequest"), ("compact-pull-page.json", "CompactPullResponse"),
             ("whoami-site.json", "WhoAmIResponse"), ("whoami-admin.json", "WhoAmIResponse"), ("blob-state.json", "BlobState")]:
    check(f, s, load(f))
for i, v in enumerate(load("values.json")["values"]):
    check("values.json[%d] %s" % (i, v["name"]), "Value", v["value"])
for i, e in enumerate(load("errors.json")["errors"]):
    check("errors.json[%d]" % i, "ErrorBody", e["body"])
for i, r in enumerate(load("resolve-requests.json")["requests"]):
    check("resolve-requests.json[%d]" % i, "ResolveRequest", r)
print("ok")
"""#

    func testOpenAPIDocumentIsValidAndVectorsMatchIt() throws {
        // The python3 first on PATH (pyenv shims included), as a developer's shell would run it.
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let found = path.split(separator: ":").map { "\($0)/python3" }.contains { FileManager.default.isExecutableFile(atPath: $0) }
        guard found else { throw XCTSkip("python3 is not installed: the OpenAPI document was not validated") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", Self.script]
        p.currentDirectoryURL = Vectors.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("No module named 'openapi_spec_validator'") || text.contains("No module named 'yaml'") {
            throw XCTSkip("openapi-spec-validator is not installed (pip install openapi-spec-validator): \(text)")
        }
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.hasSuffix("ok\n") || text.contains("jsonschema missing"), text)
    }
}
