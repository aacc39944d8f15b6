import Foundation
import SluiceCore
import SluiceTestSupport
import SluiceTextArticles
import Testing

/// Layout rules of the article parser, one shape each: the fields a shape decides.
@Suite("article layouts")
struct LayoutTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var file = "a.txt"
        var text: String
        var expect: Fields
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "an all-caps headline over a paragraph is the title, not a kicker",
             text: "TYPHOON NEARS COAST\n\nThe typhoon is expected to make landfall on Friday, forecasters said, as residents stocked up.\n",
             expect: ["section": nil, "title": "TYPHOON NEARS COAST"]),
        Case(name: "a kicker in capitals over a headline is the section; a standfirst stays in the body",
             text: "HEADLINE\nSubhead that explains the headline a bit more.\nBy Jane Doe\nMarch 3, 2024\n\nBody.\n",
             expect: ["section": nil, "title": "HEADLINE", "authors": ["Jane Doe"],
                      "paragraphs": ["Subhead that explains the headline a bit more.", "Body."]]),
        Case(name: "a mixed-case kicker with a slash is the section",
             text: "World / Asia\nTyphoon nears coast\n\nBody text here.\n",
             expect: ["section": "World / Asia", "title": "Typhoon nears coast"]),
        Case(name: "a body paragraph starting with 'By the' is not a byline",
             text: "Budget passes\n\nBy the end of the year, the city will have spent its reserve.\n\nSource: the budget office disagrees.\n\nMore text.\n",
             expect: ["authors": [], "meta": [:],
                      "paragraphs": ["By the end of the year, the city will have spent its reserve.",
                                     "Source: the budget office disagrees.", "More text."]]),
        Case(name: "a trailing Note: line is meta, a Key: line in the middle of the body is not",
             text: "Budget passes\n\nWarning: prices rise.\n\nMore text.\n\nNote: This article has been updated.\n",
             expect: ["meta": ["Note": "This article has been updated."],
                      "paragraphs": ["Warning: prices rise.", "More text."]]),
        Case(name: "an interview's closing Q:/A: lines and an 'Update:' sentence stay in the body; short labels are meta",
             text: "Coach speaks\n\nThe new coach met the press.\n\nQ: What is your first priority?\n\nA: Defence. We conceded too many goals last season.\n\nUpdate: The club said on Tuesday it had signed a new goalkeeper.\n\nQ: Why?\n\nA: Yes.\n\nUpdate: Shares fell.\n\nEditor: Li Hua\nProducer: Wang Fang\nPublisher: Acme Inc.\n",
             expect: ["meta": ["Editor": "Li Hua", "Producer": "Wang Fang", "Publisher": "Acme Inc."],
                      "paragraphs": ["The new coach met the press.", "Q: What is your first priority?",
                                     "A: Defence. We conceded too many goals last season.",
                                     "Update: The club said on Tuesday it had signed a new goalkeeper.",
                                     "Q: Why?", "A: Yes.", "Update: Shares fell."]]),
        Case(name: "an editor is a credit, not an author: 'Edited by' lines and parts, and credits after a byline's semicolon",
             text: "Storm hits coast\nWritten by Li Wei | Edited by Zhang San\nBy Chen Jie; Additional reporting by Wang Fang\nMarch 3, 2024\n\nThe storm hit the coast on Sunday.\n",
             expect: ["authors": ["Li Wei", "Chen Jie"], "meta": ["Edited": "Zhang San", "Additional reporting": "Wang Fang"],
                      "paragraphs": ["The storm hit the coast on Sunday."]]),
        Case(name: "byline credits after a comma, a full stop or in brackets are meta, whatever their case",
             text: "Storm\nBy Jane Doe, edited by John Smith\nMarch 3, 2024\n\nBody.\n",
             expect: ["authors": ["Jane Doe"], "meta": ["Edited": "John Smith"], "paragraphs": ["Body."]]),
        Case(name: "byline credits in brackets, with a place, in capitals",
             text: "Storm\nBY JANE DOE (ADDITIONAL REPORTING BY ANN LEE IN Beijing)\nMarch 3, 2024\n\nBody.\n",
             expect: ["authors": ["JANE DOE"], "meta": ["Additional reporting": "ANN LEE"], "paragraphs": ["Body."]]),
        Case(name: "byline credits after 'with'",
             text: "Storm\nBy Jane Doe with additional reporting by Ann Lee and Bo Li\nMarch 3, 2024\n\nBody.\n",
             expect: ["authors": ["Jane Doe"], "meta": ["Additional reporting": "Ann Lee and Bo Li"], "paragraphs": ["Body."]]),
        Case(name: "'with' joins a co-author or an agency (dropped as an outlet)",
             text: "Storm\nBy Jane Roe and Bob Stone with AFP\nMarch 3, 2024\n\nBody.\n",
             expect: ["authors": ["Jane Roe", "Bob Stone"], "paragraphs": ["Body."]]),
        Case(name: "'with the Associated Press' after a name",
             text: "Storm\nBy Jane Roe with the Associated Press\nMarch 3, 2024\n\nBody.\n",
             expect: ["authors": ["Jane Roe"], "paragraphs": ["Body."]]),
        Case(name: "bylines: capitals, outlets and roles dropped, places dropped, 'Written by'",
             text: "Storm\nBY JOHN SMITH and Li Ming in Beijing, Associated Press\n\nBody.\n",
             expect: ["authors": ["JOHN SMITH", "Li Ming"]]),
        Case(name: "a byline naming only an outlet gives no authors",
             text: "Storm\nBy Global Times Staff Reporter\n\nBody.\n", expect: ["authors": [], "paragraphs": ["Body."]]),
        Case(name: "a role before the name is dropped: 'Xinhua writer Li Ming'",
             text: "Storm\nBy Xinhua writer Li Ming\n\nBody.\n", expect: ["authors": ["Li Ming"]]),
        Case(name: "'Written by', 'Posted:' and 'Last updated:' lines",
             text: "Storm\nWritten by Jane Doe\nPosted: 03/04/2024\nLast updated: March 5, 2024 at 10:00 am\n\nBody.\n",
             expect: ["authors": ["Jane Doe"], "published": "2024-03-04", "published_text": "03/04/2024",
                      "updated": "2024-03-05T10:00:00", "updated_text": "March 5, 2024 at 10:00 am"]),
        Case(name: "'Posted by X on DATE' gives the author and the date",
             text: "Garden notes\nPosted by Jane Roe on 3 March 2024 at 16:45\n\nBody.\n",
             expect: ["authors": ["Jane Roe"], "published": "2024-03-03T16:45:00"]),
        Case(name: "a date and time across slashes (Reuters style)",
             text: "Storm hits\nNovember 21, 2025 / 3:04 PM / Updated 2 hours ago\n\nBody.\n",
             expect: ["published": "2025-11-21T15:04:00", "published_text": "November 21, 2025 / 3:04 PM"]),
        Case(name: "a headline that contains a date stays the headline",
             text: "Election results of November 5, 2024\nBy Jane Doe\n\nBody.\n",
             expect: ["title": "Election results of November 5, 2024", "published": nil]),
        Case(name: "a headline with a date after a dash stays the headline",
             text: "Rail strike called off - March 3, 2024\n\nBody.\n",
             expect: ["title": "Rail strike called off - March 3, 2024", "paragraphs": ["Body."]]),
        Case(name: "a headline that looks like a photo credit stays the headline",
             text: "Photos: The week in pictures\nMarch 3, 2024\n\nBody.\n",
             expect: ["title": "Photos: The week in pictures", "captions": [], "published": "2024-03-03"]),
        Case(name: "a line starting in lower case continues the paragraph above",
             text: "Title\n\nPara one line one\npara one line two\n\nPara two.\n",
             expect: ["paragraphs": ["Para one line one para one line two", "Para two."]]),
        Case(name: "a headline alone is an article with no paragraphs",
             text: "Just a headline\n", expect: ["title": "Just a headline", "paragraphs": [], "body": "", "word_count": 0]),
        Case(name: "a Markdown 'Related articles' heading with a numbered list of links",
             file: "a.md",
             text: "# Title\n\nBody para one.\n\n## Related articles\n\n1. [First story](http://x)\n2. [Second story](http://y)\n",
             expect: ["related": ["First story", "Second story"], "paragraphs": ["Body para one."]]),
        Case(name: "wire captions: (Xinhua/Name) and a bare Photo: credit line",
             text: "Floods\n\nPeople wait.\n\nPhoto: Xinhua\n\nResidents wade through water in Fuzhou, Nov. 2, 2025. (Xinhua/Li Xin)\n\nMore text.\n",
             expect: ["captions": [["text": nil, "credit": "Xinhua"],
                                   ["text": "Residents wade through water in Fuzhou, Nov. 2, 2025.", "credit": "Xinhua/Li Xin"]],
                      "paragraphs": ["People wait.", "More text."]]),
        Case(name: "a US-style header with byline, Updated and Published parts between bars",
             text: "Storm hits\nBy Ana Lima | Updated Nov 21, 2025, 3:04 p.m. ET | Published Nov 21, 2025, 9:00 a.m. ET\n\nBody.\n",
             expect: ["authors": ["Ana Lima"], "published": "2025-11-21T09:00:00-05:00",
                      "updated": "2025-11-21T15:04:00-05:00", "updated_text": "Nov 21, 2025, 3:04 p.m. ET"]),
        Case(name: "front matter without a title: the first line is the headline, other keys are meta",
             file: "a.md", text: "---\nlayout: post\nauthor: Jane Roe\n---\nTitle after front matter\n\nBody.\n",
             expect: ["title": "Title after front matter", "authors": ["Jane Roe"], "meta": ["layout": "post"],
                      "paragraphs": ["Body."]]),
        Case(name: "a Markdown setext headline with a kicker above it",
             file: "a.md", text: "SCIENCE\n\nComet returns\n=============\n\n*By Ana Lima*\n\nText _with_ **emphasis** and `code`.\n",
             expect: ["section": "SCIENCE", "title": "Comet returns", "authors": ["Ana Lima"],
                      "paragraphs": ["Text with emphasis and code."]]),
        Case(name: "a dateline with a year gives the date; a date inside a sentence does not",
             text: "Council vote\n\nOn March 3, 2024, the council voted - unanimously - to approve the plan.\n",
             expect: ["published": nil, "published_text": nil]),
        Case(name: "trailer lines of several kinds in any order, with a copyright line",
             text: "Storm hits\n\nBody text.\n\nTags: weather; storms | #climate\nRelated: Storm season starts early\nSource: Weather Desk | Editor: Li Yan\n© 2025 Example News\n",
             expect: ["tags": ["weather", "storms", "climate"], "related": ["Storm season starts early"],
                      "meta": ["Source": "Weather Desk", "Editor": "Li Yan", "Copyright": "2025 Example News"],
                      "paragraphs": ["Body text."]]),
        Case(name: "list items at the end of the body are body, not related titles",
             text: "Checklist\n\nBring these:\n\n- water\n- a torch\n\nTags: safety\n",
             expect: ["related": [], "tags": ["safety"], "paragraphs": ["Bring these:", "water", "a torch"]]),
    ]

    @Test("each layout gives the fields it decides", arguments: cases)
    func layout(_ c: Case) throws {
        let dir = TemporaryDirectory("articles-layout")
        try dir.write(c.file, c.text)
        let (records, letters) = try readArticles(dir.path)
        #expect(letters.isEmpty, "\(letters.map(\.error))")
        let record = try #require(records.first)
        var diffs: [String] = []
        for (field, want) in c.expect where record[field] != want {
            diffs.append("\(field): expected \(json(want)), got \(json(record[field]))")
        }
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))")
    }
}
