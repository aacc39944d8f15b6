import SluiceCore

/// The words one language's news articles are laid out with: date labels, byline and credit
/// words, caption and editor lines, section names. `text_articles` reads every language of
/// ``builtIn`` at once (their words do not collide), so a new language is a new table here —
/// plus its month names in SluiceCore's `DateVocabulary` — not new code.
///
/// Labels are lower case and are matched before `:`, ` :` (French spacing) or `：` (Chinese).
struct ArticleVocabulary: Sendable {
    /// ISO 639-1 code.
    var language: String
    /// `Published:` lines; also without a colon before a date (`Publié le 15 mars 2025`).
    var publishedLabels: Set<String> = []
    /// `Updated:` lines, with or without a colon.
    var updatedLabels: Set<String> = []
    /// Words between a date label and its date, or left beside a date on a line (`le`, `am`).
    var dateFillers: Set<String> = []
    /// `Author: A` lines.
    var authorLabels: Set<String> = []
    /// Words that open a byline, lower case, with their trailing space or mark (`par `, `记者`).
    var bylinePrefixes: [String] = []
    /// Words between two names (` and `, ` et `, `、`).
    var nameJoiners: [String] = []
    /// Words that put a place after a name (` in `, ` à `), cut off.
    var placeWords: [String] = []
    /// Roles and outlets dropped from bylines (lower case, whole words).
    var roleWords: Set<String> = []
    /// Roles written straight before a name in scripts without spaces (`新华社记者张三`).
    var rolePrefixes: [String] = []
    /// Words after names in scripts without spaces (`张三 摄`, `李四 报道`).
    var roleSuffixes: [String] = []
    var sectionLabels: Set<String> = []
    var tagLabels: Set<String> = []
    var relatedLabels: Set<String> = []
    /// Keys taken as `meta` in the header too, and with long values in the trailer.
    var metaKeys: Set<String> = []
    /// Keys that mark a trailer line whatever their value looks like.
    var trailerKeys: Set<String> = []
    /// Labels before a photo credit, as written (`Photo:`, `Фото:`), matched case-sensitively.
    var creditLabels: [String] = []
    /// Labels of a credit in parentheses (`(Photo: X)`, `(фото: X)`), lower case.
    var parenthesizedCreditLabels: [String] = []
    /// How a caption starts when its credit may be missing (`图为`).
    var captionStarts: [String] = []
    /// The word after a photographer's name (`新华社记者 张三 摄`).
    var photographerMarks: [String] = []
    /// News agencies and photo agencies, lower case.
    var agencies: Set<String> = []
    /// Section names that make a kicker line even when not in capitals (`国际`, `Politique`).
    var sections: Set<String> = []
    /// The end of an agency dateline in scripts without spaces: `新华社比什凯克11月20日电`.
    var datelineEnds: [String] = []
    /// The alphabet of names that make a byline without a label when they stand alone on a
    /// line right after the title (`Иван Петров`): outlets in that language lay bylines out so.
    /// `nil` where such a line could as well be a standfirst or a subheading.
    var bareBylineLetters: ClosedRange<UInt32>?

    /// English, Chinese (simplified and traditional), Russian, French, German and Spanish.
    static let builtIn: [ArticleVocabulary] = [english, chinese, russian, french, german, spanish]

    /// One set from every table.
    static func merged(_ key: KeyPath<ArticleVocabulary, Set<String>>) -> Set<String> {
        builtIn.reduce(into: Set<String>()) { $0.formUnion($1[keyPath: key]) }
    }

    /// One list from every table, longest first (so that `本报记者` wins over `记者`).
    static func merged(_ key: KeyPath<ArticleVocabulary, [String]>) -> [String] {
        var seen = Set<String>()
        var list: [String] = []
        for v in builtIn {
            for s in v[keyPath: key] where seen.insert(s).inserted { list.append(s) }
        }
        return list.sorted { $0.unicodeScalars.count > $1.unicodeScalars.count }
    }

    // MARK: - The tables

