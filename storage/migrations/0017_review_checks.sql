-- 四看 at review (seed 000): the checks an admin marked as failed on one round of an
-- application — 内容是否符合实际、目标是否过高或过低、要求是否具体实在、实施后能否解决实际问题.
CREATE TABLE review_checks (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    round       INTEGER NOT NULL,
    failed      TEXT    NOT NULL DEFAULT '[]',    -- JSON list of check keys, in CHECKS order
    by_user     INTEGER NOT NULL,                 -- who marked them last
    at          TEXT    NOT NULL,
    PRIMARY KEY (project_id, round)
);
