-- The clock: every scheduled message under a unique key (sent once and only once),
-- chats the bot cannot reach, and organizations exempted from a month's report.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,  -- kind:period-or-notice:project-or-chat
    kind          TEXT    NOT NULL,
    chat_id       INTEGER NOT NULL,
    scheduled_at  TEXT    NOT NULL,
    status        TEXT    NOT NULL
                  CHECK (status IN ('sending', 'sent', 'failed', 'unreachable', 'skipped',
                                    'uncertain')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    sent_at       TEXT
);
CREATE INDEX deliveries_status ON deliveries(status, kind);

CREATE TABLE chat_status (
    chat_id     INTEGER PRIMARY KEY,
    status      TEXT    NOT NULL CHECK (status IN ('blocked', 'never_started', 'gone')),
    at          TEXT    NOT NULL,
    detail      TEXT
);

CREATE TABLE exemptions (
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    period      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    by_user     INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (org_id, period)
);
