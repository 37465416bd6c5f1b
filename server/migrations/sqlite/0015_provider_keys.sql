-- Keys providers hand out at run time (MyPVit's X-Secret), sealed, shared by every instance,
-- and the lease of their renewal (one instance renews at a time).
CREATE TABLE provider_keys (
    name TEXT PRIMARY KEY NOT NULL,
    sealed BLOB,
    renew_at_ms INTEGER,
    generation INTEGER NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_until_ms INTEGER
);
