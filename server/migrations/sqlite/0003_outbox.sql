-- The merchant webhook outbox: every event is written in the transaction of the state change it
-- reports, so a process killed at any point never loses nor invents one. The dispatcher sends
-- pending deliveries and records each try.
CREATE TABLE events (
    id          TEXT PRIMARY KEY NOT NULL,           -- evt_…, the webhook-id of every delivery
    type        TEXT NOT NULL,
    checkout_id TEXT NOT NULL REFERENCES checkouts (id),
    payload     TEXT NOT NULL,                       -- the exact JSON body sent
    created_at  INTEGER NOT NULL                     -- unix seconds
);
CREATE INDEX events_checkout ON events (checkout_id, created_at);

CREATE TABLE deliveries (
    event_id           TEXT PRIMARY KEY NOT NULL REFERENCES events (id),
    state              TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    -- When the next send is due; while a send runs, the end of its claim (a lease), so that no
    -- second dispatcher sends the same event at the same time.
    next_attempt_at_ms INTEGER NOT NULL,
    claim              TEXT,                         -- the running send's token, if any
    last_status        INTEGER,
    last_error         TEXT,
    updated_at_ms      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE state = 'pending';
