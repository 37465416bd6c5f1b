-- Several inbox workers (one per verifier instance) take notifications from one inbox: a worker
-- claims the ones it processes for a lease (`lease_until_ms`, unix ms; 0: never claimed) with
-- `FOR UPDATE SKIP LOCKED`, and no other claim returns them until the lease runs out.
ALTER TABLE provider_notifications ADD COLUMN lease_until_ms BIGINT NOT NULL DEFAULT 0;
