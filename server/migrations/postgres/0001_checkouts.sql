-- Checkouts, their payment attempts and refunds, and the history of every state change: the
-- schema SQLite's migrations 0001-0013 add up to, written for PostgreSQL. Times are BIGINT unix
-- seconds (`*_at`) or milliseconds (`*_ms`); amounts BIGINT minor units. Rows are ordered by an
-- explicit sequence column (`seq`, an identity), never by insertion order, which PostgreSQL does
-- not keep (https://www.postgresql.org/docs/15/queries-order.html).

CREATE TABLE checkouts (
    id                 TEXT PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL CHECK (currency IN ('XOF', 'XAF', 'EUR')),
    country            TEXT NOT NULL,
    description        TEXT,
    return_url         TEXT,
    customer_json      TEXT,
    status             TEXT NOT NULL CHECK (status IN ('open', 'processing', 'succeeded', 'expired',
                                                       'cancelled', 'partially_refunded', 'refunded')),
    -- Whether a live-mode verifier created it; only a verifier of the same mode pays or refunds it.
    livemode           BOOLEAN NOT NULL DEFAULT FALSE,
    client_secret_hash TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
-- Expiry: open checkouts past their deadline, every second.
CREATE INDEX checkouts_open_expiry ON checkouts (expires_at) WHERE status = 'open';

CREATE TABLE attempts (
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                   TEXT PRIMARY KEY,
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
    -- When the reconciler next fetches its status, and how many fetches it has had.
    next_poll_at_ms      BIGINT NOT NULL,
    polls                BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    -- As reported with the update that set `status` (NULL: not in the provider's message).
    reported_amount      BIGINT,                     -- minor units
    reported_amount_text TEXT,                       -- an amount that was no decimal number
    reported_currency    TEXT,
    reported_reference   TEXT,                       -- our reference, as the provider echoed it
    reported_charged     BIGINT                      -- what the customer was debited, fees included
);
-- At most one live attempt per checkout: a double click, a retried request or a second
-- instance can never start a second charge.
CREATE UNIQUE INDEX attempts_one_live_per_checkout
    ON attempts (checkout_id) WHERE status IN ('created', 'awaiting_customer', 'authorized');
CREATE INDEX attempts_due ON attempts (next_poll_at_ms)
    WHERE status IN ('created', 'awaiting_customer', 'authorized');
CREATE INDEX attempts_provider_reference ON attempts (provider, provider_reference);
CREATE INDEX attempts_checkout ON attempts (checkout_id, created_at, seq);
-- Payment requests to one phone number within a window, across checkouts.
CREATE INDEX attempts_phone ON attempts (phone, created_at) WHERE phone IS NOT NULL;

CREATE TABLE status_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checkout_id TEXT NOT NULL REFERENCES checkouts (id),
    attempt_id  TEXT REFERENCES attempts (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    cause       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX status_changes_checkout ON status_changes (checkout_id, id);

CREATE TABLE refunds (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                 TEXT PRIMARY KEY,
    checkout_id        TEXT NOT NULL REFERENCES checkouts (id),
    attempt_id         TEXT NOT NULL REFERENCES attempts (id),
    amount             BIGINT NOT NULL CHECK (amount > 0),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason             TEXT,
    failure            TEXT,
    provider_reference TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    -- The reconciler's follow-up of a pending refund: when it asks next, how often it asked.
    next_check_at_ms   BIGINT NOT NULL DEFAULT 0,
    checks             BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX refunds_checkout ON refunds (checkout_id, created_at, seq);
CREATE INDEX refunds_attempt ON refunds (attempt_id);
CREATE INDEX refunds_pending_due ON refunds (next_check_at_ms) WHERE status = 'pending';