    static let english = ArticleVocabulary(
        language: "en",
        publishedLabels: [
            "published", "published on", "published at", "publication date", "first published", "posted", "posted on",
            "posted at", "date", "dated", "created", "released", "issued", "filed", "pubdate", "publish date",
            "date published", "originally published",
        ],
        updatedLabels: [
            "updated", "last updated", "updated on", "updated at", "modified", "last modified", "revised", "last revised",
            "edited", "date modified", "lastmod",
        ],
        dateFillers: ["on", "at", "posted", "published", "updated", "date", "time", "local"],
        authorLabels: [
            "by", "author", "authors", "byline", "writer", "writers", "reporter", "reporters", "written by", "reported by",
            "story by", "words by", "text by",
        ],
        bylinePrefixes: ["by ", "written by ", "story by ", "words by ", "reporting by ", "reported by ", "text by "],
        nameJoiners: [" and ", " And ", " AND ", " & ", " with ", " With ", " WITH "],
        placeWords: [" in ", " for "],
        roleWords: [
            "writer", "writers", "reporter", "reporters", "correspondent", "correspondents", "editor", "editors", "staff",
            "contributor", "contributors", "contributing", "columnist", "journalist", "journalists", "chief", "producer",
            "intern", "photographer", "special", "senior", "bureau", "desk", "team", "newsroom", "analyst",
            // outlets
            "times", "news", "daily", "post", "press", "agency", "reuters", "xinhua", "ap", "afp", "bloomberg", "cnn",
            "bbc", "wire", "herald", "journal", "tribune", "gazette", "magazine", "online", "network", "service",
            "telegraph", "guardian", "review", "weekly", "dpa", "efe", "kyodo", "yonhap", "tass",
        ],
        sectionLabels: ["section", "category", "categories", "kicker", "desk", "channel"],
        tagLabels: ["tags", "tag", "keywords", "topics", "filed under", "subjects"],
        relatedLabels: [
            "related", "related article", "related articles", "related story", "related stories", "related news",
            "related coverage", "related content", "related links", "related reading", "read more", "read also",
            "also read", "see also", "more on this", "more on this story", "recommended", "you may also like",
            "further reading",
        ],
        metaKeys: [
            "source", "sources", "editor", "editors", "editing", "edited by", "editor in charge", "editor-in-charge",
            "responsible editor", "chief editor", "copy editor", "reporter", "translator", "translated by", "proofreader",
            "contact", "email", "e-mail", "copyright", "credit", "credits", "agency", "location", "dateline", "language",
            "url", "link", "note", "notes", "correction", "clarification", "disclaimer", "word count", "photo editor",
            "graphics", "additional reporting", "reporting", "producer", "illustration", "video", "via", "origin",
        ],
        trailerKeys: [
            "editor", "editors", "source", "sources", "contact", "contacts", "reporter", "reporters", "translator",
            "translated by", "writer", "author", "authors", "photo", "photos", "photographer", "credit", "credits", "email",
            "e-mail", "copyright", "correspondent", "producer", "desk", "filed", "via", "originally published",
            "first published", "chief editor", "executive editor", "responsible editor", "web editor", "copy editor",
        ],
        creditLabels: [
            "Photo credit:", "Photo courtesy of", "Photo courtesy:", "Image credit:", "Photograph:", "Photographs:",
            "Photos:", "Photo:", "Photo by", "Photos by", "Image:", "Picture:", "Pictures:", "Credit:", "PHOTO:",
            "PHOTOS:", "File photo:", "Video:",
        ],
        parenthesizedCreditLabels: [
            "photo:", "photos:", "photo by", "photos by", "photograph:", "photo credit:", "image:", "image credit:",
            "credit:", "picture:", "file photo:", "courtesy of", "photo courtesy of", "photo/",
        ],
        agencies: [
            "xinhua", "ap", "afp", "reuters", "epa", "getty images", "getty", "cfp", "ic", "vcg", "cns",
            "china news service", "bloomberg", "kyodo", "yonhap", "aap", "anp", "dpa", "efe", "tass", "sputnik", "anadolu",
            "nurphoto", "shutterstock", "alamy", "ians", "pti", "ani", "sipa", "zuma",
        ])

