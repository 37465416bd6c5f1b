-- Merchant API keys made by `verifier keys create`: only the SHA-256 of each key is kept, with
-- its last four characters to tell keys apart. Several may be active at once (a rotation
-- overlaps); a revoked key keeps its row.
CREATE TABLE merchant_keys (
    id         TEXT PRIMARY KEY NOT NULL,            -- mkey_…
    mode       TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    hint       TEXT NOT NULL,                        -- the key's last four characters
    hash       TEXT NOT NULL UNIQUE,                 -- hex SHA-256 of the whole key
    created_at INTEGER NOT NULL,                     -- unix seconds
    revoked_at INTEGER                               -- unix seconds, once revoked
);

-- Pending refunds are followed up by the reconciler: when it asks the provider next, and how
-- many times it asked. A refund recorded before this migration is due at once.
ALTER TABLE refunds ADD COLUMN next_check_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refunds_pending_due ON refunds (next_check_at_ms) WHERE status = 'pending';

-- Idempotency keys are now stored as their SHA-256 and responses sealed under a key derived
-- from the Idempotency-Key, which the database does not hold. Rows written before held
-- responses (client secrets included) in clear: they are dropped. A create retried across
-- the upgrade is still safe (the merchant reference is unique).
DELETE FROM idempotency_keys;
