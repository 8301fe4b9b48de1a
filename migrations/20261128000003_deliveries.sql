-- Deliveries: one row per (edition, subscriber), the state machine of each message.
-- pending -> sending -> sent | retry | failed; cancelled when the subscriber left in between.

CREATE TABLE deliveries (
    edition_id      INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'retry', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,                -- when a 'retry' row may be tried again
    last_error      TEXT,
    sent_at         INTEGER,
    PRIMARY KEY (edition_id, subscriber_id)
) WITHOUT ROWID;

-- Erasing a subscriber (ON DELETE CASCADE) looks deliveries up by subscriber.
CREATE INDEX deliveries_by_subscriber ON deliveries (subscriber_id);

-- The secret half of each subscription's unsubscribe link (128 random bits, hex). The link
-- names list and subscriber; the secret is compared in constant time.
ALTER TABLE subscriptions ADD COLUMN unsubscribe_secret TEXT;
UPDATE subscriptions SET unsubscribe_secret = lower(hex(randomblob(16)));
