-- Editors steer an edition before it is built: a pinned story leads its section whatever its
-- score, a dropped one never appears. A withdrawn story (a retraction) is in no later edition of
-- any list; what was sent stays as it was.
ALTER TABLE stories ADD COLUMN withdrawn_at INTEGER;

CREATE TABLE edition_picks (
    list_id    INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    local_date TEXT    NOT NULL,
    story_id   INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    pick       TEXT    NOT NULL CHECK (pick IN ('pin', 'drop')),
    position   INTEGER CHECK (position > 0),   -- a pin's place in its section; NULL: first
    changed_by TEXT    NOT NULL,               -- the shell user or the API token's name
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (list_id, local_date, story_id)
);
CREATE INDEX edition_picks_by_story ON edition_picks (story_id);
