-- 分级管理: admins of one organization's subtree, invited by an admin above them; the
-- configured admins (people.role = 'admin') stay the top level. One active scope per account;
-- a removal keeps the row with who removed it and when.
CREATE TABLE org_admins (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,                 -- Telegram user id (may also be a secretary)
    org_id      INTEGER NOT NULL REFERENCES orgs(id), -- the root of the subtree
    full_name   TEXT    NOT NULL,
    username    TEXT,
    invited_by  INTEGER,                          -- the admin whose invite was used
    granted_at  TEXT    NOT NULL,
    removed_by  INTEGER,
    removed_at  TEXT
);
CREATE UNIQUE INDEX org_admins_one_scope ON org_admins(user_id) WHERE removed_at IS NULL;
CREATE INDEX org_admins_org ON org_admins(org_id) WHERE removed_at IS NULL;

-- An invite binds a secretary or, from an admin, an admin of the organization's subtree.
ALTER TABLE invites ADD COLUMN role TEXT NOT NULL DEFAULT 'secretary'
    CHECK (role IN ('secretary', 'admin'));

-- Review in stages: 'pass' is a 预审 passed up to the top; `stage` says at which stage a
-- return or a pass was decided (NULL for a submission and for single-stage decisions).
CREATE TABLE project_reviews_staged (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    action      TEXT    NOT NULL CHECK (action IN ('submit', 'return', 'approve', 'pass')),
    round       INTEGER NOT NULL,
    by_user     INTEGER NOT NULL,
    reason      TEXT,
    at          TEXT    NOT NULL,
    stage       TEXT    CHECK (stage IN ('pre', 'final'))
);
INSERT INTO project_reviews_staged (id, project_id, action, round, by_user, reason, at)
SELECT id, project_id, action, round, by_user, reason, at FROM project_reviews;
DROP TABLE project_reviews;
ALTER TABLE project_reviews_staged RENAME TO project_reviews;
CREATE INDEX project_reviews_project ON project_reviews(project_id, id);
