/// The SQL of a sqlite sink's FTS5 index `<table>_fts`, made once per writer: the index and its
/// three triggers, and the two steps that let a transaction index its own inserts at its commit
/// (see `SQLiteSinkWriter.deferFullTextInserts()`).
struct FullTextIndexSQL {
    /// The index's name, unquoted.
    let name: String
    /// The names of its insert, delete and update triggers, unquoted.
    let triggers: [String]
    /// Creates the index and its triggers and indexes the rows already there.
    let create: String
    /// Drops the insert trigger and sets up the temporary triggers that note new rowids.
    let deferInserts: String
    /// Indexes the rows noted so far and forgets them; the deferral goes on.
    let indexNoted: String
    /// Indexes the noted rows, drops the temporary triggers and puts the insert trigger back.
    let indexDeferred: String

    init(table: String, fields: [String], tokenizeClause: String) {
        let name = "\(table)_fts"
        let triggers = ["ai", "ad", "au"].map { "\(name)_\($0)" }
        (self.name, self.triggers) = (name, triggers)
        let fts = quoteIdentifier(name)
        let quotedTable = quoteIdentifier(table)
        let cols = fields.map(quoteIdentifier)
        let colList = cols.joined(separator: ", ")
        func values(_ prefix: String) -> String { cols.map { "\(prefix).\($0)" }.joined(separator: ", ") }
        let (newValues, oldValues) = (values("new"), values("old"))
        let insertTrigger = """
            CREATE TRIGGER \(quoteIdentifier(triggers[0])) AFTER INSERT ON \(quotedTable) BEGIN
              INSERT INTO \(fts) (rowid, \(colList)) VALUES (new.rowid, \(newValues));
            END;
            """
        create = """
            CREATE VIRTUAL TABLE \(fts) USING fts5(\(colList), content=\(quoteLiteral(table)), content_rowid='rowid'\(tokenizeClause));
            \(insertTrigger)
            CREATE TRIGGER \(quoteIdentifier(triggers[1])) AFTER DELETE ON \(quotedTable) BEGIN
              INSERT INTO \(fts) (\(fts), rowid, \(colList)) VALUES ('delete', old.rowid, \(oldValues));
            END;
            CREATE TRIGGER \(quoteIdentifier(triggers[2])) AFTER UPDATE ON \(quotedTable) BEGIN
              INSERT INTO \(fts) (\(fts), rowid, \(colList)) VALUES ('delete', old.rowid, \(oldValues));
              INSERT INTO \(fts) (rowid, \(colList)) VALUES (new.rowid, \(newValues));
            END;
            INSERT INTO \(fts) (\(fts)) VALUES ('rebuild');
            """
        // Inside a trigger the table an INSERT or DELETE writes is named without its schema; a
        // TEMP trigger finds the temporary table first.
        let catchUp = """
            WHEN old.rowid IN (SELECT r FROM temp.sluice_fts_new) BEGIN
              INSERT INTO \(fts) (rowid, \(colList)) VALUES (old.rowid, \(oldValues));
              DELETE FROM sluice_fts_new WHERE r = old.rowid;
            END
            """
        deferInserts = """
            DROP TRIGGER IF EXISTS main.\(quoteIdentifier(triggers[0]));
            CREATE TEMP TABLE IF NOT EXISTS sluice_fts_new (r INTEGER PRIMARY KEY);
            CREATE TEMP TRIGGER sluice_fts_inserted AFTER INSERT ON main.\(quotedTable) BEGIN
              INSERT OR IGNORE INTO sluice_fts_new (r) VALUES (new.rowid);
            END;
            CREATE TEMP TRIGGER sluice_fts_updating BEFORE UPDATE ON main.\(quotedTable) \(catchUp);
            CREATE TEMP TRIGGER sluice_fts_deleting BEFORE DELETE ON main.\(quotedTable) \(catchUp);
            """
        indexNoted = """
            INSERT INTO \(fts) (rowid, \(colList))
              SELECT t.rowid, \(values("t")) FROM main.\(quotedTable) AS t JOIN temp.sluice_fts_new AS n ON t.rowid = n.r ORDER BY n.r;
            DELETE FROM temp.sluice_fts_new;
            """
        indexDeferred = indexNoted + """

            DROP TRIGGER temp.sluice_fts_inserted;
            DROP TRIGGER temp.sluice_fts_updating;
            DROP TRIGGER temp.sluice_fts_deleting;
            \(insertTrigger)
            """
    }
}
