-- The evidence list as it was when a change of it began, so 取消 can put it back.
ALTER TABLE reports ADD COLUMN files_before_edit TEXT;
