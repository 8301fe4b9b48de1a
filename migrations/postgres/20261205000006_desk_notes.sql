-- A note from the desk and a subject of the day: see the SQLite migration of the same name.
CREATE TABLE edition_notes (
    list_id    BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    local_date TEXT   NOT NULL,
    note       TEXT,
    subject    TEXT,
    changed_by TEXT   NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, local_date)
);
