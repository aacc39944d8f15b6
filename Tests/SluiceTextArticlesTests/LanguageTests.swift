import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
@testable import SluiceTextArticles
import Testing

/// Articles in languages other than English: the detector, CJK word counts, and the header
/// shapes of each language that the corpus does not already pin.
@Suite("other languages")
struct LanguageTests {
    @Test("CLD2 names the language of each of the six languages, traditional Chinese as zh", arguments: [
        ("中国外交部长王毅19日在比什凯克会见吉尔吉斯斯坦总统扎帕罗夫，双方同意深化合作。", "zh"),
        ("中國外交部長王毅19日在比什凱克會見吉爾吉斯總統扎帕羅夫，雙方同意深化合作。", "zh"),
        ("Министр иностранных дел Китая Ван И встретился с президентом Киргизии в Бишкеке.", "ru"),
        ("Le ministre chinois des affaires étrangères a rencontré le président kirghiz à Bichkek.", "fr"),
        ("Der chinesische Außenminister traf den kirgisischen Präsidenten in Bischkek.", "de"),
        ("El ministro chino de Asuntos Exteriores se reunió con el presidente kirguís en Biskek.", "es"),
        ("China and Kyrgyzstan vowed deeper cooperation on connectivity and security on Wednesday.", "en"),
    ])
    func detects(_ c: (String, String)) {
        #expect(LanguageDetector.detect(c.0) == c.1)
    }

    /// Every corpus article and seed, decoded as the source decodes them.
    static func corpusTexts() throws -> [(name: String, text: String)] {
        let seeds = (try? FileManager.default.contentsOfDirectory(atPath: Corpus.seeds)) ?? []
        let paths = Corpus.articleNames.map { Corpus.articles + "/" + $0 } + seeds.sorted().map { Corpus.seeds + "/" + $0 }
        return try paths.map { path in
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return ((path as NSString).lastPathComponent, try TextDecoding.decode(data).text)
        }
    }

    @Test("plainly English articles are named without CLD2, and CLD2 names each of them English too")
    func englishFastPathAgreesWithCLD2() throws {
        var fast = 0
        for (name, text) in try Self.corpusTexts() where text.withBytes({ LanguageDetector.isPlainlyEnglish($0) }) {
            fast += 1
            #expect(LanguageDetector.detectWithCLD2(text) == "en", "\(name)")
            #expect(LanguageDetector.detect(text) == "en", "\(name)")
        }
        // The corpus's English articles (01–26 and the seed) mostly take the fast path; those that
        // do not (`the` once in the sample, an ideographic space) are asked of CLD2.
        #expect(fast >= 18)
    }

    @Test("articles in other languages never take the English fast path", arguments: [
        "Het kabinet heeft op dinsdag besloten dat de nieuwe spoorlijn naar het oosten van het land er komt. De minister zei dat het project meer dan een miljard euro kost en dat de bouw in het voorjaar begint. Of de planning haalbaar is, was de vraag.",
        "Regeringen har i dag besluttet at den nye jernbane til byen skal bygges for over en milliard kroner. Ministeren sagde at det er et vigtigt projekt for hele landet, og at arbejdet begynder til foråret, hvis alt går efter planen.",
        "Il governo ha deciso martedì che la nuova linea ferroviaria verso est sarà costruita. Il ministro ha detto che il progetto costa più di un miliardo di euro e che i lavori inizieranno in primavera, se tutto va secondo i piani.",
        "O governo decidiu na terça-feira que a nova linha ferroviária para o leste será construída. O ministro disse que o projeto custa mais de um bilhão de euros e que as obras começam na primavera.",
        "Rząd zdecydował we wtorek, że nowa linia kolejowa na wschód kraju zostanie zbudowana. To jest ważny projekt, powiedział minister, a prace zaczną się wiosną, jeśli wszystko pójdzie zgodnie z planem.",
        "The cooncil said on Tuesday that the new railway wid be built, an the meenister telt the folk that it wis a braw day for the toun. Wi the siller frae the government, the wark will stairt in the spring, an nae doot the bairns will be gled o it.",
        "Sinabi ng ministro na ang bagong riles ay itatayo sa susunod na taon. The project will cost more than the budget, ayon sa mga opisyal, and the work will start sa tagsibol, sabi nila sa mga mamamayan ng lungsod.",
        "Die Regierung hat am Dienstag beschlossen, dass die neue Bahnstrecke nach Osten gebaut wird. Der Minister sagte, das Projekt koste mehr als eine Milliarde Euro, und die Arbeiten begännen im Frühjahr.",
    ])
    func otherLanguagesTakeCLD2(_ text: String) throws {
        #expect(!text.withBytes { LanguageDetector.isPlainlyEnglish($0) })
    }

