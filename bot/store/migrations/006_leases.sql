-- Leases: every unfinished job is owned by one live process, which renews the lease while it
-- works on it. A process that dies stops renewing; once the lease expires, a live process claims
-- the job and continues it from where it stood. '' and 0 mean "nobody": claimable at once.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_expires_at DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN heartbeat_at DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE INDEX jobs_open_by_lease ON jobs (lease_expires_at) WHERE notified = 0;
CREATE INDEX jobs_open_by_owner ON jobs (lease_owner) WHERE notified = 0;

-- The processes sharing the work, each with its own heartbeat: the live ones split the upstream
-- status-query budget between them.
CREATE TABLE workers (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    shards       TEXT NOT NULL DEFAULT '',   -- e.g. "0,1" (empty: not sharded)
    started_at   DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    expires_at   DOUBLE PRECISION NOT NULL
);