    static let chinese = ArticleVocabulary(
        language: "zh",
        publishedLabels: [
            "发布时间", "发布日期", "发表时间", "发布于", "发表于", "时间", "日期", "稿件日期",
            "發布時間", "發布日期", "發佈時間", "發表時間", "發布於", "發表於", "時間", "日期",
        ],
        updatedLabels: ["更新时间", "更新日期", "更新于", "修改时间", "更新時間", "更新日期", "更新於"],
        dateFillers: ["发布", "發布", "发表", "發表", "更新"],
        authorLabels: ["作者", "记者", "記者", "文", "撰文", "撰稿", "本报记者", "本報記者", "通讯员", "通訊員"],
        bylinePrefixes: ["本报记者 ", "本報記者 ", "新华社记者 ", "新華社記者 ", "记者 ", "記者 ", "文/", "文／", "文｜",
                         "作者 "],
        nameJoiners: ["、", "，", " 和 ", " 與 ", " 与 "],
        rolePrefixes: ["新华社记者", "新華社記者", "本报记者", "本報記者", "中新社记者", "中新社記者", "央视记者", "特约记者",
                       "特約記者", "实习记者", "實習記者", "记者", "記者", "通讯员", "通訊員", "实习生", "實習生", "编译",
                       "編譯"],
        roleSuffixes: ["报道", "報導", "报导", "摄", "攝", "摄影", "攝影", "编译", "編譯"],
        sectionLabels: ["栏目", "欄目", "频道", "頻道", "分类", "分類"],
        tagLabels: ["标签", "標籤", "关键词", "關鍵詞", "关键字", "關鍵字"],
        relatedLabels: ["相关阅读", "相關閱讀", "延伸阅读", "延伸閱讀", "相关新闻", "相關新聞", "推荐阅读", "推薦閱讀"],
        metaKeys: ["来源", "來源", "编辑", "編輯", "责任编辑", "責任編輯", "责编", "責編", "校对", "校對", "审核", "審核",
                   "翻译", "翻譯", "摄影", "攝影", "稿源"],
        trailerKeys: ["来源", "來源", "编辑", "編輯", "责任编辑", "責任編輯", "责编", "責編", "校对", "校對", "审核", "審核",
                      "作者", "记者", "記者", "摄影", "攝影", "稿源"],
        creditLabels: ["图片来源：", "圖片來源：", "图片：", "圖片：", "图：", "圖："],
        parenthesizedCreditLabels: ["图片来源：", "圖片來源：", "图：", "圖："],
        captionStarts: ["图为", "圖為", "图片为", "圖片為", "上图", "上圖", "下图", "下圖"],
        photographerMarks: ["摄", "攝", "发", "發"],
        agencies: ["新华社", "新華社", "中新社", "中新网", "中新網", "人民网", "人民網", "央视新闻", "央視新聞", "中央社"],
        sections: ["国际", "國際", "国内", "國內", "时政", "時政", "外交", "财经", "財經", "经济", "經濟", "社会", "社會",
                   "科技", "军事", "軍事", "体育", "體育", "文化", "两岸", "兩岸", "评论", "評論"],
        datelineEnds: ["日电", "日電", "日讯", "日訊"])

    static let russian = ArticleVocabulary(
        language: "ru",
        publishedLabels: ["опубликовано", "дата публикации", "дата", "опубликован", "опубликована"],
        updatedLabels: ["обновлено", "дата обновления", "изменено", "обновлен", "обновлена"],
        dateFillers: ["в"],
        authorLabels: ["автор", "авторы", "текст", "корреспондент"],
        bylinePrefixes: ["автор: ", "текст: "],
        nameJoiners: [" и ", " И "],
        placeWords: [" из ", " в "],
        roleWords: ["корреспондент", "корреспондента", "обозреватель", "специальный", "спецкор", "редакция", "редактор",
                    "риа", "новости", "тасс", "интерфакс", "коммерсантъ", "известия", "ведомости", "agency", "sputnik"],
        sectionLabels: ["рубрика", "раздел"],
        tagLabels: ["теги", "метки", "ключевые слова", "темы"],
        relatedLabels: ["читайте также", "смотрите также", "по теме", "читать также", "еще по теме", "ещё по теме"],
        metaKeys: ["источник", "редактор", "выпускающий редактор", "фото", "перевод"],
        trailerKeys: ["источник", "редактор", "выпускающий редактор", "фото", "перевод", "автор"],
        creditLabels: ["Фото:", "ФОТО:", "Фото ", "Фотография:", "Источник фото:"],
        parenthesizedCreditLabels: ["фото:", "фото ", "фото/"],
        agencies: ["риа новости", "тасс", "интерфакс", "sputnik", "спутник", "ria novosti", "kabar", "кабар",
                   "24.kg", "акипресс", "akipress"],
        sections: ["политика", "в мире", "экономика", "общество", "происшествия", "мир", "россия"],
        bareBylineLetters: 0x0400...0x04FF)