    @Test("text in another language that quotes English, or English with a quote in another language, is left to CLD2, which names the other language", arguments: [
        ("Regeringen besluttede tirsdag, at den nye jernbane mod øst skal bygges. Over for BBC sagde ministeren: \"The government has made it clear that the plan will go ahead, and that the cost of the project is not the issue.\" Oppositionen kritiserede udtalelsen skarpt og kræver en afstemning i Folketinget. Arbejdet begynder til foråret, hvis alt går efter planen, oplyser ministeriet.", "da"),
        ("Die Regierung hat am Dienstag beschlossen, dass die neue Bahnstrecke nach Osten gebaut wird, und zwar schneller als geplant. Der Minister sagte der BBC: \"The government has made it clear that the plan will go ahead, and that the cost of the project is not the issue.\" Die Opposition kritisierte die Aussage scharf und verlangte eine Abstimmung im Parlament. Eine Entscheidung soll im Herbst fallen, sagte ein Sprecher des Ministeriums am Mittwoch in Berlin. Auch die Gewerkschaften sind skeptisch.", "de"),
        ("The minister said the railway to the east will open in the spring, and that the cost has risen. In Berlin, the Chancellor told reporters: \"Wir werden die Strecke bauen, weil das Land sie braucht, und wir lassen uns von niemandem aufhalten.\" The opposition said it would vote against the plan.", "de"),
        ("The minister said on Tuesday that the railway to the east will open in the spring, and that the cost of the project has risen by a third since the plans were first drawn up. Speaking to reporters in Madrid, she added: \"No vamos a permitir que la oposición bloquee una obra que el país necesita desde hace décadas.\" The opposition said it would vote against the plan in parliament next week.", "es"),
        ("El Gobierno aprobó el martes la construcción de la nueva línea de tren hacia el este, que costará más de mil millones de euros. En una entrevista con la BBC, el ministro afirmó: \"The government has made it clear that the plan will go ahead, and that the cost of the project is not the issue.\" La oposición criticó duramente sus palabras y pidió una votación en el Parlamento. Las obras empezarán en primavera, según fuentes del ministerio.", "es"),
        ("Le gouvernement a décidé mardi de construire la nouvelle ligne ferroviaire vers l'est, qui coûtera plus d'un milliard d'euros. Interrogé par la BBC, le ministre a déclaré : « The government has made it clear that the plan will go ahead, and that the cost of the project is not the issue. » L'opposition a vivement critiqué ces propos et réclame un vote au Parlement. Les travaux commenceront au printemps, selon le ministère.", "fr"),
        ("Het kabinet heeft dinsdag besloten dat de nieuwe spoorlijn naar het oosten er komt. Tegen de BBC zei de minister: \"The government has made it clear that the plan will go ahead, and that the cost of the project is not the issue.\" De oppositie reageerde fel en wil een stemming in de Tweede Kamer. Of de planning haalbaar is, is nog de vraag. De bouw begint volgens het ministerie in het voorjaar.", "nl"),
        ("Sobrang init today, promise. The aircon at the office is broken pa, kaya lahat kami pawis na pawis. Sabi ni boss, the technician will come tomorrow, pero hindi ako naniniwala kasi last week din niya sinabi yan. Ewan ko ba, the management should really do something about this, kawawa kami dito.", "tl"),
    ])
    func quotesInOtherLanguagesTakeCLD2(_ c: (String, String)) {
        // Each has `the` at least twice and enough English words: only the other language's own
        // words keep it off the fast path.
        #expect(c.0.withBytes { LanguageDetector.hasTheTwice($0) })
        #expect(!c.0.withBytes { LanguageDetector.isPlainlyEnglish($0) })
        #expect(LanguageDetector.detect(c.0) == c.1)
    }

