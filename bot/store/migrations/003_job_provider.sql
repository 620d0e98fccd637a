-- Which image API served each job: failover can move a job from the first configured provider to
-- the next one, and polling, resume and the "made by" label must follow the one that took it.
ALTER TABLE jobs ADD COLUMN provider TEXT;
