-- Counted story links (/r/...): see the SQLite migration of the same name.
ALTER TABLE installation ADD COLUMN link_key TEXT NOT NULL DEFAULT '';
UPDATE installation
   SET link_key = replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
ALTER TABLE lists ADD COLUMN click_counting BIGINT NOT NULL DEFAULT 1 CHECK (click_counting IN (0, 1));
ALTER TABLE stories ADD COLUMN views BIGINT NOT NULL DEFAULT 0;

CREATE TABLE story_clicks (
    edition_id BIGINT NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    story_id   BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    place      TEXT   NOT NULL CHECK (place IN ('lead', 'section', 'thumbnail', 'archive')),
    clicks     BIGINT NOT NULL DEFAULT 0,
    filtered   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (edition_id, story_id, place)
);
CREATE INDEX story_clicks_by_story ON story_clicks (story_id);

CREATE TABLE click_sketches (
    edition_id BIGINT NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    story_id   BIGINT NOT NULL,
    registers  BYTEA  NOT NULL,
    PRIMARY KEY (edition_id, story_id)
);
