-- Failures of the server are not the reader's: a delivery whose recipient kept answering 4xx
-- until delivery.max_attempts is 'deferred' (unfinished: a later run or `digest resend` tries
-- it again), never 'failed'. SQLite cannot change a CHECK constraint in place, so the table is
-- rebuilt with the same rows.

CREATE TABLE deliveries_new (
    edition_id      INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'retry', 'deferred', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,                -- when a 'retry' row may be tried again
    last_error      TEXT,
    sent_at         INTEGER,
    PRIMARY KEY (edition_id, subscriber_id)
) WITHOUT ROWID;

INSERT INTO deliveries_new (edition_id, subscriber_id, status, attempts, next_attempt_at, last_error, sent_at)
SELECT edition_id, subscriber_id, status, attempts, next_attempt_at, last_error, sent_at FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_by_subscriber ON deliveries (subscriber_id);

-- Why the edition's last run stopped short (the server's failure, named with host, stage and
-- reply); NULL once it is finished.
ALTER TABLE editions ADD COLUMN last_error TEXT;
