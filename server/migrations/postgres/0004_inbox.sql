-- Provider notifications: verified ones stored first (one per deduplication key, kept by a
-- partial unique index that `INSERT … ON CONFLICT` relies on), processed after; refused ones
-- only counted, with a bounded sample.
CREATE TABLE provider_notifications (
    seq                       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                        TEXT PRIMARY KEY,
    provider                  TEXT NOT NULL,
    dedup_key                 TEXT,
    verified                  BOOLEAN NOT NULL,
    state                     TEXT NOT NULL CHECK (state IN ('received', 'processed', 'refused',
                                                             'duplicate', 'failed')),
    duplicate_of              TEXT,
    reference                 TEXT,
    update_status             TEXT,
    update_failure            TEXT,
    update_provider_reference TEXT,
    update_payment_url        TEXT,
    update_reported           TEXT,                  -- JSON of `shared::api::Reported`
    body                      TEXT NOT NULL,
    attempts                  BIGINT NOT NULL DEFAULT 0,
    last_error                TEXT,
    outcome                   TEXT,
    received_at_ms            BIGINT NOT NULL,
    processed_at_ms           BIGINT
);
CREATE UNIQUE INDEX provider_notifications_dedup
    ON provider_notifications (provider, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX provider_notifications_received ON provider_notifications (received_at_ms, seq)
    WHERE state = 'received';
CREATE INDEX provider_notifications_provider ON provider_notifications (provider, received_at_ms, seq);
-- Retention of raw bodies: processed (or duplicate) notifications whose body is still kept.
CREATE INDEX provider_notifications_body_kept ON provider_notifications (received_at_ms)
    WHERE state IN ('processed', 'duplicate') AND body <> '';

CREATE TABLE refused_notice_counts (
    provider    TEXT PRIMARY KEY,
    refused     BIGINT NOT NULL,
    first_at_ms BIGINT NOT NULL,
    last_at_ms  BIGINT NOT NULL
);

CREATE TABLE refused_notice_samples (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider       TEXT NOT NULL,
    reference      TEXT,                             -- the attempt reference it claimed
    reason         TEXT NOT NULL,
    body           TEXT NOT NULL,                    -- cut, redacted, phone numbers masked
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX refused_notice_samples_provider ON refused_notice_samples (provider, id);
CREATE INDEX refused_notice_samples_received ON refused_notice_samples (received_at_ms);
