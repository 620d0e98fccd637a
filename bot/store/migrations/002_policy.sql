-- Community controls: per-server settings, blocked terms, usage per job, and the audit log.

-- One row per server that changed anything; the settings are a GuildSettings JSON document.
CREATE TABLE guild_settings (
    guild_id    INTEGER PRIMARY KEY,
    settings    TEXT NOT NULL,
    updated_at  REAL NOT NULL,
    updated_by  INTEGER
);

CREATE TABLE blocked_terms (
    guild_id    INTEGER NOT NULL,
    term        TEXT NOT NULL,              -- as the admin typed it
    normalized  TEXT NOT NULL,              -- bot.policy.terms.normalize_term: one per spelling
    added_by    INTEGER,
    added_at    REAL NOT NULL,
    PRIMARY KEY (guild_id, normalized)
);

-- Images a completed job delivered, counted on the day it was accepted (server's timezone).
-- The primary key makes recording idempotent: a finish hook may run twice after a restart.
CREATE TABLE usage (
    job_id      TEXT PRIMARY KEY,
    guild_id    INTEGER NOT NULL,           -- 0 for direct messages
    user_id     INTEGER NOT NULL,
    day         TEXT NOT NULL,              -- ISO date in the server's timezone
    images      INTEGER NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX usage_by_guild_day ON usage (guild_id, day, user_id);

-- Every job outcome and every refusal, for /usage and the moderation log.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,           -- 0 for direct messages
    at          REAL NOT NULL,
    day         TEXT NOT NULL,              -- ISO date in the server's timezone
    event       TEXT NOT NULL,              -- completed | failed | refused | settings
    user_id     INTEGER,
    channel_id  INTEGER,
    job_id      TEXT,
    rule        TEXT,                       -- refused: the policy rule; failed: the failure kind
    prompt      TEXT,
    detail      TEXT,                       -- admins only (matched term, safety system detail)
    UNIQUE (job_id, event)
);
CREATE INDEX audit_by_guild_day ON audit_log (guild_id, day);