    @Test("abbreviations in capitals that spell another language's word (EST, PA, DA, IL) do not send English text to CLD2")
    func capitalsAreAbbreviations() {
        let text = "The PA news agency said the DA in Chicago, IL, would speak at 9 a.m. EST on Tuesday about the case, "
            + "and that the officers who were there have been told to wait for the report."
        #expect(text.withBytes { LanguageDetector.isPlainlyEnglish($0) })
        #expect(LanguageDetector.detectWithCLD2(text) == "en")
        // The same words in lower or title case are the other language's.
        #expect(!("Est " + text).withBytes { LanguageDetector.isPlainlyEnglish($0) })
    }

    @Test("the corpus's articles in other languages never take the English fast path")
    func corpusOtherLanguagesTakeCLD2() throws {
        for (name, text) in try Self.corpusTexts() where !name.hasPrefix("0") && !name.hasPrefix("1") && !name.hasPrefix("2") {
            #expect(!text.withBytes { LanguageDetector.isPlainlyEnglish($0) }, "\(name)")
        }
    }

    @Test("a short English text, or one with letters beyond Latin, is left to CLD2; accented Latin names and € do not matter")
    func englishFastPathNeedsEnoughPlainText() {
        #expect(!"The minister said the railway will open in the spring.".withBytes { LanguageDetector.isPlainlyEnglish($0) })
        let long = "The minister said on Tuesday that the railway to the east will open in the spring, and that the cost of the project has risen by a third since the plans were first drawn up."
        #expect(long.withBytes { LanguageDetector.isPlainlyEnglish($0) })
        #expect(!("Москва: " + long).withBytes { LanguageDetector.isPlainlyEnglish($0) })
        #expect(!("東京: " + long).withBytes { LanguageDetector.isPlainlyEnglish($0) })
        #expect(("“Zürich”, Łukasz Nowak — €5m. " + long).withBytes { LanguageDetector.isPlainlyEnglish($0) })
        #expect(LanguageDetector.detectWithCLD2("“Zürich”, Łukasz Nowak — €5m. " + long) == "en")
    }

    @Test("`the` is counted as a word in any case, at either end of the text and across 8-byte blocks, not inside other words")
    func theTwice() {
        func twice(_ s: String) -> Bool { s.withBytes { LanguageDetector.hasTheTwice($0) } }
        #expect(twice("the the"))
        #expect(twice("The plan and THE vote"))
        #expect(twice("On Monday the council met, and the mayor spoke."))
        #expect(twice("xxxxxxx the\nThe"))
        #expect(!twice("the other theme"))
        #expect(!twice("bathe then breathe"))
        #expect(!twice("the thé"))
        #expect(!twice("Only the one."))
        #expect(!twice(""))
    }

    @Test("text with no letters has no language")
    func noLanguage() {
        #expect(LanguageDetector.detect("") == nil)
        #expect(LanguageDetector.detect("12 345 — 2025") == nil)
    }

    @Test("a text longer than the sample is cut at a character boundary, not inside one")
    func longText() {
        let text = String(repeating: "中国外交部长王毅会见扎帕罗夫。", count: 2_000)  // 3 bytes per character
        #expect(text.utf8.count > LanguageDetector.sampleBytes)
        #expect(LanguageDetector.detect(text) == "zh")
    }

