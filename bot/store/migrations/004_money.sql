-- Defaults and money (issue 16): which defaults filled a job's options, what it cost, the
-- spending behind budgets and reports, and each member's own defaults.

-- Amounts are decimal text (exact, in the job's currency); 'unknown' where the API publishes no
-- price; NULL before the job was priced (estimate) or finished (cost).
ALTER TABLE jobs ADD COLUMN defaults TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN currency TEXT;
ALTER TABLE jobs ADD COLUMN estimated_cost TEXT;
ALTER TABLE jobs ADD COLUMN cost TEXT;

-- What each finished Discord job cost, on the day it was accepted (server's timezone): the
-- books budgets are checked against. Idempotent per job, like usage.
CREATE TABLE spending (
    job_id      TEXT PRIMARY KEY,
    guild_id    BIGINT NOT NULL,            -- 0 for direct messages
    user_id     BIGINT NOT NULL,
    day         TEXT NOT NULL,              -- ISO date in the server's timezone
    accepted_at DOUBLE PRECISION NOT NULL,  -- unix seconds (the host's budget runs on UTC)
    images      INTEGER NOT NULL,
    cost        TEXT,                       -- decimal text; NULL: the price is unknown
    currency    TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX spending_by_guild_day ON spending (guild_id, day, user_id);
CREATE INDEX spending_by_time ON spending (accepted_at);

-- A member's own defaults in one server (/settings): a JobDefaults JSON document.
CREATE TABLE member_defaults (
    guild_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    defaults    TEXT NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
