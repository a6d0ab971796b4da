-- The public side (晒): channels, what the bot posted in them, 民主评议 and 意见建议.
CREATE TABLE public_channels (
    chat_id     INTEGER PRIMARY KEY,
    title       TEXT    NOT NULL,
    username    TEXT,                             -- @name, if the channel has one
    root_org_id INTEGER REFERENCES orgs(id),      -- NULL: covers every organization
    bound_by    INTEGER NOT NULL,
    bound_at    TEXT    NOT NULL,
    since       TEXT    NOT NULL,                 -- first binding: cards for projects approved since
    active      INTEGER NOT NULL DEFAULT 1        -- 0 once the bot may no longer post there
);

-- Every message the bot posts in a channel, claimed under its key before it is sent.
CREATE TABLE public_posts (
    id          INTEGER PRIMARY KEY,              -- the 帖子号 admins name in /withhold
    key         TEXT    NOT NULL UNIQUE,          -- card:<project>:<chat>, progress:<YYYY-MM>:<chat>, …
    kind        TEXT    NOT NULL CHECK (kind IN ('card', 'progress', 'result', 'vote')),
    chat_id     INTEGER NOT NULL,
    project_id  INTEGER REFERENCES projects(id),  -- NULL for a scope's monthly post
    vote_id     INTEGER,
    period      TEXT,
    message_id  INTEGER,                          -- the first message of the post
    extra_ids   TEXT    NOT NULL DEFAULT '[]',    -- JSON: its further messages (photos)
    status      TEXT    NOT NULL CHECK (status IN
                ('sending', 'posted', 'uncertain', 'failed', 'withheld', 'deleted')),
    shown       INTEGER NOT NULL DEFAULT 0,       -- a vote post: the ballot change it shows
    edited_at   TEXT,
    error       TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX public_posts_project ON public_posts(project_id);
CREATE INDEX public_posts_vote ON public_posts(vote_id);

-- 民主评议: a voting window for one project; ballots, one per Telegram account.
CREATE TABLE public_votes (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    opens_at    TEXT    NOT NULL,
    closes_at   TEXT    NOT NULL,
    changes     INTEGER NOT NULL DEFAULT 0,       -- ballots cast or changed so far
    final       INTEGER NOT NULL DEFAULT 0,       -- 1 once the closed tally was posted
    created_by  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX public_votes_project ON public_votes(project_id);

CREATE TABLE public_ballots (
    vote_id     INTEGER NOT NULL REFERENCES public_votes(id),
    user_id     INTEGER NOT NULL,                 -- kept for audit (/voters)
    full_name   TEXT    NOT NULL,
    username    TEXT,
    choice      TEXT    NOT NULL CHECK (choice IN ('s', 'b', 'u')),  -- 满意 / 基本满意 / 不满意
    times       INTEGER NOT NULL DEFAULT 1,       -- cast once, then changed times - 1
    first_at    TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (vote_id, user_id)
);

-- 意见建议 sent through a public card's link.
CREATE TABLE public_suggestions (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    user_id     INTEGER NOT NULL,
    full_name   TEXT    NOT NULL,
    username    TEXT,
    text        TEXT    NOT NULL,
    at          TEXT    NOT NULL
);
CREATE INDEX public_suggestions_project ON public_suggestions(project_id, at);
CREATE INDEX public_suggestions_user ON public_suggestions(user_id, at);

-- Evidence a secretary marked 可公开 (shown in the monthly 晒动态); nothing else is public.
ALTER TABLE report_files ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
