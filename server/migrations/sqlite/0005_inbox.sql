-- Provider notifications become an inbox: a verified notification is stored first (with a
-- deduplication key: the provider's event id when it sends one, else the SHA-256 of the raw
-- body), answered at once, and processed after by the inbox worker, which also picks up rows
-- left `received` by a restart. Refused (unverifiable) notifications are kept for audit with no
-- deduplication key, so a forged copy can never shadow the genuine delivery; a repeated delivery
-- is kept as a `duplicate` row pointing at the first.
CREATE TABLE provider_notifications_inbox (
    id                        TEXT PRIMARY KEY NOT NULL,
    provider                  TEXT NOT NULL,
    dedup_key                 TEXT,
    verified                  INTEGER NOT NULL,
    state                     TEXT NOT NULL CHECK (state IN ('received', 'processed', 'refused',
                                                             'duplicate', 'failed')),
    duplicate_of              TEXT,
    reference                 TEXT,
    update_status             TEXT,
    update_failure            TEXT,
    update_provider_reference TEXT,
    update_payment_url        TEXT,
    body                      TEXT NOT NULL,
    attempts                  INTEGER NOT NULL DEFAULT 0,
    last_error                TEXT,
    outcome                   TEXT,
    received_at_ms            INTEGER NOT NULL,
    processed_at_ms           INTEGER
);

INSERT INTO provider_notifications_inbox (id, provider, dedup_key, verified, state, body, outcome,
                                          received_at_ms, processed_at_ms)
SELECT 'wh_legacy_' || id, provider, NULL, verified,
       CASE WHEN verified THEN 'processed' ELSE 'refused' END, body, 'before the inbox',
       received_at * 1000, received_at * 1000
FROM provider_notifications;

DROP TABLE provider_notifications;
ALTER TABLE provider_notifications_inbox RENAME TO provider_notifications;

CREATE UNIQUE INDEX provider_notifications_dedup
    ON provider_notifications (provider, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX provider_notifications_received ON provider_notifications (received_at_ms)
    WHERE state = 'received';
