-- A report filed after its deadline changes the digests' drafts awaiting publication: it is
-- marked here in its own write, and the clock's next tick sends each top admin one updated
-- draft for all reports marked since, then records when (redrafted_at).
CREATE TABLE draft_changes (
    id            INTEGER PRIMARY KEY,
    report_id     INTEGER NOT NULL REFERENCES reports(id),
    period        TEXT    NOT NULL,                 -- the report's month
    at            TEXT    NOT NULL,                 -- when it was filed
    redrafted_at  TEXT                              -- when the tick took it up
);
CREATE INDEX draft_changes_waiting ON draft_changes(id) WHERE redrafted_at IS NULL;
