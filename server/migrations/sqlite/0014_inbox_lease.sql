-- Several inbox workers (one per verifier instance on a shared database) take notifications
-- from one inbox: a worker claims the ones it processes for a lease (`lease_until_ms`, unix
-- ms), during which no other claim returns them. A worker that dies leaves its claim to run
-- out; the notification is then claimed again. 0: never claimed (claimable at once).
ALTER TABLE provider_notifications ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;
