-- The daemon's schedule state and double opt-in.

-- When each list's next edition is due (UTC seconds), and the schedule (cron and timezone) it was
-- computed from, so a `list set` while the daemon runs is noticed and the time recomputed.
ALTER TABLE lists ADD COLUMN next_due_at INTEGER;
ALTER TABLE lists ADD COLUMN schedule_key TEXT;

-- The secret half of a web sign-up's confirmation link, and when that mail last went out (a
-- cooldown keeps repeated sign-ups from flooding an address).
ALTER TABLE subscriptions ADD COLUMN confirm_secret TEXT;
ALTER TABLE subscriptions ADD COLUMN confirmation_sent_at INTEGER;
