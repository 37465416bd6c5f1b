-- The merchant webhook outbox: every event is written in the transaction of the state change it
-- reports; dispatchers (one per instance) claim due deliveries with `FOR UPDATE SKIP LOCKED`
-- and a lease (`next_attempt_at_ms` moved to the lease's end, `claim` set), so no two send one
-- event at the same time.
CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id          TEXT PRIMARY KEY,                    -- evt_…, the webhook-id of every delivery
    type        TEXT NOT NULL,
    checkout_id TEXT NOT NULL REFERENCES checkouts (id),
    payload     TEXT NOT NULL,                       -- the exact JSON body sent
    created_at  BIGINT NOT NULL                      -- unix seconds
);
CREATE INDEX events_checkout ON events (checkout_id, created_at, seq);

CREATE TABLE deliveries (
    event_id           TEXT PRIMARY KEY REFERENCES events (id),
    state              TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    claim              TEXT,                         -- the running send's token, if any
    last_status        BIGINT,
    last_error         TEXT,
    updated_at_ms      BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE state = 'pending';
