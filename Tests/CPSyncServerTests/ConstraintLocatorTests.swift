@testable import CPSyncServer
import Testing

/// Reading SQLite's constraint messages for the table and column they are about.
@Suite struct ConstraintLocatorTests {
    @Test func notNullNamesTableAndColumn() throws {
        let named = try #require(ConstraintLocator.namedCell(in: "NOT NULL constraint failed: members.name"))
        #expect(named.table == "members" && named.identifiers == ["name"])
    }

    @Test func checkNamesTheIdentifiersOfItsExpressionButNotItsStrings() throws {
        let named = try #require(ConstraintLocator.namedCell(in: "CHECK constraint failed: gender IN ('', '男', 'status')"))
        #expect(named.table == nil)
        #expect(named.identifiers == ["gender", "IN"])
        #expect(ConstraintLocator.identifiers(in: #"converted_to IS NULL OR "converted_to" IN ('letter', 'it''s')"#)
                == ["converted_to", "IS", "NULL", "OR", "converted_to", "IN"])
        #expect(ConstraintLocator.identifiers(in: "is_key IN (0, 1)") == ["is_key", "IN"])
    }

    @Test func otherMessagesNameNothing() {
        #expect(ConstraintLocator.namedCell(in: "UNIQUE constraint failed: sites.id") == nil)
    }
}
