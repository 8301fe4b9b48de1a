-- Editors steer an edition: see the SQLite migration of the same name.
ALTER TABLE stories ADD COLUMN withdrawn_at BIGINT;

CREATE TABLE edition_picks (
    list_id    BIGINT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    local_date TEXT   NOT NULL,
    story_id   BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    pick       TEXT   NOT NULL CHECK (pick IN ('pin', 'drop')),
    position   BIGINT CHECK (position > 0),
    changed_by TEXT   NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, local_date, story_id)
);
CREATE INDEX edition_picks_by_story ON edition_picks (story_id);
