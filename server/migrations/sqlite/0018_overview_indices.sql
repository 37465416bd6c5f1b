-- The merchant dashboard's overview (`Store::overview`) reads a window of days by creation
-- time: attempts and refunds each on an index of its `created_at` (checkouts on
-- `checkouts_created`, the list's), so that the last 30 days never read the whole history.
CREATE INDEX overview_attempts_created ON attempts (created_at);
CREATE INDEX overview_refunds_created ON refunds (created_at);
