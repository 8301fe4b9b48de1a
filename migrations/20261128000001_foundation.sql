-- Lists, subscribers, their per-list subscriptions with consent, and stories.
-- Timestamps are Unix seconds (UTC). Append-only: change the schema in a new migration.

CREATE TABLE lists (
    id           INTEGER PRIMARY KEY,
    slug         TEXT    NOT NULL UNIQUE,
    title        TEXT    NOT NULL,
    schedule     TEXT    NOT NULL,          -- cron, 5 or 6 fields
    timezone     TEXT    NOT NULL,          -- IANA name
    max_stories  INTEGER NOT NULL CHECK (max_stories BETWEEN 1 AND 100),
    from_address TEXT,                      -- NULL: newsletter.from
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- One row per person; the address is stored lower-cased, so UNIQUE is case-insensitive.
CREATE TABLE subscribers (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL UNIQUE,
    name       TEXT,
    created_at INTEGER NOT NULL
);

-- A person's standing on one list, with the consent record GDPR asks for.
CREATE TABLE subscriptions (
    list_id         INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    status          TEXT    NOT NULL
                    CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    consent_source  TEXT    NOT NULL CHECK (consent_source IN ('cli', 'import', 'web')),
    consent_at      INTEGER NOT NULL,
    consent_ip      TEXT,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    bounce_count    INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (list_id, subscriber_id)
) WITHOUT ROWID;

-- Erasing a person (ON DELETE CASCADE) looks subscriptions up by subscriber.
CREATE INDEX subscriptions_by_subscriber ON subscriptions (subscriber_id);

CREATE TABLE stories (
    id           INTEGER PRIMARY KEY,
    url          TEXT    NOT NULL UNIQUE,
    guid         TEXT    UNIQUE,            -- feed item id, when the story came from a feed
    title        TEXT    NOT NULL,
    summary      TEXT,
    author       TEXT,
    section      TEXT    NOT NULL DEFAULT 'news',
    image_url    TEXT,
    published_at INTEGER NOT NULL,
    updated_at   INTEGER,
    score        INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

CREATE INDEX stories_by_published ON stories (published_at);
