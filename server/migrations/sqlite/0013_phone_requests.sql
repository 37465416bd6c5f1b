-- Payment requests to one phone number within a window, across checkouts (`[limits]
-- requests_per_phone`, counted in `Store::start_attempt_limited` as each attempt is recorded):
-- one index entry per attempt that has a number.
CREATE INDEX attempts_phone ON attempts (phone, created_at) WHERE phone IS NOT NULL;
