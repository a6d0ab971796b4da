-- foreign_keys: off
-- (The line above makes the runner turn foreign keys off around this migration, as SQLite's
-- ALTER TABLE page prescribes for a table rebuild: with them on, dropping `projects` would
-- delete every row that references it through ON DELETE CASCADE.)

-- 已终止: an admin may end a project with a reason. The status CHECK can only change by
-- rebuilding the table: create the new one, copy, drop the old, rename, indexes again.
CREATE TABLE projects_new (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    status        TEXT    NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'submitted', 'returned', 'approved',
                                    'concluded', 'accepted', 'terminated')),
    number_year   INTEGER,
    number_seq    INTEGER,
    name          TEXT,
    kind          TEXT,
    problem       TEXT,
    measures      TEXT,
    targets       TEXT,
    start_month   TEXT,
    end_month     TEXT,
    milestones_set INTEGER NOT NULL DEFAULT 0,
    round         INTEGER NOT NULL DEFAULT 0,
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    submitted_at  TEXT,
    approved_at   TEXT,
    UNIQUE (number_year, number_seq)
);
INSERT INTO projects_new (id, org_id, status, number_year, number_seq, name, kind, problem,
    measures, targets, start_month, end_month, milestones_set, round, created_by, created_at,
    updated_at, submitted_at, approved_at)
SELECT id, org_id, status, number_year, number_seq, name, kind, problem, measures, targets,
    start_month, end_month, milestones_set, round, created_by, created_at, updated_at,
    submitted_at, approved_at FROM projects;
DROP TABLE projects;
ALTER TABLE projects_new RENAME TO projects;
CREATE INDEX projects_org ON projects(org_id, status);
CREATE INDEX projects_status ON projects(status);

-- Who ended a project, why, and from which month it owes no report.
CREATE TABLE terminations (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    month       TEXT    NOT NULL,                 -- 'YYYY-MM': no report owed from this month
    by_user     INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    at          TEXT    NOT NULL
);

-- 调整 (seed 003, 必要时适当调整): a secretary's request to change the plan of an approved
-- project (targets, end month, the milestones not yet done) with a reason; at most one open
-- (being written or awaiting a decision) per project.
CREATE TABLE plan_changes (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    status          TEXT    NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'pending', 'approved', 'refused')),
    reason          TEXT,
    targets         TEXT    NOT NULL,
    end_month       TEXT    NOT NULL,
    milestones      TEXT    NOT NULL,             -- JSON [[month, content], ...]: the open ones
    created_by      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    submitted_at    TEXT,
    decided_by      INTEGER,
    decided_at      TEXT,
    decision_reason TEXT                          -- why it was refused
);
CREATE UNIQUE INDEX plan_changes_one_open ON plan_changes(project_id)
    WHERE status IN ('draft', 'pending');

-- Every plan a project has had: version 1 is the plan of 立项 (kept when the first change is
-- approved), each approved change the next, in force from `effective_month`.
CREATE TABLE plan_versions (
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    effective_month TEXT    NOT NULL,
    start_month     TEXT    NOT NULL,
    end_month       TEXT    NOT NULL,
    targets         TEXT    NOT NULL,
    milestones      TEXT    NOT NULL,             -- JSON [[month, content], ...], all of them
    change_id       INTEGER REFERENCES plan_changes(id),  -- NULL: the plan of 立项
    approved_by     INTEGER,
    approved_at     TEXT,
    reason          TEXT,
    PRIMARY KEY (project_id, version)
);
