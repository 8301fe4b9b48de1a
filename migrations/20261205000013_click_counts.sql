-- Counted story links (/r/...). The key signs each link, so nobody can mint one. A list may turn
-- counting off. A site may send page views beside votes; the ranking weighs both.
ALTER TABLE installation ADD COLUMN link_key TEXT NOT NULL DEFAULT '';
UPDATE installation SET link_key = lower(hex(randomblob(32)));
ALTER TABLE lists ADD COLUMN click_counting INTEGER NOT NULL DEFAULT 1 CHECK (click_counting IN (0, 1));
ALTER TABLE stories ADD COLUMN views INTEGER NOT NULL DEFAULT 0;

-- Counts only: nothing here names a reader, an address, a client or a time of a click.
-- `place` is where the link stood (`archive`: the web copy or a test copy, which carry no
-- message tag); `filtered` counts what looked like a scanner or a prefetch, not a read.
CREATE TABLE story_clicks (
    edition_id INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    story_id   INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    place      TEXT    NOT NULL CHECK (place IN ('lead', 'section', 'thumbnail', 'archive')),
    clicks     INTEGER NOT NULL DEFAULT 0,
    filtered   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (edition_id, story_id, place)
) WITHOUT ROWID;
CREATE INDEX story_clicks_by_story ON story_clicks (story_id);

-- HyperLogLog registers of the random per-message tags that clicked (story_id 0: any story of
-- the edition). Merged by taking each register's maximum, so nodes and restarts add up; the
-- tags themselves are never stored.
CREATE TABLE click_sketches (
    edition_id INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    story_id   INTEGER NOT NULL,
    registers  BLOB    NOT NULL,
    PRIMARY KEY (edition_id, story_id)
) WITHOUT ROWID;
