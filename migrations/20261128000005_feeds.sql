-- Feeds (RSS, Atom, JSON Feed) the daemon polls for stories.

CREATE TABLE feeds (
    id             INTEGER PRIMARY KEY,
    url            TEXT    NOT NULL UNIQUE,
    section        TEXT    NOT NULL DEFAULT 'news',
    etag           TEXT,                    -- validators for conditional requests
    last_modified  TEXT,
    last_polled_at INTEGER,
    last_error     TEXT,                    -- NULL after a good poll
    created_at     INTEGER NOT NULL
);
