-- PostgreSQL's version of 001_jobs.sql: 64-bit ids (Discord snowflakes) and double-precision
-- times, where SQLite's INTEGER and REAL already are.
-- Jobs: every accepted job, persisted before each irreversible step so a restart resumes it.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    origin           TEXT NOT NULL,              -- discord | cli
    kind             TEXT NOT NULL DEFAULT 'imagine',
    state            TEXT NOT NULL,
    guild_id         BIGINT,
    channel_id       BIGINT,
    user_id          BIGINT,
    request          TEXT NOT NULL,              -- JobRequest JSON without the image bytes
    resolution       TEXT NOT NULL,
    width            INTEGER NOT NULL,
    height           INTEGER NOT NULL,
    inputs           TEXT NOT NULL DEFAULT '[]', -- stored input files (JSON)
    client_reference TEXT NOT NULL,
    task_id          TEXT,
    progress         INTEGER NOT NULL DEFAULT 0,
    size_limit       BIGINT,                    -- largest file the destination accepts
    delivery         TEXT,                       -- where and how to post (JSON)
    results          TEXT NOT NULL DEFAULT '[]', -- stored result files (JSON)
    failure_kind     TEXT,
    failure_reason   TEXT,
    notified         INTEGER NOT NULL DEFAULT 0, -- the member has seen the final outcome
    parent_id        TEXT,                       -- the job a button press derived this one from
    action           TEXT,                       -- reroll | vary | upscale | edit
    created_at       DOUBLE PRECISION NOT NULL,
    updated_at       DOUBLE PRECISION NOT NULL,
    submitted_at     DOUBLE PRECISION,
    finished_at      DOUBLE PRECISION
);

CREATE INDEX jobs_by_state ON jobs (state);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);
CREATE INDEX jobs_by_guild ON jobs (guild_id, created_at);

