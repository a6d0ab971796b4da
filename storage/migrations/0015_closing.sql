-- 结题: the closing report of a project (four parts and evidence), every submitted version,
-- and its history (opened early, submitted, returned, accepted).
CREATE TABLE closing_reports (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    overview       TEXT,                          -- 项目概况
    implementation TEXT,                          -- 实施情况
    results        TEXT,                          -- 成果经验
    evaluation     TEXT,                          -- 评价建议
    files_set      INTEGER NOT NULL DEFAULT 0,    -- the evidence step was answered
    status         TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'submitted', 'returned', 'accepted')),
    round          INTEGER NOT NULL DEFAULT 0,    -- submissions so far; review buttons carry it
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    submitted_at   TEXT
);

CREATE TABLE closing_files (
    id             INTEGER PRIMARY KEY,
    closing_id     INTEGER NOT NULL REFERENCES closing_reports(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('photo', 'document')),
    file_id        TEXT    NOT NULL,
    file_unique_id TEXT    NOT NULL,
    UNIQUE (closing_id, file_unique_id)
);

CREATE TABLE closing_versions (
    closing_id     INTEGER NOT NULL REFERENCES closing_reports(id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    overview       TEXT    NOT NULL,
    implementation TEXT    NOT NULL,
    results        TEXT    NOT NULL,
    evaluation     TEXT    NOT NULL,
    files          TEXT    NOT NULL,              -- JSON [[kind, file_id], ...]
    submitted_by   INTEGER NOT NULL,
    submitted_at   TEXT    NOT NULL,
    PRIMARY KEY (closing_id, version)
);

CREATE TABLE closing_events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    action      TEXT    NOT NULL CHECK (action IN ('open_early', 'submit', 'return', 'accept')),
    round       INTEGER NOT NULL,
    by_user     INTEGER NOT NULL,
    reason      TEXT,
    at          TEXT    NOT NULL
);
CREATE INDEX closing_events_project ON closing_events(project_id, id);