    @Test("Chinese text is named from its script without CLD2; Japanese and Korean are not taken for Chinese")
    func chineseByScript() {
        #expect(LanguageDetector.isChinese("中国外交部长王毅19日在比什凯克会见吉尔吉斯斯坦总统扎帕罗夫，双方同意深化合作。"))
        #expect(!LanguageDetector.isChinese("日本の外務大臣は東京で中国の外交部長と会談した。両国は協力を深めることで合意した。"))
        #expect(!LanguageDetector.isChinese("한국 외교부 장관은 서울에서 중국 외교부장과 회담했다. 양국은 협력을 강화하기로 했다."))
        #expect(!LanguageDetector.isChinese("China and Kyrgyzstan 中国 signed an agreement on the railway line on Thursday."))
        #expect(LanguageDetector.detect("日本の外務大臣は東京で中国の外交部長と会談した。両国は協力を深めることで合意した。") == "ja")
    }

    @Test("replacingBytes replaces every occurrence left to right, in any script, and leaves text without one alone")
    func replacingBytes() {
        #expect("A and B and C".replacingBytes(" and ", with: ", ") == "A, B, C")
        #expect("张三、李四、王五".replacingBytes("、", with: ", ") == "张三, 李四, 王五")
        #expect("Jane Doe".replacingBytes(" and ", with: ", ") == "Jane Doe")
        #expect("aaa".replacingBytes("aa", with: "b") == "ba")
    }

    @Test("each CJK character is a word; other runs in a word count once; text without CJK counts as before")
    func cjkWordCount() {
        #expect("2025年11月20日".articleWordCount == 6)
        #expect("“中国”".articleWordCount == 2)
        #expect("中国 外交部".articleWordCount == 5)
        #expect("한국어 テスト".articleWordCount == 6)
        #expect("a — b, c.".articleWordCount == 4)
        #expect("".articleWordCount == 0)
    }

