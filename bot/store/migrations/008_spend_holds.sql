-- Money held by accepted jobs until they finish, in the database every process shares: a
-- budget's last cents are taken in one locked transaction, so two processes cannot both spend
-- them (each process's books in memory only know its own jobs).
CREATE TABLE spend_holds (
    job_id     TEXT PRIMARY KEY,
    scope      BIGINT NOT NULL,             -- the server (0 for direct messages)
    user_id    BIGINT NOT NULL,
    day        TEXT NOT NULL,               -- ISO date in the server's timezone
    host_day   TEXT NOT NULL,               -- ISO date in UTC (the host's budget)
    amount     TEXT NOT NULL,               -- decimal text, in ``currency``
    currency   TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX spend_holds_by_scope ON spend_holds (scope, day, user_id);
CREATE INDEX spend_holds_by_host_day ON spend_holds (host_day);
