-- Mailgun signs only a timestamp and a token: each token is taken once, with the digest of the
-- body it came with, so a signature copied onto another event is refused. Rows older than the
-- signature window are pruned. (Reader ids: an identity column never goes back by itself.)
CREATE TABLE webhook_tokens (
    provider    TEXT   NOT NULL,
    token       TEXT   NOT NULL,
    body_digest TEXT   NOT NULL,
    seen_at     BIGINT NOT NULL,
    PRIMARY KEY (provider, token)
);

-- The digest of the body a feed's parser failed on: the same body is not parsed again.
ALTER TABLE feeds ADD COLUMN failed_digest TEXT;
