-- foreign_keys: off
-- (The runner turns foreign keys off around this migration: it rebuilds tables that other
-- tables reference, as SQLite's ALTER TABLE page prescribes.)

-- /terminate withdraws what the project still had open: a closing report being written or
-- awaiting review ('withdrawn', 已撤回) and its open 督办单 ('withdrawn', 已撤销, with a
-- 'withdraw' step in their history). A CHECK can only change by rebuilding its table.
CREATE TABLE closing_reports_new (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    overview       TEXT,                          -- 项目概况
    implementation TEXT,                          -- 实施情况
    results        TEXT,                          -- 成果经验
    evaluation     TEXT,                          -- 评价建议
    files_set      INTEGER NOT NULL DEFAULT 0,    -- the evidence step was answered
    status         TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'submitted', 'returned', 'accepted', 'withdrawn')),
    round          INTEGER NOT NULL DEFAULT 0,    -- submissions so far; review buttons carry it
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    submitted_at   TEXT
);
INSERT INTO closing_reports_new (id, project_id, overview, implementation, results, evaluation,
    files_set, status, round, created_by, created_at, updated_at, submitted_at)
SELECT id, project_id, overview, implementation, results, evaluation, files_set, status, round,
    created_by, created_at, updated_at, submitted_at FROM closing_reports;
DROP TABLE closing_reports;
ALTER TABLE closing_reports_new RENAME TO closing_reports;

CREATE TABLE notices_new (
    id            INTEGER PRIMARY KEY,
    year          INTEGER,                  -- 督办〔year〕第seq号, assigned on 下发
    seq           INTEGER,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    problem       TEXT    NOT NULL,         -- 发现的问题
    requirement   TEXT,                     -- 整改要求
    deadline      TEXT,                     -- 'YYYY-MM-DD', the last day to answer
    status        TEXT    NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'issued', 'signed', 'answered', 'closed',
                                    'withdrawn')),
    round         INTEGER NOT NULL DEFAULT 1, -- feedback rounds (退回 starts another)
    feedback      TEXT,                     -- the secretary's working answer
    feedback_files TEXT   NOT NULL DEFAULT '[]', -- JSON [[kind, file_id, unique_id], ...]
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    issued_at     TEXT,
    signed_at     TEXT,
    answered_at   TEXT,
    closed_at     TEXT,                     -- 办结, or withdrawn with its project
    UNIQUE (year, seq)
);
INSERT INTO notices_new (id, year, seq, project_id, problem, requirement, deadline, status,
    round, feedback, feedback_files, created_by, created_at, issued_at, signed_at, answered_at,
    closed_at)
SELECT id, year, seq, project_id, problem, requirement, deadline, status, round, feedback,
    feedback_files, created_by, created_at, issued_at, signed_at, answered_at, closed_at
FROM notices;
DROP TABLE notices;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX notices_status ON notices(status, project_id);

CREATE TABLE notice_events_new (
    id          INTEGER PRIMARY KEY,
    notice_id   INTEGER NOT NULL REFERENCES notices(id),
    action      TEXT    NOT NULL
                CHECK (action IN ('issue', 'sign', 'answer', 'close', 'return', 'withdraw')),
    round       INTEGER NOT NULL,
    by_user     INTEGER NOT NULL,
    text        TEXT,                       -- feedback, return reason or termination reason
    files       TEXT,                       -- JSON, with an answer
    at          TEXT    NOT NULL
);
INSERT INTO notice_events_new (id, notice_id, action, round, by_user, text, files, at)
SELECT id, notice_id, action, round, by_user, text, files, at FROM notice_events;
DROP TABLE notice_events;
ALTER TABLE notice_events_new RENAME TO notice_events;
CREATE INDEX notice_events_notice ON notice_events(notice_id, id);
