import PackagePlugin

/// Embeds the admin page's files (`AdminPage/admin.html`, `admin.css`, `admin.js` beside the target's sources) into
/// the target as `AdminPageFiles.files`, so the daemon stays one binary: the page is edited, linted and checked as
/// real files, and installed with nothing beside the executable.
@main
struct EmbedFilesPlugin: BuildToolPlugin {
    static let folder = "AdminPage"
    static let files = ["admin.html", "admin.css", "admin.js"]

    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let target = target as? SwiftSourceModuleTarget else { return [] }
        let inputs = Self.files.map { target.directoryURL.appending(path: Self.folder).appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "AdminPageFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the admin page into \(target.name)",
                executable: try context.tool(named: "EmbedFiles").url,
                arguments: [output.path(), "AdminPageFiles"] + inputs.map { $0.path() },
                inputFiles: inputs,
                outputFiles: [output]),
        ]
    }
}
