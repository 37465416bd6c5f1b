-- What the provider reported about an attempt's money, and the `review` state of an attempt
-- whose reported amount, currency or reference is not its own.
--
-- SQLite cannot change a CHECK constraint in place: `attempts` is rebuilt (SQLite's documented
-- "12 steps", https://www.sqlite.org/lang_altertable.html#otheralter). The store runs the
-- migrations with foreign keys off and checks them after (`PRAGMA foreign_key_check`).

CREATE TABLE attempts_reported (
    id                   TEXT PRIMARY KEY NOT NULL,
    checkout_id          TEXT NOT NULL REFERENCES checkouts (id),
    provider             TEXT NOT NULL,
    method               TEXT NOT NULL,
    phone                TEXT,
    status               TEXT NOT NULL CHECK (status IN ('created', 'awaiting_customer', 'authorized',
                                                         'succeeded', 'failed', 'expired', 'review')),
    failure              TEXT,
    idempotency_key      TEXT NOT NULL UNIQUE,
    provider_reference   TEXT,
    payment_url          TEXT,
    next_poll_at_ms      INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    polls                INTEGER NOT NULL DEFAULT 0,
    -- As reported with the update that set `status` (NULL: not in the provider's message).
    reported_amount      INTEGER,                    -- minor units
    reported_amount_text TEXT,                       -- an amount that was no decimal number
    reported_currency    TEXT,
    reported_reference   TEXT                        -- our reference, as the provider echoed it
);

INSERT INTO attempts_reported (id, checkout_id, provider, method, phone, status, failure,
                               idempotency_key, provider_reference, payment_url, next_poll_at_ms,
                               created_at, updated_at, polls)
SELECT id, checkout_id, provider, method, phone, status, failure, idempotency_key,
       provider_reference, payment_url, next_poll_at_ms, created_at, updated_at, polls
FROM attempts;

DROP TABLE attempts;
ALTER TABLE attempts_reported RENAME TO attempts;

CREATE UNIQUE INDEX attempts_one_live_per_checkout
    ON attempts (checkout_id) WHERE status IN ('created', 'awaiting_customer', 'authorized');
CREATE INDEX attempts_due ON attempts (next_poll_at_ms) WHERE status IN ('created', 'awaiting_customer', 'authorized');
CREATE INDEX attempts_provider_reference ON attempts (provider, provider_reference);

-- A stored notification keeps what it reported, applied when the inbox worker processes it
-- (JSON of `shared::api::Reported`).
ALTER TABLE provider_notifications ADD COLUMN update_reported TEXT;
