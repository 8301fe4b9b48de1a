-- Several nodes may send one edition (on PostgreSQL): a claimed row names its node and how long
-- the claim holds, so another node takes it over only once its claimant has stopped renewing.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;

-- A feed is polled by one node at a time: the poller's name and until when it may hold the feed.
ALTER TABLE feeds ADD COLUMN polling_by TEXT;
ALTER TABLE feeds ADD COLUMN polling_until INTEGER;
