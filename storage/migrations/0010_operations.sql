-- What an operator checks with `python -m bot status`: when the clock last ran, and when
-- and where the database was last backed up. One row per name, overwritten.
CREATE TABLE operations (
    name    TEXT PRIMARY KEY,  -- 'tick' | 'backup'
    at      TEXT NOT NULL,
    detail  TEXT               -- for a backup: the file written
);
