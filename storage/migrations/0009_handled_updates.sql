-- Replayed updates are recognised by their exact id: after a week without updates Telegram
-- may start its ids again anywhere, so "not above the last one" would drop new answers.
-- Written in the same transaction as the answer the update carried; kept for a week
-- (Telegram keeps an unconfirmed update about 24 hours).
CREATE TABLE handled_updates (
    update_id   INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    handled_at  TEXT NOT NULL
);
CREATE INDEX handled_updates_by_time ON handled_updates (handled_at);
-- Each person's last handled update, as the old table knew it: a crash just before the
-- upgrade may still redeliver it.
INSERT OR IGNORE INTO handled_updates (update_id, user_id, handled_at)
SELECT update_id, user_id, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') FROM seen_updates;
DROP TABLE seen_updates;
