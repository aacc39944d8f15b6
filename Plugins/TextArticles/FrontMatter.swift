import SluiceCore
import SluiceFormats

/// YAML front matter at the top of a Markdown article (Jekyll, Hugo, Astro…):
///
/// ```
/// ---
/// title: "Rail link opens"
/// date: 2024-03-03T16:45:00+01:00
/// author: Jane Roe
/// tags: [rail, transport]
/// ---
/// ```
///
/// Only the flat subset articles use is read: `key: value`, `key: [a, b]`, and `key:` followed
/// by `- item` lines. `title`, `date`/`published`, `updated`/`lastmod`/`modified`,
/// `author(s)`, `tags`/`keywords`, `section`/`category`/`categories` and `related` fill the
/// record's fields; other keys go to `meta` (lists joined with `, `).
struct FrontMatter {
    var title: String?
    var article: Article
    /// The index of the first line after the closing `---`.
    var end: Int

    static func parse(_ lines: [Substring], dates: DateParser) -> FrontMatter? {
        guard let open = lines.prefix(3).firstIndex(where: { !$0.trimmed.isEmpty }), lines[open].trimmed == "---" else {
            return nil
        }
        guard let close = lines[(open + 1)...].prefix(200).firstIndex(where: { $0.trimmed == "---" || $0.trimmed == "..." })
        else { return nil }
        var entries: [(key: String, values: [String], list: Bool)] = []
        for raw in lines[(open + 1)..<close] {
            let line = String(raw)
            let trimmed = line.trimmed
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("- "), !entries.isEmpty {
                entries[entries.count - 1].values.append(unquote(String(trimmed.dropFirst(2))))
                entries[entries.count - 1].list = true
                continue
            }
            guard !line.hasPrefix(" "), !line.hasPrefix("\t"), let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmed
            // Front-matter keys are identifiers: `title`, `pub_date`, `last-modified`.
            guard !key.isEmpty, key.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || "_-".unicodeScalars.contains($0)
                || ("0"..."9").contains($0) }) else { return nil }
            let value = String(line[line.index(after: colon)...]).trimmed
            if value.hasPrefix("["), value.hasSuffix("]") {
                let items = value.dropFirst().dropLast().split(separator: ",").map { unquote($0.trimmed) }.filter { !$0.isEmpty }
                entries.append((key, items, true))
            } else {
                entries.append((key, value.isEmpty ? [] : [unquote(value)], false))
            }
        }
        guard !entries.isEmpty else { return nil }

        var result = FrontMatter(title: nil, article: Article(), end: close + 1)
        for (key, values, list) in entries {
            guard let first = values.first else { continue }
            switch key.lowercased() {
            case "title", "headline":
                result.title = first.collapsedSpaces
            case "date", "published", "pubdate", "publishdate", "published_at", "date_published", "publish_date":
                result.article.add([.published(dates.parse(first), text: dates.parse(first)?.text ?? first)])
            case "updated", "lastmod", "modified", "last_modified", "updated_at", "date_modified":
                result.article.add([.updated(dates.parse(first), text: dates.parse(first)?.text ?? first)])
            case "author", "authors", "byline", "writer", "writers":
                let names = list ? values : (LineClassifier.names(first, requireCapitals: false) ?? [first])
                result.article.add([.authors(names.map(\.collapsedSpaces))])
            case "tags", "tag", "keywords", "topics":
                result.article.add([.tags(list ? values.flatMap(LineClassifier.tagList) : LineClassifier.tagList(first))])
            case "section", "category", "categories", "kicker":
                result.article.add([.section(first.collapsedSpaces)])
            case "related":
                result.article.add([.related(values.map(LineClassifier.relatedTitle))])
            case "subtitle", "description", "summary", "excerpt", "dek":
                result.article.add([.meta(key, first)])
            default:
                result.article.add([.meta(key, values.joined(separator: ", "))])
            }
        }
        return result
    }

    private static func unquote(_ text: String) -> String {
        let t = text.trimmed
        if t.count >= 2, (t.hasPrefix("\"") && t.hasSuffix("\"")) || (t.hasPrefix("'") && t.hasSuffix("'")) {
            return String(t.dropFirst().dropLast())
        }
        return t
    }
}
