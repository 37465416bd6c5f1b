-- Refunds of paid checkouts, routed to the payment's provider.
CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY NOT NULL,
    checkout_id        TEXT NOT NULL REFERENCES checkouts (id),
    attempt_id         TEXT NOT NULL REFERENCES attempts (id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason             TEXT,
    failure            TEXT,
    provider_reference TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX refunds_checkout ON refunds (checkout_id, created_at);
