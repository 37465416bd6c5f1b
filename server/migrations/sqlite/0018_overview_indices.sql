-- The merchant dashboard's overview (`Store::overview`) reads a window of days by creation
-- time: checkouts, attempts and refunds, each on an index of its `created_at`, so that the
-- last 30 days never read the whole history.
CREATE INDEX overview_checkouts_created ON checkouts (created_at);
CREATE INDEX overview_attempts_created ON attempts (created_at);
CREATE INDEX overview_refunds_created ON refunds (created_at);
