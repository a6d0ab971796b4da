-- 督办单: numbered supervision notices, their drafts, feedback and every step of their life.
CREATE TABLE notices (
    id            INTEGER PRIMARY KEY,
    year          INTEGER,                  -- 督办〔year〕第seq号, assigned on 下发
    seq           INTEGER,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    problem       TEXT    NOT NULL,         -- 发现的问题
    requirement   TEXT,                     -- 整改要求
    deadline      TEXT,                     -- 'YYYY-MM-DD', the last day to answer
    status        TEXT    NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'issued', 'signed', 'answered', 'closed')),
    round         INTEGER NOT NULL DEFAULT 1, -- feedback rounds (退回 starts another)
    feedback      TEXT,                     -- the secretary's working answer
    feedback_files TEXT   NOT NULL DEFAULT '[]', -- JSON [[kind, file_id, unique_id], ...]
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    issued_at     TEXT,
    signed_at     TEXT,
    answered_at   TEXT,
    closed_at     TEXT,
    UNIQUE (year, seq)
);
CREATE INDEX notices_status ON notices(status, project_id);

CREATE TABLE notice_events (
    id          INTEGER PRIMARY KEY,
    notice_id   INTEGER NOT NULL REFERENCES notices(id),
    action      TEXT    NOT NULL CHECK (action IN ('issue', 'sign', 'answer', 'close', 'return')),
    round       INTEGER NOT NULL,
    by_user     INTEGER NOT NULL,
    text        TEXT,                       -- feedback or return reason
    files       TEXT,                       -- JSON, with an answer
    at          TEXT    NOT NULL
);
CREATE INDEX notice_events_notice ON notice_events(notice_id, id);
