import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

@Suite("File sets")
struct FileSetTests {
    @Test("a unit's files by relative path come back as the listing gives them, in its order, for a folder, a glob and a named file")
    func filesByRelativePath() throws {
        let dir = TemporaryDirectory()
        for name in ["a.txt", "sub/b.txt", "sub/deeper/c.txt", "z.txt"] { try dir.write(name, "x") }
        for pattern in [dir.path, dir.path + "/**/*.txt", dir.file("sub/b.txt")] {
            let set = FileSet(pattern: pattern, extensions: ["txt"])
            let listed = try set.files()
            #expect(set.files(relativePaths: listed.map(\.relativePath).reversed()) == listed, "\(pattern)")
            let some = Array(listed.suffix(2))
            #expect(set.files(relativePaths: some.map(\.relativePath)) == some, "\(pattern)")
        }
        #expect(FileSet(pattern: dir.file("sub/b.txt")).files(relativePaths: ["a.txt"]).isEmpty)
        let gone = FileSet(pattern: dir.path).files(relativePaths: ["gone.txt"])
        #expect(gone == [MatchedFile(path: dir.file("gone.txt"), relativePath: "gone.txt")], "a file gone since the listing is still named")
    }

    @Test("a listed file's path is its folder and relative path; brace alternatives naming one file twice list it once")
    func listedPaths() throws {
        let dir = TemporaryDirectory()
        for name in ["a.txt", "sub/b.txt", "sub/é.txt"] { try dir.write(name, "x") }
        let listed = try FileSet(pattern: dir.path + "/{sub,sub}/*.txt").files()
        #expect(listed.map(\.relativePath) == ["sub/b.txt", "sub/é.txt"])
        #expect(listed.map(\.path) == [dir.file("sub/b.txt"), dir.file("sub/é.txt")])
        for file in listed { #expect(FileManager.default.fileExists(atPath: file.path)) }
        // Made from a path and a relative path, or from a folder: the same file.
        let made = MatchedFile(path: dir.file("sub/b.txt"), relativePath: "sub/b.txt")
        #expect(made == listed[0] && made.hashValue == listed[0].hashValue)
        #expect(MatchedFile(folder: dir.path + "/", relativePath: "a.txt").path == dir.file("a.txt"))
        // A relative path that is not the end of the path keeps the whole path.
        let odd = MatchedFile(path: "/data/x.txt", relativePath: "y.txt")
        #expect(odd.path == "/data/x.txt" && odd.relativePath == "y.txt")
    }

    @Test("a path's extension is what NSString.pathExtension says, for odd names too")
    func pathExtensions() {
        for path in ["a/b.txt", "a/.txt", ".txt", "a.", "a/b.", "a.b/c", "a/b.TXT", "a/b.tar.gz", "a/..", "a/.", "a/b..txt",
                     "/x/.hidden.md", "a/b.t xt", "a/b.é", "b", "a/b/", "a/b.txt/", "..txt", "a/...md", "/", "", "é.md/"] {
            #expect(FileSet.pathExtension(path) == (path as NSString).pathExtension, "\(path)")
        }
    }

    @Test("a glob with ** finds files in every folder, sorted, skipping hidden ones and other extensions")
    func globs() throws {
        let dir = TemporaryDirectory()
        for name in ["a.txt", "sub/b.txt", "sub/deeper/c.md", "sub/d.json", ".hidden/e.txt", "sub/.f.txt"] {
            try dir.write(name, "x")
        }
        let all = try FileSet(pattern: dir.path + "/**/*.txt").files().map(\.relativePath)
        #expect(all == ["a.txt", "sub/b.txt"])
        let folder = try FileSet(pattern: dir.path, extensions: ["txt", "md"]).files().map(\.relativePath)
        #expect(folder == ["a.txt", "sub/b.txt", "sub/deeper/c.md"])
        let braces = try FileSet(pattern: dir.path + "/sub/**/*.{md,json}").files().map(\.relativePath)
        #expect(braces == ["d.json", "deeper/c.md"])
        let single = try FileSet(pattern: dir.path + "/sub/b.txt").files()
        #expect(single.map(\.relativePath) == ["b.txt"])
        #expect(throws: FileSetError.self) { try FileSet(pattern: dir.path + "/missing.txt").files() }
        #expect(try FileSet(pattern: dir.path + "/nothing/*.txt").files().isEmpty)
    }

    @Test("symbolic links to files are found, dangling ones are kept for the source to report, folder links are not followed")
    func symlinks() throws {
        let dir = TemporaryDirectory()
        try dir.write("real/a.txt", "x")
        try FileManager.default.createDirectory(atPath: dir.file("in"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("in/link.txt"), withDestinationPath: dir.file("real/a.txt"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("in/dangling.txt"), withDestinationPath: dir.file("gone.txt"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("in/loop"), withDestinationPath: dir.file("in"))
        let found = try FileSet(pattern: dir.file("in"), extensions: ["txt"]).files().map(\.relativePath)
        #expect(found == ["dangling.txt", "link.txt"])
        let globbed = try FileSet(pattern: dir.file("in") + "/**/*.txt").files().map(\.relativePath)
        #expect(globbed == ["dangling.txt", "link.txt"])
        #expect(try FileSet(pattern: dir.file("in/dangling.txt")).files().count == 1)
    }

    @Test("matchesAny: a folder or glob with a matching file, and nothing for an empty folder, a glob without match or a missing file")
    func matchesAny() throws {
        let dir = TemporaryDirectory()
        try dir.write("data/a.jsonl", "{}\n")
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        #expect(FileSet(pattern: dir.file("data"), extensions: ["jsonl"]).matchesAny())
        #expect(FileSet(pattern: dir.file("data/*.jsonl")).matchesAny())
        #expect(FileSet(pattern: dir.file("data/a.jsonl")).matchesAny())
        #expect(!FileSet(pattern: dir.file("data"), extensions: ["txt"]).matchesAny())
        #expect(!FileSet(pattern: dir.file("empty")).matchesAny())
        #expect(!FileSet(pattern: dir.file("data/*.txt")).matchesAny())
        #expect(!FileSet(pattern: dir.file("missing.jsonl")).matchesAny())
    }
}

@Suite("File sets through links")
struct FileSetLinkTests {
    @Test("a folder named in the pattern may be a link: globs, folders and ** all find the files below its target")
    func linkedRootFolder() throws {
        let dir = TemporaryDirectory()
        try dir.write("real/a.jsonl", "{}\n")
        try dir.write("real/sub/b.jsonl", "{}\n")
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: dir.file("real"))
        for pattern in ["link/*.jsonl", "link", "link/**/*.jsonl"] {
            let found = try FileSet(pattern: dir.file(pattern)).files().map(\.relativePath)
            #expect(found.contains("a.jsonl"), "\(pattern): \(found)")
        }
        #expect(try FileSet(pattern: dir.file("link/**/*.jsonl")).files().map(\.relativePath) == ["a.jsonl", "sub/b.jsonl"])
    }
}
