-- 验收 in 分级管理: a reviewer named (or invited) by a subtree's admin scores only that
-- subtree's projects; NULL: named by the top level, every project.
ALTER TABLE reviewers ADD COLUMN root_id INTEGER REFERENCES orgs(id);
ALTER TABLE reviewer_invites ADD COLUMN root_id INTEGER REFERENCES orgs(id);
