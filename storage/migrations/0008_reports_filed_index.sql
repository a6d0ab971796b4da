-- The clock asks every minute which projects have not filed a period's report: this partial
-- index of the filed ones answers that from the index alone, without reading a report row
-- (the 0003 indexes lack `version`, so every row of the period had to be read).
CREATE INDEX reports_filed ON reports(period, project_id) WHERE version > 0;
