-- Editions: one per list and local date, rendered once, with the stories they carry.

CREATE TABLE editions (
    id           INTEGER PRIMARY KEY,
    list_id      INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    local_date   TEXT    NOT NULL,          -- YYYY-MM-DD in the list's timezone
    status       TEXT    NOT NULL CHECK (status IN ('ready', 'sending', 'sent', 'skipped')),
    subject      TEXT,                      -- NULL for a skipped edition
    html         TEXT,                      -- rendered once, with personalisation slots
    text         TEXT,
    built_at     INTEGER NOT NULL,
    completed_at INTEGER,
    UNIQUE (list_id, local_date)
);

CREATE TABLE edition_stories (
    edition_id INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    story_id   INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    PRIMARY KEY (edition_id, story_id)
) WITHOUT ROWID;

-- "Has any edition of this list carried this story?" is asked per candidate story.
CREATE INDEX edition_stories_by_story ON edition_stories (story_id);
