-- A note from the desk and a subject of the day, for one list's edition of a date, set before
-- the edition is built (the edition then carries them rendered).
CREATE TABLE edition_notes (
    list_id    INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    local_date TEXT    NOT NULL,
    note       TEXT,                -- Markdown, the safe subset of domain::desk_note
    subject    TEXT,
    changed_by TEXT    NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (list_id, local_date)
);
