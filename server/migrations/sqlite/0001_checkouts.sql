-- Checkouts, their attempts, the history of every state change, and received notifications.
CREATE TABLE checkouts (
    id                 TEXT PRIMARY KEY NOT NULL,
    reference          TEXT NOT NULL UNIQUE,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL CHECK (currency IN ('XOF', 'XAF', 'EUR')),
    country            TEXT NOT NULL,
    description        TEXT,
    return_url         TEXT,
    customer_json      TEXT,
    status             TEXT NOT NULL CHECK (status IN ('open', 'processing', 'succeeded', 'expired',
                                                       'cancelled', 'partially_refunded', 'refunded')),
    client_secret_hash TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE attempts (
    id                 TEXT PRIMARY KEY NOT NULL,
    checkout_id        TEXT NOT NULL REFERENCES checkouts (id),
    provider           TEXT NOT NULL,
    method             TEXT NOT NULL,
    phone              TEXT,
    status             TEXT NOT NULL CHECK (status IN ('created', 'awaiting_customer', 'authorized',
                                                       'succeeded', 'failed', 'expired')),
    failure            TEXT,
    idempotency_key    TEXT NOT NULL UNIQUE,
    provider_reference TEXT,
    payment_url        TEXT,
    next_poll_at_ms    INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- At most one live attempt per checkout: a double click or a retried request can never start a
-- second charge.
CREATE UNIQUE INDEX attempts_one_live_per_checkout
    ON attempts (checkout_id) WHERE status IN ('created', 'awaiting_customer', 'authorized');
CREATE INDEX attempts_due ON attempts (next_poll_at_ms) WHERE status IN ('created', 'awaiting_customer', 'authorized');
CREATE INDEX attempts_provider_reference ON attempts (provider, provider_reference);

CREATE TABLE status_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    checkout_id TEXT NOT NULL REFERENCES checkouts (id),
    attempt_id  TEXT REFERENCES attempts (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    cause       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX status_changes_checkout ON status_changes (checkout_id, id);

CREATE TABLE provider_notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider    TEXT NOT NULL,
    body        TEXT NOT NULL,
    verified    INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
