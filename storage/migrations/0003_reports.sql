-- 单月报告: one working copy per project and month, every submitted version kept.
CREATE TABLE reports (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES projects(id),
    period             TEXT    NOT NULL,           -- 'YYYY-MM'
    version            INTEGER NOT NULL DEFAULT 0, -- submitted versions so far
    editing            INTEGER NOT NULL DEFAULT 1, -- the working copy has unsubmitted changes
    progress           TEXT,                       -- 本月主要进展
    milestones_done    TEXT    NOT NULL DEFAULT '[]', -- JSON ids ticked off in this report
    milestones_set     INTEGER NOT NULL DEFAULT 0,
    completion         INTEGER CHECK (completion BETWEEN 0 AND 100),
    completion_reason  TEXT,                       -- why completion went down
    problems           TEXT,                       -- 存在问题和困难 ('无' allowed)
    plan               TEXT,                       -- 下月工作计划
    files_set          INTEGER NOT NULL DEFAULT 0,
    first_submitted_at TEXT,
    submitted_at       TEXT,
    on_time            INTEGER,                    -- of the first submission
    created_by         INTEGER NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    UNIQUE (project_id, period)
);
CREATE INDEX reports_period ON reports(period, project_id);

CREATE TABLE report_files (
    id              INTEGER PRIMARY KEY,
    report_id       INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('photo', 'document')),
    file_id         TEXT    NOT NULL,
    file_unique_id  TEXT    NOT NULL,
    UNIQUE (report_id, file_unique_id)
);

CREATE TABLE report_versions (
    id                INTEGER PRIMARY KEY,
    report_id         INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    progress          TEXT    NOT NULL,
    milestones_done   TEXT    NOT NULL,
    completion        INTEGER NOT NULL,
    completion_reason TEXT,
    problems          TEXT    NOT NULL,
    plan              TEXT    NOT NULL,
    files             TEXT    NOT NULL,            -- JSON [[kind, file_id], ...]
    submitted_by      INTEGER NOT NULL,
    submitted_at      TEXT    NOT NULL,
    on_time           INTEGER NOT NULL,            -- this version's own timing
    UNIQUE (report_id, version)
);

CREATE TABLE reopened_periods (
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    period      TEXT    NOT NULL,
    by_user     INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    until       TEXT    NOT NULL,
    PRIMARY KEY (project_id, period)
);
