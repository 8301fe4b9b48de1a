-- One installation's identity: a random part in every Message-ID, so two databases (a test
-- install, a restored copy) never mint the same id.
CREATE TABLE installation (
    id TEXT NOT NULL
);
INSERT INTO installation (id) VALUES (lower(hex(randomblob(8))));

-- Confirmation mails are queued with the sign-up and sent by the daemon's sender, with retries:
-- when the mail was asked for, how many sends failed, and when to try next (NULL: nothing due).
-- confirmation_sent_at (the cooldown's start) is stamped only once a send succeeded.
ALTER TABLE subscriptions ADD COLUMN confirmation_requested_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN confirmation_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN confirmation_next_at INTEGER;
CREATE INDEX subscriptions_confirmation_due ON subscriptions (confirmation_next_at)
    WHERE confirmation_next_at IS NOT NULL;
