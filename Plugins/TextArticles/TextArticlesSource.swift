import Foundation
import Logging
import SluiceCore
import SluiceFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Registers the `text_articles` source.
public enum TextArticlesPlugin: SluicePlugin {
    /// Adds `text_articles`.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(TextArticlesSource.Configuration.self)
    }
}

/// The `text_articles` source: reads article files (`.txt`, `.md`) and emits one record per
/// article with the fields `id`, `source`, `section`, `title`, `authors`, `published`,
/// `published_text`, `updated`, `updated_text`, `captions`, `tags`, `related`, `meta`,
/// `paragraphs`, `body`, `word_count`, `language`, in that order. Each record's origin is the file's path
/// relative to the root of `path`, line 1.
///
/// Reading: bytes are decoded and normalized by ``TextDecoding`` (UTF-8 with or without BOM,
/// UTF-16/32 with BOM, Windows-1252 fallback; LF line ends, NFC, plain spaces). Up to `workers`
/// threads read and parse files at once (option `workers`, default `--workers`: the cores); the
/// records are emitted in file order, in batches of the context's batch size, whatever the
/// number of threads.
///
/// Fields, and the choices made where the SPEC is silent:
/// - `id`: SHA-256 of the UTF-8 bytes of `title + "\n" + body`, first 16 bytes as lower-case
///   hex (32 characters). The same article saved in another encoding, with CRLF, a BOM, hard
///   wrapping or under another name has the same id; any change of a word changes it.
/// - `section`: the kicker above the headline (short; in capitals or with ` / `, ` | `, ` > `),
///   a `Section:`/`Category:` line, or front matter's `section`/`category`; else null.
/// - `title`: the first line (or Markdown heading, `# ` removed) that is not a kicker, date,
///   byline or caption. A file whose first line of text is a paragraph, or has no words, has
///   no title and goes to dead letters.
/// - `authors`: from `By A, B and C`, `Written by A`, `Posted … by A`, `Author: A`, front
///   matter. Roles and outlets are dropped (`Jane Doe, Staff Writer` → `Jane Doe`,
///   `By Xinhua writer Li Ming` → `Li Ming`, `By Global Times Staff Reporter` → `[]`), as is a
///   place (`Jane Doe in Beijing`). Names are kept as written (`BY JOHN SMITH` → `JOHN SMITH`).
///   Editors are credits, not authors: `Edited by A` (a line or a byline part) and credits after
///   a byline's semicolon (`By A; Additional reporting by B`) go to `meta`.
/// - `published` / `updated`: ISO 8601 from ``DateParser`` — a time is written with its offset
///   when the text gives a zone (`…Z` for UTC/GMT), or the `timezone` option's when it does
///   not; a date alone has no offset. `Published:`/`Posted`/`Date:` lines and unlabelled date
///   lines give `published`; `Updated:`/`Last updated`/`Modified` give `updated` (an
///   article with only an `Updated:` line has `published` null). Without a header date, a
///   dateline with a year (`MANILA, March 3, 2024 (Reuters) -`) gives `published`; one
///   without a year (`BEIJING, Nov. 2 (Xinhua) --`) gives nothing. `published_text` and
///   `updated_text` hold the date as written; when a labelled value is not a date
///   (`Published: yesterday`) the text is kept and the ISO field is null.
/// - `captions`: `{text, credit}` from `… Photo: X`, `(Photo: X)`, `Photo by X`,
///   `Photograph: X`, `Credit: X`, `(AP Photo/X)`, `(Xinhua/X)`; `text` is null for a bare
///   `Photo: X` line. Each caption once, wherever it appears.
/// - `tags`: from `Tags:`/`Keywords:`/`Topics:` lines, split on `,` `;` `|`, without `#`.
/// - `related`: titles from `Related:`/`Read more:`/`See also:` lines (` | ` separates
///   several), and from the list under a `Related`/`Related articles` heading.
/// - `meta`: trailing `Key: value` lines (`Editor: Li Yan`, `Source: Xinhua`; a key that is not
///   a known trailer key only with a short, label-like value, so that an interview's closing
///   `Q: …?` / `A: ….` lines stay in the body), known keys in
///   the header (`Source:`, `Editor:`), `© …`/`Copyright …` lines (key `Copyright`), wire
///   credits (`(Reporting by A; Editing by B)` → `Reporting`, `Editing`) and front matter's
///   other keys. Keys are kept as written; a repeated key's values are joined with `; `.
/// - `paragraphs`: the body without header, captions, related and trailer lines. Paragraphs
///   are separated by blank lines; hard-wrapped lines are joined with a space (a word broken
///   at a hyphen is joined without one), and when every line is a paragraph (no blank lines
///   between them) each line is one. Markdown headings and list items are paragraphs of
///   their own, without their marks; links keep their text, emphasis marks go.
/// - `body`: the paragraphs joined with a blank line; `word_count`: its whitespace-separated
///   words, where each Chinese, Japanese or Korean character counts as a word.
/// - `language`: the ISO 639-1 code of the article's language from CLD2 (`zh` for simplified
///   and traditional Chinese), or null when it cannot tell.
/// - Headers in Chinese, Russian, French, German and Spanish are read as English ones are;
///   the words of each language are tables in ``ArticleVocabulary`` and SluiceCore's
///   `DateVocabulary`.
///
/// Bad input: a file that is empty (or only whitespace), binary (NUL bytes or mostly control
/// characters), unreadable (permissions, a dangling link), larger than `max_bytes`, in an
/// unsupported legacy encoding, or without a headline becomes a dead letter whose error starts
/// with the file's relative path and gives the reason (`a.txt: empty file`,
/// `b.txt: binary content (NUL bytes)`, `c.txt: cannot read: Permission denied`); the other
/// files go on. A `path` that matches no file at all is a fatal error naming the pattern:
/// nothing would run, and it is almost always a typo.
public struct TextArticlesSource: Source {
    /// The options of a `text_articles` source.
    public struct Configuration: SourceConfiguration {
        /// The type name in configs.
        public static let type = "text_articles"
        /// One line for `sluice stages`.
        public static let summary = "One record per plain-text or Markdown news article file."
        /// An entry for `sluice stages text_articles`.
        public static let example = """
            type: text_articles
            path: articles/**/*.txt
            timezone: Asia/Shanghai
            max_bytes: 4MiB
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("path", \.path, .path, required: true,
                  doc: "a file, a folder (read recursively) or a glob such as articles/**/*.txt"),
            .init("extensions", \.extensions, .stringOrList, doc: "file extensions read from folders and globs; [] reads every file"),
            .init("timezone", \.timezone,
                  doc: "zone for dates written without one: +08:00, UTC, EST or Asia/Shanghai (default: none, times stay local)"),
            .init("max_bytes", \.maxBytes, .size, range: OptionRange(1...), doc: "larger files go to dead letters instead of being read"),
            .init("reference_date", \.referenceDate,
                  doc: "YYYY-MM-DD: the day 'yesterday' and dates without a year are read against when an article gives no full date of its own"),
            .init("workers", \.workers, range: OptionRange(1...maxWorkers),
                  doc: "threads reading and parsing articles at once, 1 to \(maxWorkers) (default: --workers, the number of cores); records keep the order of the files"),
        ]

        /// The most `workers` accepted.
        public static let maxWorkers = 64

        /// `path`.
        public var path = ""
        /// `extensions`.
        public var extensions = ["txt", "md"]
        /// `timezone`.
        public var timezone: String?
        /// `max_bytes`.
        public var maxBytes = 16 << 20
        /// `reference_date`.
        public var referenceDate: String?
        /// `workers`; `nil`: `--workers` (the cores).
        public var workers: Int?

        /// Every option at its default.
        public init() {}

        /// Reads the zone and the date; an unknown `timezone` or a malformed `reference_date` is a
        /// config error.
        public func makeSource(_ context: BuildContext) throws -> any Source {
            var zone: TimeZoneSpec?
            if let timezone {
                guard let parsed = TimeZoneSpec(timezone) else {
                    throw context.error(\Self.timezone,
                                        "option 'timezone': unknown time zone '\(timezone)'; use an offset (+08:00), UTC, an abbreviation (EST) or a zone name (Asia/Shanghai)")
                }
                zone = parsed
            }
            var reference: CivilDay?
            if let referenceDate {
                guard let day = CivilDay(iso: referenceDate) else {
                    throw context.error(\Self.referenceDate, "option 'reference_date': '\(referenceDate)' is not a date; write YYYY-MM-DD")
                }
                reference = day
            }
            return TextArticlesSource(path: path, extensions: extensions, timeZone: zone, maxBytes: maxBytes,
                                      referenceDate: reference,
                                      workers: workers ?? min(context.environment.defaultWorkers, Self.maxWorkers))
        }
    }

    /// The file, folder or glob to read.
    public var path: String
    /// The extensions kept when `path` is a folder or a glob (lower case, no dot).
    public var extensions: [String]
    /// The zone applied to times written without one.
    public var timeZone: TimeZoneSpec?
    /// The largest file read, in bytes.
    public var maxBytes: Int
    /// The day relative dates and dates without a year are read against when an article has
    /// no full date of its own.
    public var referenceDate: CivilDay?
    /// How many threads read and parse files at once (the source's own among them).
    public var workers: Int
    /// In a cluster run: the files of the one work unit to read (TextArticlesUnits.swift).
    var unitScope: Set<String>?

    /// Creates the source directly (tests, tools).
    public init(path: String, extensions: [String] = ["txt", "md"], timeZone: TimeZoneSpec? = nil,
                maxBytes: Int = 16 << 20, referenceDate: CivilDay? = nil, workers: Int = 1) {
        self.path = path
        self.extensions = extensions
        self.timeZone = timeZone
        self.maxBytes = maxBytes
        self.referenceDate = referenceDate
        self.workers = max(1, workers)
    }

    /// Reads the matching files (option `path`): a sink may not write one of them.
    public var resources: [StageResource] { [.reads(fileSet)] }

    /// The files of `path` with the kept extensions.
    var fileSet: FileSet { FileSet(pattern: path, extensions: extensions) }

    /// The matching files, sorted; a path that matches nothing is an error of `stage` (a normal
    /// run and a cluster run's listing say the same).
    func matchedFiles(stage: String) throws -> [MatchedFile] {
        let fileSet = self.fileSet
        let files: [MatchedFile]
        do {
            files = try fileSet.files()
        } catch {
            throw StageError(stage: stage, message: "path '\(path)': \(error)")
        }
        guard !files.isEmpty else {
            let kinds = fileSet.extensions.isEmpty ? "" : " with extension " + fileSet.extensions.map { "." + $0 }.joined(separator: ", ")
            throw StageError(stage: stage, message: "path '\(path)' matches no files\(kinds)")
        }
        return files
    }

    /// A batch is emitted once the files of its records reach this many bytes, before the batch
    /// size if need be. An article's record holds its text about twice (`body`, `paragraphs`):
    /// 256 records of 4 KB articles made batches of ~2.3 MB, and a run holds several at once (one
    /// being filled, queued ones, the one the sink writes, written ones waiting to be freed).
    /// Measured on 50,000 bench articles into sqlite + FTS (4 runs): peak RSS 64–67 MB → 60–63 MB.
    static let batchFileBytes: Int64 = 256 << 10
    /// With several workers, at most this many files are read and parsed at once (then emitted
    /// in order)…
    static let groupSize = 64
    /// …and no more files once their sizes reach this many bytes (a group holds its files'
    /// contents and records until it is emitted; files may be up to `max_bytes`).
    static let groupBytes: Int64 = 1 << 20

    /// Reads every matching file (in a cluster run, those of its unit), emitting one record per article.
    ///
    /// Files go in groups (one file with one worker; else up to ``groupSize`` files and
    /// ``groupBytes`` bytes). For each group, this thread first decides which files are new or
    /// changed (their checkpoints); then up to `workers` threads read and parse them
    /// (``ParallelWork``); then this thread emits the records, dead letters and checkpoints in
    /// file order, as a single thread would. A stop is looked at before each group.
    public func run(_ context: SourceContext) throws {
        let files = try unitScope.map { fileSet.files(relativePaths: $0) }
            ?? matchedFiles(stage: context.name)
        // Progress (files and bytes of total), and each file's size and time for its checkpoint.
        let stamps = context.announceInputs(files)
        let reader = ArticleReader(parser: ArticleParser(dates: DateParser(defaultTimeZone: timeZone), reference: referenceDate),
                                   maxBytes: maxBytes)
        let groupSize = workers == 1 ? 1 : max(1, min(context.batchSize, Self.groupSize))
        var batch: [Record] = []
        batch.reserveCapacity(context.batchSize)
        var batchFileBytes: Int64 = 0
        var unchanged = 0
        var next = 0
        while next < files.count {
            if context.isStopping {
                try context.emit(batch)   // deliver what was read; throws PipelineStop
                throw PipelineStop()
            }
            let reads = try plan(files, stamps: stamps, from: &next, upTo: groupSize, context, unchanged: &unchanged)
            guard let first = reads.first else { continue }
            context.reading(first.file.relativePath)
            let maxBytes = self.maxBytes
            let outcomes = ParallelWork.map(count: reads.count, workers: workers) { k in
                reads[k].readAndParse(reader, maxBytes: maxBytes)
            }
            for (read, outcome) in zip(reads, outcomes) {
                let file = read.file
                let position = read.stamp.map { _ in Position(input: file.relativePath, epoch: read.epoch, offset: 0) }
                let origin = Origin(source: context.name, file: file.relativePath, line: 1, position: position)
                switch outcome.fields {
                case .success(let fields):
                    batch.append(Record(fields, origin: origin))
                case .failure(let problem):
                    context.logger.debug("skipping \(file.path): \(problem)")
                    context.deadLetter(raw: problem.raw, error: "\(file.relativePath): \(problem)", origin: origin,
                                       details: ["path": .string(file.path)])
                }
                if let stamp = read.stamp {
                    // Offset: where reading would resume, past the article's one record (offset 0),
                    // so that the checkpoint covers it (sinks drop the marks checkpoints cover).
                    context.progress(InputCheckpoint(input: file.relativePath, epoch: read.epoch, offset: max(1, stamp.size),
                                                     complete: true,
                                                     size: stamp.size, modified: stamp.modified,
                                                     fingerprint: outcome.fingerprint ?? "",
                                                     records: outcome.fields.isSuccess ? 1 : 0))
                }
                context.finishedInput(bytes: read.stamp?.size ?? outcome.bytes)
                batchFileBytes += outcome.bytes
                if batch.count >= context.batchSize || batchFileBytes >= Self.batchFileBytes {
                    try context.emit(batch)
                    batch.removeAll(keepingCapacity: true)
                    batchFileBytes = 0
                }
            }
        }
        if unchanged > 0 {
            context.logger.info("\(unchanged) article\(unchanged == 1 ? "" : "s") unchanged since the last run: skipped")
        }
        try context.emit(batch)
    }

    /// The next group of files to read, from `files[next]` on (`next` moves past them): up to
    /// `limit` files, and with more than one, no more once their sizes reach ``groupBytes``. An
    /// article is one input, identified by its path, size, time and content; an unchanged one is
    /// skipped (counted in `unchanged`, not in the group), a changed one is read again as a new
    /// version. A file read here for its fingerprint keeps its content, so that it is read once.
    ///
    /// `stamps` are the sizes and times ``SourceContext/announceInputs(_:)`` found when the run
    /// listed the files (each file is `stat`ed once, not again here: 30,000 → 20,000 calls for
    /// 10,000 articles). A file changed since then is caught by its content's fingerprint, now or
    /// on the next run, as one changed between this look and the read always was.
    private func plan(_ files: [MatchedFile], stamps: [FileStamp?], from next: inout Int, upTo limit: Int,
                      _ context: SourceContext, unchanged: inout Int) throws -> [PlannedRead] {
        let checkpoint = context.checkpoint
        var reads: [PlannedRead] = []
        var bytes: Int64 = 0
        while next < files.count && reads.count < limit && bytes < Self.groupBytes {
            let file = files[next], stamp = stamps[next]
            next += 1
            var read = PlannedRead(file: file, epoch: checkpoint.baseEpoch)
            if checkpoint.enabled, let found = stamp {
                read.stamp = found
                var loaded: (content: Result<Data, FileProblem>, fingerprint: String?)?
                let maxBytes = self.maxBytes
                let plan = try checkpoint.planWhole(input: file.relativePath, stamp: found) {
                    let content = ArticleReader.load(file.path, maxBytes: maxBytes)
                    loaded = (content, content.fingerprint)
                    return loaded?.fingerprint
                }
                read.loaded = loaded
                switch plan {
                case .skip:
                    unchanged += 1
                    context.skipInput(bytes: found.size)
                    continue
                case .resume(let saved):
                    read.epoch = saved.epoch
                case .read(let epoch, let changed):
                    read.epoch = epoch
                    if let changed { context.logger.notice("\(file.relativePath) \(changed) since it was read: reading it again") }
                }
            }
            bytes += stamp?.size ?? 0
            reads.append(read)
        }
        return reads
    }
}

/// A file the source reads in this run, as planned on the source's thread.
private struct PlannedRead: Sendable {
    let file: MatchedFile
    /// The version of the input that its records belong to.
    var epoch: Int64
    /// Its size and time when checkpoints are kept (nil: they are not, or it cannot be stat'ed).
    var stamp: FileStamp?
    /// Its content and fingerprint, when planning read it for the fingerprint.
    var loaded: (content: Result<Data, FileProblem>, fingerprint: String?)?

    init(file: MatchedFile, epoch: Int64) {
        self.file = file
        self.epoch = epoch
    }

    /// Reads (unless planning did) and parses the file; any thread.
    func readAndParse(_ reader: ArticleReader, maxBytes: Int) -> ReadOutcome {
        let content = loaded?.content ?? ArticleReader.load(file.path, maxBytes: maxBytes)
        let bytes = (try? content.get()).map { Int64($0.count) } ?? 0
        return ReadOutcome(fields: reader.read(content, path: file.path, relativePath: file.relativePath),
                           fingerprint: stamp == nil ? nil : loaded?.fingerprint ?? content.fingerprint, bytes: bytes)
    }
}

/// What reading and parsing one file gave.
private struct ReadOutcome: Sendable {
    let fields: Result<Fields, FileProblem>
    /// The content's fingerprint when checkpoints are kept and the file could be read.
    let fingerprint: String?
    /// The bytes read.
    let bytes: Int64
}

extension Result where Success == Data {
    /// The fingerprint of the content read (nil: it could not be read).
    fileprivate var fingerprint: String? {
        guard case .success(let data) = self else { return nil }
        return data.withUnsafeBytes { FileFingerprint.whole($0) }
    }
}

extension Result {
    /// Whether this is a success.
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

/// Why a file gave no record.
enum FileProblem: Error, CustomStringConvertible {
    case cannotRead(String)
    case tooLarge(Int, max: Int)
    case empty(onlyWhitespace: Bool)
    case undecodable(TextDecodingError)
    case notAnArticle(ArticleProblem, excerpt: String)

    var description: String {
        switch self {
        case .cannotRead(let why): return "cannot read: \(why)"
        case .tooLarge(let size, let max): return "file too large (\(size) bytes; max_bytes is \(max))"
        case .empty(let whitespace): return whitespace ? "empty file (only whitespace)" : "empty file"
        case .undecodable(let e): return e.description
        case .notAnArticle(let p, _): return p.description
        }
    }

    /// The start of the text, for the dead letter, when there was text.
    var raw: String? {
        if case .notAnArticle(_, let excerpt) = self { return excerpt }
        return nil
    }
}

/// Reads one file into a record's fields.
struct ArticleReader: Sendable {
    let parser: ArticleParser
    let maxBytes: Int

    /// Reads the file at `path`; `relativePath` becomes the record's `source`.
    func read(path: String, relativePath: String) -> Result<Fields, FileProblem> {
        read(Self.load(path, maxBytes: maxBytes), path: path, relativePath: relativePath)
    }

    /// Makes the record's fields from a file's content as ``load(_:maxBytes:)`` read it.
    func read(_ loaded: Result<Data, FileProblem>, path: String, relativePath: String) -> Result<Fields, FileProblem> {
        let data: Data
        switch loaded {
        case .success(let d): data = d
        case .failure(let p): return .failure(p)
        }
        if data.isEmpty { return .failure(.empty(onlyWhitespace: false)) }
        let decoded: DecodedText
        do {
            decoded = try TextDecoding.decode(data)
        } catch {
            return .failure(.undecodable(error))
        }
        let text = decoded.text
        if text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { return .failure(.empty(onlyWhitespace: true)) }
        // Only a path ending in `md` or `markdown` (any case) can have either extension: the others
        // skip NSString's `pathExtension` (0.9 % of the source's samples).
        let tail = path.utf8.suffix(8).map { $0 | 0x20 }
        let mayBeMarkdown = tail.count >= 2 && tail[tail.count - 2] == 0x6D && tail[tail.count - 1] == 0x64
            || tail.elementsEqual("markdown".utf8)
        let ext = mayBeMarkdown ? (path as NSString).pathExtension.lowercased() : ""
        // The language first: outside the United States' English, `05/02/2025` is 5 February.
        let language = LanguageDetector.detect(text)
        var parser = parser
        if let language, language != "en" { parser.classify.dates.dayFirst = true }
        let article: Article
        do {
            article = try parser.parse(text, markdown: ext == "md" || ext == "markdown")
        } catch {
            return .failure(.notAnArticle(error, excerpt: String(text.unicodeScalars.prefix(500))))
        }
        return .success(Self.fields(article, source: relativePath, language: language))
    }

    static func fields(_ a: Article, source: String, language: String? = nil) -> Fields {
        let body = a.body
        var f = Fields(minimumCapacity: 16)
        f["id"] = .string(Article.id(title: a.title, body: body))
        f["source"] = .string(source)
        f["section"] = a.section.map(Value.string) ?? .null
        f["title"] = .string(a.title)
        f["authors"] = .array(a.authors.map(Value.string))
        f["published"] = a.published.map { .string($0.iso) } ?? .null
        f["published_text"] = a.publishedText.map(Value.string) ?? .null
        f["updated"] = a.updated.map { .string($0.iso) } ?? .null
        f["updated_text"] = a.updatedText.map(Value.string) ?? .null
        f["captions"] = .array(a.captions.map { c in
            .object(["text": c.text.map(Value.string) ?? .null, "credit": c.credit.map(Value.string) ?? .null])
        })
        f["tags"] = .array(a.tags.map(Value.string))
        f["related"] = .array(a.related.map(Value.string))
        f["meta"] = .object(a.meta)
        f["paragraphs"] = .array(a.paragraphs.map(Value.string))
        f["body"] = .string(body)
        f["word_count"] = .int(Int64(body.articleWordCount))
        f["language"] = language.map(Value.string) ?? .null
        return f
    }

    /// Reads a file with POSIX calls, so that failures carry the system's reason
    /// (`Permission denied`) and a huge file is refused before it is read.
    static func load(_ path: String, maxBytes: Int) -> Result<Data, FileProblem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            var link = stat()
            if code == ENOENT, lstat(path, &link) == 0, (link.st_mode & S_IFMT) == S_IFLNK {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                return .failure(.cannotRead("dangling symbolic link to '\(target)'"))
            }
            return .failure(.cannotRead(String(cString: strerror(code))))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.cannotRead(String(cString: strerror(errno)))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { return .failure(.cannotRead("is a folder")) }
        if Int(info.st_size) > maxBytes { return .failure(.tooLarge(Int(info.st_size), max: maxBytes)) }
        // Read to the end even if the size changed (or is 0 for special files), up to the cap.
        do throws(IOFailure) {
            return .success(Data(try RawIO.readAll(fd, file: path, sizeHint: Int(info.st_size), maxBytes: maxBytes)))
        } catch {
            if let size = error.tooLarge { return .failure(.tooLarge(size, max: maxBytes)) }
            return .failure(.cannotRead(error.reason))
        }
    }
}
