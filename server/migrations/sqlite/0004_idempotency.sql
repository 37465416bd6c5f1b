-- Idempotency keys of merchant API POSTs: the first request reserves its key, and its response
-- is kept (at least 24 h) and replayed to every retry with the same key and request.
CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY NOT NULL,
    method_path   TEXT NOT NULL,                     -- e.g. "POST /v1/checkouts"
    request_hash  TEXT NOT NULL,                     -- hex SHA-256 of the request body
    state         TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    status        INTEGER,                           -- the stored response, once done
    body          BLOB,
    created_at_ms INTEGER NOT NULL,                  -- reservation (or takeover) time
    finished_at_ms INTEGER
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at_ms);
