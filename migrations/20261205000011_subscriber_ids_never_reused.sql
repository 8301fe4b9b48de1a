-- no-transaction
-- A reader's id is never given to another reader: a late bounce or complaint about an erased
-- reader must not land on whoever comes next. SQLite reuses the highest rowid once its row is
-- deleted unless the table is AUTOINCREMENT, which cannot be added in place: the table is
-- rebuilt with the same rows. Its children's foreign keys would cascade on DROP TABLE, so they
-- are switched off for the rebuild (outside a transaction, where SQLite allows that); the rows
-- keep their ids, so every reference still holds.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE subscribers_rebuilt (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT    NOT NULL UNIQUE,
    name       TEXT,
    created_at INTEGER NOT NULL
);

INSERT INTO subscribers_rebuilt (id, email, name, created_at)
SELECT id, email, name, created_at FROM subscribers;

DROP TABLE subscribers;
ALTER TABLE subscribers_rebuilt RENAME TO subscribers;

-- The counter starts past the highest id (the rename carried the copy's counter along).
INSERT INTO sqlite_sequence (name, seq)
SELECT 'subscribers', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'subscribers');
UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(id), 0) FROM subscribers)
WHERE name = 'subscribers' AND seq < (SELECT COALESCE(MAX(id), 0) FROM subscribers);

COMMIT;
PRAGMA foreign_keys = ON;
