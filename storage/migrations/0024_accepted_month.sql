-- The month a closing report was accepted (通过结题, in the bot's time zone): its project owes
-- no report from that month on, except one filed for that month (storage/summary.py ran_in).
-- Those accepted before this migration get the month of the acceptance in UTC, the nearest
-- the record holds.
ALTER TABLE closing_reports ADD COLUMN accepted_month TEXT;
UPDATE closing_reports SET accepted_month = (
    SELECT substr(max(e.at), 1, 7) FROM closing_events e
    WHERE e.project_id = closing_reports.project_id AND e.action = 'accept'
) WHERE status = 'accepted';
