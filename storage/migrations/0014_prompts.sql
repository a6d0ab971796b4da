-- Answers bound to their question. `prompts`: which bot message asked which question of a
-- conversation, and when (a reply to it answers that question; a message written before
-- the current question was shown answered an earlier one). `answers`: which message of
-- the person answered which question (an edit of it replaces that answer); `held` marks a
-- message kept aside while the person says which question it answers.
CREATE TABLE prompts (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    flow        TEXT NOT NULL,
    subject_id  INTEGER NOT NULL,
    step        TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    live        INTEGER NOT NULL DEFAULT 1,  -- still shows its buttons
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX prompts_by_chat ON prompts (chat_id, sent_at);
CREATE TABLE answers (
    user_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    flow         TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    step         TEXT NOT NULL,
    text         TEXT NOT NULL,
    answered_at  TEXT NOT NULL,
    held         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX answers_by_time ON answers (user_id, answered_at);
