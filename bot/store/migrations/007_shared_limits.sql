-- Limits that hold across processes: quotas are reserved in the database at acceptance, the
-- cooldown's clock is shared, and a settings change is versioned so every process picks it up.

-- Images held for an accepted job until it finishes (then they become usage, or are let go).
CREATE TABLE reservations (
    job_id     TEXT PRIMARY KEY,
    scope      BIGINT NOT NULL,             -- the server (0 for direct messages)
    day        TEXT NOT NULL,               -- ISO date in the server's timezone
    user_id    BIGINT NOT NULL,
    images     INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX reservations_by_day ON reservations (scope, day, user_id);

-- When each member last started a job in each server (cooldowns).
CREATE TABLE last_jobs (
    scope   BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    at      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, user_id)
);

-- Bumped with every change of a server's settings or blocked terms; processes poll it.
CREATE TABLE policy_versions (
    guild_id   BIGINT PRIMARY KEY,
    version    BIGINT NOT NULL,
    changed_at DOUBLE PRECISION NOT NULL   -- the database's clock
);
CREATE INDEX policy_versions_by_time ON policy_versions (changed_at);
