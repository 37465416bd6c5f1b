-- Merchant API keys made by `verifier keys create`: only the SHA-256 of each key is kept, with
-- its last four characters. Several may be active at once; a revoked key keeps its row.
CREATE TABLE merchant_keys (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         TEXT PRIMARY KEY,                     -- mkey_…
    mode       TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    hint       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
