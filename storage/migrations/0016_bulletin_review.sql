-- 月通报 reviewed before publishing: the admins' 通报点评 and their 发布, per period (a row
-- appears with the first of them); without 发布 it goes out at the set time.
CREATE TABLE bulletin_reviews (
    period        TEXT PRIMARY KEY,               -- YYYY-MM
    comment       TEXT,                           -- 通报点评, published with the bulletin
    comment_by    INTEGER,
    comment_at    TEXT,
    published_at  TEXT,                           -- 发布 pressed; NULL: at the set time
    published_by  INTEGER
);

-- 调整红旗/蜗牛: an admin adds a project to a list or takes it off, with a reason; every
-- change is kept, the latest per project and list counts.
CREATE TABLE flag_changes (
    id          INTEGER PRIMARY KEY,
    period      TEXT    NOT NULL,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    flag        TEXT    NOT NULL CHECK (flag IN ('red', 'snail')),
    action      TEXT    NOT NULL CHECK (action IN ('add', 'remove')),
    reason      TEXT    NOT NULL,
    by_user     INTEGER NOT NULL,
    at          TEXT    NOT NULL
);
CREATE INDEX flag_changes_period ON flag_changes(period, id);
