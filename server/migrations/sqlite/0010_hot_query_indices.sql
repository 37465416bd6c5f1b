-- Indices for the queries a busy verifier runs all the time, so none of them reads a whole
-- table as the shop's history grows (checked by `every_hot_query_uses_an_index` in
-- server/src/store/sqlite.rs, which runs EXPLAIN QUERY PLAN on every query of the store).

-- A checkout's attempts, oldest first (every read of a checkout; the latest one for the widget).
CREATE INDEX attempts_checkout ON attempts (checkout_id, created_at);

-- Expiry: open checkouts past their deadline, every second.
CREATE INDEX checkouts_open_expiry ON checkouts (status, expires_at);

-- What was already refunded of one paid attempt.
CREATE INDEX refunds_attempt ON refunds (attempt_id);
