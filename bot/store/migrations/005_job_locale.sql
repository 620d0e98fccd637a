-- The requester's language (Discord's locale when they asked): a job's messages sent after the
-- interaction is gone (a late result, a direct message, a resumed job) are written in it.
-- failure_reason now holds a translatable message as JSON; older rows keep their plain text.
ALTER TABLE jobs ADD COLUMN locale TEXT;
