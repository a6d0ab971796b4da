-- Failed sends are retried with a growing delay until the message is stale (not after a
-- fixed number of ticks); a message sent in parts remembers how many parts went out; a
-- claim names the process that made it, so only stale claims are called uncertain.
ALTER TABLE deliveries ADD COLUMN next_try_at TEXT;
ALTER TABLE deliveries ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN owner TEXT;
