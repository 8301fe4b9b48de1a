-- Each list's language (BCP 47) and whether stories after the lead show a thumbnail; what is
-- known of each story's picture, learned when the story arrives, never when mail is sent.

ALTER TABLE lists ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE lists ADD COLUMN thumbnails INTEGER NOT NULL DEFAULT 0 CHECK (thumbnails IN (0, 1));

ALTER TABLE stories ADD COLUMN image_width INTEGER CHECK (image_width > 0);
ALTER TABLE stories ADD COLUMN image_height INTEGER CHECK (image_height > 0);
ALTER TABLE stories ADD COLUMN image_caption TEXT;
ALTER TABLE stories ADD COLUMN image_credit TEXT;
-- When Herald last tried to read the picture's size; NULL: not yet.
ALTER TABLE stories ADD COLUMN image_checked_at INTEGER;

-- The archive index lists editions newest first with their lead headline.
CREATE INDEX editions_by_list_date ON editions (list_id, local_date DESC);
