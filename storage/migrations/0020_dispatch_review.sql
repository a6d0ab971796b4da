-- The 双月调度 summary is reviewed like the 月通报: its 点评 and 发布 are kept in the same
-- table, told apart by kind (a dispatch month can be a bulletin's period too).
CREATE TABLE digest_reviews (
    kind          TEXT NOT NULL CHECK (kind IN ('bulletin', 'dispatch')),
    period        TEXT NOT NULL,                  -- YYYY-MM (dispatch: the round's month)
    comment       TEXT,                           -- 点评, published with it
    comment_by    INTEGER,
    comment_at    TEXT,
    published_at  TEXT,                           -- 发布 pressed; NULL: at the set time
    published_by  INTEGER,
    PRIMARY KEY (kind, period)
);
INSERT INTO digest_reviews (kind, period, comment, comment_by, comment_at, published_at,
                            published_by)
    SELECT 'bulletin', period, comment, comment_by, comment_at, published_at, published_by
    FROM bulletin_reviews;
DROP TABLE bulletin_reviews;
