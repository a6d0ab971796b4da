-- Who decides each stage of an application, fixed when it is sent to them (on submission,
-- on passing 预审, or when the level deciding it lost its last admin): a level gaining an
-- admin meanwhile changes nothing. level_id NULL: the configured top level.
CREATE TABLE review_routes (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    round       INTEGER NOT NULL,
    stage       TEXT    NOT NULL CHECK (stage IN ('pre', 'final')),
    level_id    INTEGER REFERENCES orgs(id),
    at          TEXT    NOT NULL,
    PRIMARY KEY (project_id, round, stage)
);

-- 四看 marks per stage: 预审 and 审定 each keep their own (one stage, and earlier rows: 'final').
CREATE TABLE review_checks_staged (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    round       INTEGER NOT NULL,
    stage       TEXT    NOT NULL DEFAULT 'final' CHECK (stage IN ('pre', 'final')),
    failed      TEXT    NOT NULL DEFAULT '[]',    -- JSON list of check keys, in CHECKS order
    by_user     INTEGER NOT NULL,                 -- who marked them last
    at          TEXT    NOT NULL,
    PRIMARY KEY (project_id, round, stage)
);
INSERT INTO review_checks_staged (project_id, round, failed, by_user, at)
SELECT project_id, round, failed, by_user, at FROM review_checks;
DROP TABLE review_checks;
ALTER TABLE review_checks_staged RENAME TO review_checks;
