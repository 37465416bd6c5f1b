-- How many status fetches each attempt has had: the reconciler backs off from it, and since it
-- is stored, a restart resumes the same pace instead of hammering the provider again.
ALTER TABLE attempts ADD COLUMN polls INTEGER NOT NULL DEFAULT 0;
