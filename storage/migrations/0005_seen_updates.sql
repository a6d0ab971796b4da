-- Replayed updates: the last update id whose writes were committed, per person. Written in
-- the same transaction as the answer it carried, so a replay after a crash is recognised.
CREATE TABLE seen_updates (
    user_id    INTEGER PRIMARY KEY,
    update_id  INTEGER NOT NULL
);
