import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
@testable import SluiceTextArticles
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every kind of bad file becomes one dead letter naming the file and the reason, and every
/// other file still becomes a record.
@Suite("bad input")
struct BadInputTests {
    static let article = "Harbour opens\n\nThe new harbour opened on Monday.\n"

    @Test("a folder with one file of each problem gives one dead letter per bad file and a record for every good one")
    func oneDeadLetterPerBadFile() throws {
        let dir = TemporaryDirectory("articles-bad")
        try dir.write("a_good.txt", Self.article)
        try dir.write("b_empty.txt", Data())
        try dir.write("c_blank.txt", "  \n\n\t \u{00A0}\n")
        try dir.write("d_image.txt", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52]))
        try dir.write("e_controls.txt", Data((0..<200).map { UInt8([1, 2, 3, 4, 0x1B, 0x41][$0 % 6]) }))
        try dir.write("f_no_title.txt", String(repeating: "This is one long paragraph without any headline. ", count: 10))
        try dir.write("g_huge.txt", "Big file\n\n" + String(repeating: "word ", count: 2000))
        // KOI8/Windows-1251 Cyrillic: not UTF-8, and far too many high bytes for Windows-1252.
        try dir.write("h_cyrillic.txt", Data(Array(repeating: [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x20, 0xEC, 0xE8, 0xF0], count: 6).flatMap { $0 }))
        try dir.write("i_good.md", "# Second article\n\n**By Jane Roe**\n\nText of the second article.\n")
        try dir.write("j_only_numbers.txt", "12345\n\n67890\n")
        let unreadable = try dir.write("k_unreadable.txt", Self.article)
        chmod(unreadable, 0)
        defer { chmod(unreadable, 0o644) }
        let canDenyReading = getuid() != 0  // root reads files whatever their mode

        let (records, letters) = try readArticles(dir.path, maxBytes: 4096)

        let goodFiles = ["a_good.txt", "i_good.md"] + (canDenyReading ? [] : ["k_unreadable.txt"])
        #expect(records.map(\.origin.file) == goodFiles)
        #expect(records.map { $0["title"] } == ["Harbour opens", "Second article"] + (canDenyReading ? [] : ["Harbour opens"]))
        var expected: [String: String] = [
            "b_empty.txt": "b_empty.txt: empty file",
            "c_blank.txt": "c_blank.txt: empty file (only whitespace)",
            "d_image.txt": "d_image.txt: binary content (NUL bytes)",
            "e_controls.txt": "e_controls.txt: binary content (control characters)",
            "f_no_title.txt": "f_no_title.txt: no title line (the first line of text is a paragraph of 489 characters, not a headline)",
            "g_huge.txt": "g_huge.txt: file too large (10010 bytes; max_bytes is 4096)",
            "h_cyrillic.txt": "h_cyrillic.txt: unsupported encoding (not UTF-8, and too many non-ASCII bytes to be Windows-1252 text)",
            "j_only_numbers.txt": "j_only_numbers.txt: no title line (the first line of text has no words)",
        ]
        if canDenyReading { expected["k_unreadable.txt"] = "k_unreadable.txt: cannot read: Permission denied" }
        let got = Dictionary(letters.map { ($0.origin?.file ?? "?", $0.error) }, uniquingKeysWith: { a, b in a + " & " + b })
        #expect(got == expected)
        #expect(letters.count == expected.count, "one dead letter per bad file")
        for letter in letters {
            #expect(letter.stage == "articles")
            #expect(letter.origin?.source == "articles" && letter.origin?.line == 1)
            #expect(letter.details["path"]?.stringValue?.hasPrefix(dir.path) == true)
        }
        // The text of a file without a headline is kept for the reader of the dead letters.
        let noTitle = letters.first { $0.origin?.file == "f_no_title.txt" }
        #expect(noTitle?.raw?.hasPrefix("This is one long paragraph") == true)
    }

    @Test("a dangling symbolic link is a dead letter naming its target, not a crash")
    func danglingSymlink() throws {
        let dir = TemporaryDirectory("articles-link")
        let link = dir.file("gone.txt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dir.file("missing.txt"))
        let reader = ArticleReader(parser: ArticleParser(dates: DateParser()), maxBytes: 1 << 20)
        let result = reader.read(path: link, relativePath: "gone.txt")
        guard case .failure(let problem) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(problem.description == "cannot read: dangling symbolic link to '\(dir.file("missing.txt"))'")
    }

    @Test("a file that cannot be opened reports the system's reason")
    func missingFileReason() {
        let reader = ArticleReader(parser: ArticleParser(dates: DateParser()), maxBytes: 1 << 20)
        let result = reader.read(path: "/nonexistent/folder/a.txt", relativePath: "a.txt")
        guard case .failure(let problem) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(problem.description == "cannot read: No such file or directory")
    }

    @Test("a file over max_bytes is refused before it is read, and smaller files still go through")
    func hugeFileIsDeadLetter() throws {
        let dir = TemporaryDirectory("articles-huge")
        try dir.write("big.txt", "Big\n\n" + String(repeating: "x", count: 3 << 20))
        try dir.write("small.txt", Self.article)
        let (records, letters) = try readArticles(dir.path, maxBytes: 1 << 20)
        #expect(records.map(\.origin.file) == ["small.txt"])
        #expect(letters.map(\.error) == ["big.txt: file too large (3145733 bytes; max_bytes is 1048576)"])
    }

    @Test("a 10 MB article on one line is a dead letter (no headline), not a crash or a hang")
    func oneHugeLine() throws {
        let dir = TemporaryDirectory("articles-line")
        try dir.write("line.txt", String(repeating: "word ", count: 2_000_000))
        let (records, letters) = try readArticles(dir.path)
        #expect(records.isEmpty)
        #expect(letters.map(\.error) == ["line.txt: no title line (the first line of text is a paragraph of 9999999 characters, not a headline)"])
    }

    @Test("a path that matches no file is a fatal error naming the pattern")
    func noMatchIsFatal() throws {
        let dir = TemporaryDirectory("articles-none")
        try dir.write("notes.html", "<p>not an article</p>")
        #expect {
            _ = try readArticles(dir.path)
        } throws: { error in
            "\(error)" == "stage 'articles': path '\(dir.path)' matches no files with extension .txt, .md"
        }
        #expect {
            _ = try readArticles(dir.file("**/*.txt"))
        } throws: { error in
            "\(error)".contains("matches no files") && "\(error)".contains("**/*.txt")
        }
        #expect {
            _ = try readArticles(dir.file("missing-folder"))
        } throws: { error in
            "\(error)" == "stage 'articles': path '\(dir.file("missing-folder"))': no such file or folder: \(dir.file("missing-folder"))"
        }
    }
}
