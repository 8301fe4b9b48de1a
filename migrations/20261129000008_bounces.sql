-- Bounce and complaint reports. Each delivery's envelope sender (VERP) carries a tag
-- authenticated with this installation's bounce key, so a report names its delivery and nobody
-- can bounce someone else's address.
ALTER TABLE installation ADD COLUMN bounce_key TEXT NOT NULL DEFAULT '';
UPDATE installation SET bounce_key = lower(hex(randomblob(32)));

-- Every report processed, as evidence: what it said, what Herald did, and the report itself.
CREATE TABLE bounce_reports (
    id                INTEGER PRIMARY KEY,
    received_at       INTEGER NOT NULL,
    source            TEXT    NOT NULL,          -- 'pipe', 'maildir'
    kind              TEXT    NOT NULL
                      CHECK (kind IN ('hard', 'soft', 'delayed', 'complaint', 'auto_reply',
                                      'unrecognised')),
    -- SHA-256 of the report: an MTA that delivers it again (after a temporary failure of
    -- ours) changes nothing twice.
    fingerprint       TEXT    NOT NULL UNIQUE,
    subscriber_id     INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,
    edition_id        INTEGER REFERENCES editions(id) ON DELETE SET NULL,
    recipient         TEXT,                      -- the address the report names
    status            TEXT,                      -- the DSN status code, e.g. 5.1.1
    diagnostic        TEXT,
    feedback_type     TEXT,                      -- ARF Feedback-Type
    report_message_id TEXT,
    action            TEXT    NOT NULL,          -- what Herald did about it, in words
    raw               BLOB    NOT NULL           -- the report, its first 256 KiB
);
CREATE INDEX bounce_reports_by_subscriber ON bounce_reports (subscriber_id, received_at);
CREATE INDEX bounce_reports_by_time ON bounce_reports (received_at);
