-- The first month a project owes a report for: the first whose deadline was still ahead when
-- it was 立项 (bot/services/calendar.py first_owed). Earlier months of its span are neither
-- owed nor late anywhere (storage/ran.py). Those approved before this migration get it from
-- their approval moment by the default calendar (Asia/Shanghai, due on the 25th, not moved
-- to a working day): at worst a month whose deadline moved past that day is not owed.
ALTER TABLE projects ADD COLUMN owed_from TEXT;
UPDATE projects SET owed_from = CASE
    WHEN CAST(strftime('%d', approved_at, '+8 hours') AS INTEGER) <= 25
        THEN strftime('%Y-%m', approved_at, '+8 hours')
    ELSE strftime('%Y-%m', approved_at, '+8 hours', 'start of month', '+1 month')
END WHERE approved_at IS NOT NULL;
