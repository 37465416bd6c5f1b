-- Idempotency keys of merchant API POSTs (their SHA-256; responses sealed under a key the
-- database does not hold). A key is reserved by `INSERT … ON CONFLICT DO NOTHING`, so two
-- requests with one key, on one instance or two, never both run.
CREATE TABLE idempotency_keys (
    key            TEXT PRIMARY KEY,
    method_path    TEXT NOT NULL,                    -- e.g. "POST /v1/checkouts"
    request_hash   TEXT NOT NULL,                    -- hex SHA-256 of the request body
    state          TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    status         BIGINT,                           -- the stored response, once done
    body           BYTEA,
    created_at_ms  BIGINT NOT NULL,                  -- reservation (or takeover) time
    finished_at_ms BIGINT
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at_ms);
