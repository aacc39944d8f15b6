import ArgumentParser
import Foundation
import SluiceCore

/// `sluice init DIR`: a new pipeline project that `run`, `test` and `validate` accept at once.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a new pipeline project: a commented config, a Lua rule with a test, sample articles, a README.",
        discussion: """
            DIR is created (or must be empty). Then, inside it: sluice validate pipeline.yaml; \
            sluice test pipeline.yaml; sluice run pipeline.yaml. Exit status 0, or 2 when DIR \
            exists and is not empty.
            """)

    @Argument(help: "The folder to create.", completion: .directory)
    var directory: String

    func run() throws {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                printError("error: \(directory) exists and is a file; give a new folder name")
                throw ExitCode(ExitStatus.usage)
            }
            let entries = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
            guard entries.isEmpty else {
                printError("error: \(directory) is not empty (\(entries.count) entr\(entries.count == 1 ? "y" : "ies")); "
                    + "sluice init writes only into a new or empty folder")
                throw ExitCode(ExitStatus.usage)
            }
        }
        do {
            for (path, text) in ProjectTemplate.files {
                let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
        } catch {
            printError("error: cannot write the project into \(directory): \(error.localizedDescription)")
            throw ExitCode(ExitStatus.fatal)
        }
        print("""
            Created a pipeline project in \(directory):
              pipeline.yaml        the pipeline: articles → rules/summary.lua → SQLite and JSON Lines
              rules/summary.lua    a Lua rule (change it and run again; no recompiling)
              articles/            two sample articles; put yours beside them
              README.md            what to do next

            Next:
              cd \(directory)
              sluice validate pipeline.yaml
              sluice test pipeline.yaml
              sluice run pipeline.yaml
            """)
    }
}

/// The files `sluice init` writes.
enum ProjectTemplate {
    static let files: [(String, String)] = [
        ("pipeline.yaml", pipeline),
        ("rules/summary.lua", rule),
        ("articles/harbour.txt", harbour),
        ("articles/rail-link.md", rail),
        ("README.md", readme),
        (".gitignore", "out/\n.sluice/\n"),
    ]

    static let pipeline = """
        # A Sluice pipeline: article files → a Lua rule → SQLite (with full-text search) and JSON Lines.
        #
        #   sluice validate pipeline.yaml       check options, wiring and the rule (silent when all is well)
        #   sluice test pipeline.yaml           run the tests at the bottom of this file
        #   sluice run pipeline.yaml            ingest; run it again and only new or changed articles are read
        #   sluice tap pipeline.yaml summary    print what the rule emits, writing nothing
        #
        # Paths are relative to this file. Every stage type and option: sluice stages [TYPE].

        data_dir: .sluice                 # checkpoints: what earlier runs delivered

        sources:
          articles:
            type: text_articles           # one record per article: title, authors, published, body, …
            path: articles                # a folder (every .txt and .md in it), a file or a glob

        transforms:
          summary:
            type: lua                     # your rule, in Lua 5.4
            inputs: [articles]
            script: rules/summary.lua

        sinks:
          db:
            type: sqlite
            inputs: [summary]
            path: out/articles.db
            table: articles
            key: id                       # the article's id: re-ingesting updates the row
            fts: [title, body]            # full-text search: SELECT … FROM articles_fts WHERE articles_fts MATCH 'harbour'
          lines:
            type: json                    # JSON Lines; a re-run appends only the new records
            inputs: [summary]
            path: out/articles.jsonl

        tests:
          - name: the rule counts sentences and keeps the first one as the lead
            transform: summary
            input: { title: "Port opens", body: "The port opened on Monday. Ships dock from June." }
            expect: [ { sentence_count: 2, lead: "The port opened on Monday.", title_words: 2 } ]
          - name: an article without a body is dropped
            transform: summary
            input: { title: "Empty", body: "" }
            expect: []

        """

    static let rule = """
        -- rules/summary.lua: called once per article. Change it and run again; no recompiling.
        -- The record is a table: record.title, record.body, record.authors (an array), …
        -- The sluice module (text, dates, JSON, regular expressions) is described in Sluice's docs/lua.md.

        function process(record, emit)
          local body = record.body or ""
          if body == "" then
            return nil                                  -- nil drops the record
          end
          local sentences = sluice.text.sentences(body)
          record.sentence_count = #sentences
          record.lead = sentences[1] or sluice.null     -- sluice.null is JSON null
          record.title_words = #sluice.text.words(record.title or "")
          return record                                 -- the record goes on, changed
        end

        """

    static let harbour = """
        PORTS / TRADE
        New harbour opens on the north coast
        By Ana Costa and Lee Wong
        Published: March 3, 2024 4:45 PM

        The new harbour opened on Monday after four years of work. Ships of up to 300 metres can dock from June.

        The project cost $1.2 billion, and the port expects traffic to grow by 15% a year.

        Tags: ports, trade

        """

    static let rail = """
        # Rail link to the airport approved

        Published: 2025-07-15

        The city council approved the rail link on Tuesday. Trains will run every ten minutes.

        Construction starts next spring and should take three years.

        """

    static let readme = """
        # A Sluice pipeline

        `pipeline.yaml` reads the articles in `articles/`, runs each through the Lua rule
        `rules/summary.lua`, and writes the results to `out/articles.db` (SQLite, table `articles`,
        with full-text search) and `out/articles.jsonl` (JSON Lines).

        ```sh
        sluice validate pipeline.yaml      # silent when the config and the rule are fine
        sluice test pipeline.yaml          # the tests at the bottom of pipeline.yaml
        sluice run pipeline.yaml           # ingest (a second run reads only new or changed articles)
        sluice tap pipeline.yaml summary   # see what the rule emits, writing nothing
        sluice try rules/summary.lua --source text_articles --input articles   # the rule alone
        sqlite3 out/articles.db "SELECT title, sentence_count FROM articles"
        ```

        Next steps: add your own articles to `articles/`; add fields in `rules/summary.lua` and a
        test case for them in `pipeline.yaml`; `sluice stages` lists every stage type you can add.
        Records that a stage cannot handle go to `.sluice/pipeline/dead_letter.jsonl`, with the
        reason; fix the rule and `sluice replay .sluice/pipeline/dead_letter.jsonl pipeline.yaml`.

        """
}
