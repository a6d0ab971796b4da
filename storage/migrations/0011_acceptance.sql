-- 验收: the reviewers admins name, reviewer invites, each reviewer's scores (and the draft
-- being filled in), the result that makes a project 已验收, and the year's 示范项目.
CREATE TABLE reviewers (
    user_id     INTEGER PRIMARY KEY,              -- Telegram user id
    full_name   TEXT    NOT NULL,
    org_id      INTEGER REFERENCES orgs(id),      -- their own organization (its subtree's
                                                  -- projects are not theirs to score)
    named_by    INTEGER,                          -- the admin; NULL through an invite's admin
    named_at    TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE reviewer_invites (
    code        TEXT    PRIMARY KEY,              -- same alphabet and size as secretaries' codes
    org_id      INTEGER REFERENCES orgs(id),      -- the reviewer's organization, if any
    created_by  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT,
    used_by     INTEGER
);

-- One row per project and reviewer: a second submission replaces the first (times counts).
CREATE TABLE acceptance_scores (
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    reviewer_id  INTEGER NOT NULL,
    goal         INTEGER NOT NULL CHECK (goal BETWEEN 0 AND 100),          -- 目标实现率
    satisfaction INTEGER NOT NULL CHECK (satisfaction BETWEEN 0 AND 100),  -- 群众满意率
    benefit      INTEGER NOT NULL CHECK (benefit BETWEEN 0 AND 100),       -- 综合效益
    promotion    INTEGER NOT NULL CHECK (promotion BETWEEN 0 AND 100),     -- 经验可推广性
    remark       TEXT,
    times        INTEGER NOT NULL DEFAULT 1,
    submitted_at TEXT    NOT NULL,
    PRIMARY KEY (project_id, reviewer_id)
);

-- The answers of a scoring in progress (the conversation's step is in dialogs).
CREATE TABLE acceptance_drafts (
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    reviewer_id  INTEGER NOT NULL,
    goal         INTEGER,
    satisfaction INTEGER,
    benefit      INTEGER,
    promotion    INTEGER,
    remark       TEXT,
    remark_set   INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (project_id, reviewer_id)
);

CREATE TABLE acceptance_results (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    score       REAL    NOT NULL,                 -- weighted mean over the reviewers, 0–100
    grade       TEXT    NOT NULL,                 -- 优秀 / 良好 / 合格 / 不合格
    reviewers   INTEGER NOT NULL,
    accepted_by INTEGER NOT NULL,
    accepted_at TEXT    NOT NULL
);

CREATE TABLE model_projects (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    year        INTEGER NOT NULL,                 -- the project's 立项 year
    citation    TEXT    NOT NULL,
    chosen_by   INTEGER NOT NULL,
    chosen_at   TEXT    NOT NULL
);
CREATE INDEX model_projects_year ON model_projects(year);