    static let french = ArticleVocabulary(
        language: "fr",
        publishedLabels: ["publié le", "publié", "date de publication", "mis en ligne le", "mis en ligne"],
        updatedLabels: ["mis à jour le", "mis à jour", "mise à jour", "dernière mise à jour", "modifié le", "modifié",
                        "actualisé le"],
        dateFillers: ["le", "à", "publié", "mis", "jour"],
        authorLabels: ["auteur", "auteurs", "par"],
        bylinePrefixes: ["par "],
        nameJoiners: [" et ", " ET "],
        placeWords: [" à ", " au "],
        roleWords: ["envoyé", "envoyée", "spécial", "spéciale", "correspondant", "correspondante", "journaliste",
                    "rédaction", "notre", "monde", "figaro", "libération", "afp", "ouest-france"],
        sectionLabels: ["rubrique"],
        tagLabels: ["mots-clés", "mots clés", "tags", "thèmes"],
        relatedLabels: ["lire aussi", "à lire aussi", "voir aussi", "sur le même sujet", "à lire", "lire également"],
        metaKeys: ["source", "rédaction", "édition", "traduction", "avec"],
        trailerKeys: ["source", "rédaction", "édition", "traduction"],
        creditLabels: ["Photo :", "Photos :", "PHOTO :", "Crédit photo :", "Crédits photo :", "Crédit :", "Photo AFP",
                       "PHOTO AFP"],
        parenthesizedCreditLabels: ["photo :", "crédit photo :", "crédit :"],
        agencies: ["afp", "reuters", "ap", "sipa", "maxppp", "hans lucas"],
        sections: ["international", "politique", "économie", "société", "monde", "diplomatie", "asie"])

    static let german = ArticleVocabulary(
        language: "de",
        publishedLabels: ["veröffentlicht am", "veröffentlicht", "erschienen am", "erstellt am", "datum", "stand"],
        updatedLabels: ["aktualisiert am", "aktualisiert", "zuletzt aktualisiert", "geändert am", "letzte änderung"],
        dateFillers: ["am", "um", "uhr", "veröffentlicht", "aktualisiert"],
        authorLabels: ["autor", "autorin", "autoren", "von", "text"],
        bylinePrefixes: ["von "],
        nameJoiners: [" und ", " UND "],
        placeWords: [" aus ", " in "],
        roleWords: ["korrespondent", "korrespondentin", "redakteur", "redakteurin", "redaktion", "unserem", "unserer",
                    "dpa", "afp", "reuters", "spiegel", "zeit", "faz", "sz", "tagesschau", "welt"],
        sectionLabels: ["rubrik", "ressort"],
        tagLabels: ["schlagwörter", "schlagworte", "themen", "stichwörter", "tags"],
        relatedLabels: ["mehr zum thema", "lesen sie auch", "auch interessant", "weitere artikel", "das könnte sie auch interessieren"],
        metaKeys: ["quelle", "redaktion", "bearbeitung", "übersetzung", "mitarbeit"],
        trailerKeys: ["quelle", "redaktion", "bearbeitung", "übersetzung", "mitarbeit"],
        creditLabels: ["Foto:", "Fotos:", "Bild:", "Bilder:", "FOTO:"],
        parenthesizedCreditLabels: ["foto:", "bild:", "fotos:"],
        agencies: ["dpa", "afp", "reuters", "ap", "epd", "kna", "picture alliance", "imago", "getty images"],
        sections: ["politik", "ausland", "inland", "wirtschaft", "international", "welt"])

    static let spanish = ArticleVocabulary(
        language: "es",
        publishedLabels: ["publicado", "publicado el", "fecha de publicación", "fecha", "publicada el"],
        updatedLabels: ["actualizado", "actualizado el", "actualizada el", "última actualización", "modificado el"],
        dateFillers: ["el", "a", "las", "de", "publicado", "actualizado"],
        authorLabels: ["autor", "autora", "autores", "por"],
        bylinePrefixes: ["por "],
        nameJoiners: [" y ", " Y "],
        placeWords: [" en ", " desde "],
        roleWords: ["corresponsal", "enviado", "enviada", "especial", "redacción", "nuestro", "nuestra",
                    "efe", "europa", "press", "país", "mundo", "afp"],
        sectionLabels: ["sección"],
        tagLabels: ["etiquetas", "temas", "palabras clave"],
        relatedLabels: ["lee también", "lea también", "te puede interesar", "más información", "noticias relacionadas",
                        "relacionado"],
        metaKeys: ["fuente", "edición", "redacción", "traducción"],
        trailerKeys: ["fuente", "edición", "redacción", "traducción"],
        creditLabels: ["Foto:", "Fotos:", "FOTO:", "Imagen:", "Foto de", "Fotografía:"],
        parenthesizedCreditLabels: ["foto:", "foto de", "imagen:"],
        agencies: ["efe", "europa press", "afp", "reuters", "ap", "xinhua"],
        sections: ["internacional", "política", "economía", "mundo", "sociedad", "asia"])
}
