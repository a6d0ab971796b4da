-- 书记项目: declarations (drafts included), milestones, review history; and the durable
-- state of every multi-step conversation, so a restart resumes where the person was.
CREATE TABLE projects (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    status        TEXT    NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'submitted', 'returned', 'approved',
                                    'concluded', 'accepted')),
    number_year   INTEGER,                         -- 立项 number: 2027-015 -> (2027, 15)
    number_seq    INTEGER,
    name          TEXT,                            -- 项目名称
    kind          TEXT,                            -- 创新探索型 / 典型示范型 / 制度推广型
    problem       TEXT,                            -- 拟解决的突出问题
    measures      TEXT,                            -- 主要内容和举措
    targets       TEXT,                            -- 预期目标
    start_month   TEXT,                            -- 'YYYY-MM'
    end_month     TEXT,
    milestones_set INTEGER NOT NULL DEFAULT 0,     -- the 进度安排 step was answered
    round         INTEGER NOT NULL DEFAULT 0,      -- submissions so far; review buttons carry it
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    submitted_at  TEXT,
    approved_at   TEXT,
    UNIQUE (number_year, number_seq)
);
CREATE INDEX projects_org ON projects(org_id, status);
CREATE INDEX projects_status ON projects(status);

CREATE TABLE milestones (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    month       TEXT    NOT NULL,                  -- 'YYYY-MM'
    content     TEXT    NOT NULL,
    done_month  TEXT,                              -- when it was ticked off (逐项销号)
    UNIQUE (project_id, position)
);

CREATE TABLE project_reviews (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    action      TEXT    NOT NULL CHECK (action IN ('submit', 'return', 'approve')),
    round       INTEGER NOT NULL,
    by_user     INTEGER NOT NULL,
    reason      TEXT,
    at          TEXT    NOT NULL
);
CREATE INDEX project_reviews_project ON project_reviews(project_id, id);

-- Where each person stands in a multi-step conversation (one at a time per person).
CREATE TABLE dialogs (
    user_id     INTEGER PRIMARY KEY,
    flow        TEXT    NOT NULL,                  -- 'declare' | 'return_reason' | ...
    subject_id  INTEGER NOT NULL,                  -- the project (or other object) worked on
    step        TEXT    NOT NULL,
    editing     INTEGER NOT NULL DEFAULT 0,        -- 1: answering one field from the preview
    updated_at  TEXT    NOT NULL
);
