-- Organizations, people, invites, supervisor groups, failed invite attempts.
CREATE TABLE orgs (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,          -- 编号, as in the admins' spreadsheet
    name        TEXT    NOT NULL,                 -- 名称
    parent_id   INTEGER REFERENCES orgs(id),      -- 上级
    kind        TEXT    NOT NULL,                 -- 类型: 组织部/党委/党工委/党支部...
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX orgs_parent ON orgs(parent_id);
CREATE INDEX orgs_name ON orgs(name);

CREATE TABLE people (
    user_id     INTEGER PRIMARY KEY,              -- Telegram user id
    full_name   TEXT    NOT NULL,
    username    TEXT,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'secretary')),
    org_id      INTEGER REFERENCES orgs(id),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CHECK ((role = 'secretary') = (org_id IS NOT NULL))
);
-- One secretary per organization.
CREATE UNIQUE INDEX people_one_secretary ON people(org_id) WHERE org_id IS NOT NULL;

CREATE TABLE invites (
    code        TEXT    PRIMARY KEY,              -- URL-safe, 96 random bits
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    created_by  INTEGER,                          -- admin's user id; NULL from the command line
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT,
    used_by     INTEGER
);
CREATE INDEX invites_org ON invites(org_id);

CREATE TABLE failed_invite_attempts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    at          TEXT    NOT NULL
);
CREATE INDEX failed_invite_attempts_user ON failed_invite_attempts(user_id, at);

CREATE TABLE supervisor_groups (
    chat_id     INTEGER PRIMARY KEY,
    title       TEXT    NOT NULL,
    root_org_id INTEGER REFERENCES orgs(id),      -- NULL: covers every organization
    bound_by    INTEGER NOT NULL,
    bound_at    TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1        -- 0 once the bot is removed from the group
);