    @Test("every language's table is data the parser merges: six languages, one code each")
    func tables() {
        #expect(ArticleVocabulary.builtIn.map(\.language) == ["en", "zh", "ru", "fr", "de", "es"])
        #expect(DateVocabulary.builtIn.map(\.language) == ["en", "zh", "ru", "fr", "de", "es"])
        #expect(LineClassifier.publishedLabels.isSuperset(of: ["published", "发布时间", "опубликовано", "publié le",
                                                               "veröffentlicht am", "publicado el"]))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var expect: Fields
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a sentence opening with Par, Von or Por is not a byline",
             text: "Le rail chinois\n\nPar ailleurs, le ministre a rencontré le président.\n\nVon Montag an gilt der neue Fahrplan.\n\nPor su parte, el ministro habló.\n",
             expect: ["authors": [], "paragraphs": ["Par ailleurs, le ministre a rencontré le président.",
                                                    "Von Montag an gilt der neue Fahrplan.",
                                                    "Por su parte, el ministro habló."]]),
        Case(name: "an agency in parentheses after a byline's names is not an author",
             text: "Le rail chinois\nPar Jean Dupont (AFP)\n\nBichkek (AFP) — Le projet avance.\n",
             expect: ["authors": ["Jean Dupont"], "paragraphs": ["Bichkek (AFP) — Le projet avance."]]),
        Case(name: "a Chinese agency dateline gives its reporters as authors and stays in the paragraph",
             text: "王毅会见扎帕罗夫\n\n新华社比什凯克11月19日电（记者 张三 李四）王毅19日会见扎帕罗夫。\n",
             expect: ["authors": ["张三", "李四"], "published": nil,
                      "paragraphs": ["新华社比什凯克11月19日电（记者 张三 李四）王毅19日会见扎帕罗夫。"]]),
        Case(name: "a Chinese agency dateline with a year gives the date",
             text: "王毅会见扎帕罗夫\n\n本报北京2025年11月19日电（记者王五）王毅19日会见扎帕罗夫。\n",
             expect: ["authors": ["王五"], "published": "2025-11-19", "published_text": "2025年11月19日"]),
        Case(name: "a Chinese paragraph opening with 记者 is not a byline",
             text: "铁路项目取得进展\n\n记者从项目指挥部获悉，多个标段已开工。\n",
             expect: ["authors": [], "paragraphs": ["记者从项目指挥部获悉，多个标段已开工。"]]),
        Case(name: "a Russian dateline without a year and no other date gives no date; Фото: is a credit",
             text: "Ван И в Бишкеке\n\nБИШКЕК, 20 ноября — РИА Новости. Министр прибыл в Бишкек.\n\nФото: РИА Новости\n",
             expect: ["published": nil, "meta": ["Agency": "РИА Новости"], "captions": [["text": nil, "credit": "РИА Новости"]],
                      "paragraphs": ["БИШКЕК, 20 ноября — РИА Новости. Министр прибыл в Бишкек."]]),
        Case(name: "a caption that names nobody has a null credit; 责任编辑 in brackets is meta",
             text: "中吉乌铁路开工\n\n图为施工现场。\n\n项目进展顺利。\n\n【责任编辑：赵六】\n",
             expect: ["captions": [["text": "图为施工现场。", "credit": nil]], "meta": ["责任编辑": "赵六"],
                      "paragraphs": ["项目进展顺利。"]]),
        Case(name: "a Chinese caption credited to an agency's release (新华社发) and a French Crédit photo",
             text: "中吉乌铁路开工\n\n施工现场一景。新华社发\n\nLes travaux ont commencé. Crédit photo : AFP\n\n项目进展顺利。\n",
             expect: ["captions": [["text": "施工现场一景。", "credit": "新华社"],
                                   ["text": "Les travaux ont commencé.", "credit": "AFP"]],
                      "paragraphs": ["项目进展顺利。"]]),
        Case(name: "a Russian byline without a label: names alone on a line under the title",
             text: "Ван И в Бишкеке\nИван Петров и Анна Смирнова\n\nМинистр прибыл в Бишкек с официальным визитом.\n",
             expect: ["authors": ["Иван Петров", "Анна Смирнова"],
                      "paragraphs": ["Министр прибыл в Бишкек с официальным визитом."]]),
        Case(name: "two capitalised words in Latin letters, or Cyrillic words further down, are not a byline",
             text: "Rail link agreed\nJane Doe\n\nChina and Kyrgyzstan agreed on Wednesday.\n\nВан И\n",
             expect: ["authors": [], "paragraphs": ["Jane Doe", "China and Kyrgyzstan agreed on Wednesday.", "Ван И"]]),
        Case(name: "a Cyrillic line with a lower-case word or punctuation is not a byline",
             text: "Ван И в Бишкеке\nВизит министра продолжается.\n\nМинистр прибыл в Бишкек.\n",
             expect: ["authors": []]),
        Case(name: "a sentence opening with a relative day and a dash is not a dateline",
             text: "Rail link agreed\n\nToday - the minister said - the line is open.\n",
             expect: ["published": nil, "meta": [:]]),
        Case(name: "a dateline without a year takes the year of the article's update",
             text: "Rail link agreed\nUpdated: Jan 3, 2026\n\nBISHKEK, Dec. 30 (Reuters) - The line opened.\n",
             expect: ["published": "2025-12-30", "published_text": "Dec. 30", "meta": ["Agency": "Reuters"]]),
        Case(name: "a Spanish all-number date is read day first",
             text: "Pekín y Biskek aceleran el ferrocarril\nPublicado: 05/02/2025 10:30\n\nChina y Kirguistán acordaron este miércoles acelerar la construcción de la línea.\n",
             expect: ["published": "2025-02-05T10:30:00", "language": "es"]),
        Case(name: "an English all-number date stays month first",
             text: "Rail link agreed\nPublished: 05/02/2025 10:30\n\nChina and Kyrgyzstan agreed on Wednesday to speed up the construction of the railway line.\n",
             expect: ["published": "2025-05-02T10:30:00", "language": "en"]),
    ]

    @Test("each shape of another language gives the fields it decides", arguments: cases)
    func shape(_ c: Case) throws {
        let dir = TemporaryDirectory("articles-languages")
        try dir.write("a.txt", c.text)
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
