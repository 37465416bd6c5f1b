-- Refused (unverifiable) provider notifications are no longer stored one row each: a forger
-- could fill the disk and hold the writer. They are counted per provider (an in-memory tally
-- flushed every few seconds) and only a bounded sample is kept (the latest 100 per provider,
-- body cut to 4 KiB, phone numbers masked, at most one a second per provider).
CREATE TABLE refused_notice_counts (
    provider       TEXT PRIMARY KEY NOT NULL,
    refused        INTEGER NOT NULL,
    first_at_ms    INTEGER NOT NULL,
    last_at_ms     INTEGER NOT NULL
);

CREATE TABLE refused_notice_samples (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provider       TEXT NOT NULL,
    -- The attempt reference it claimed (nothing in it is trusted).
    reference      TEXT,
    -- Why it was refused (`bad signature`, …).
    reason         TEXT NOT NULL,
    body           TEXT NOT NULL,
    -- 0 for rows moved here from the old inbox rows: their phone numbers are masked by the
    -- verifier at its next start (SQL cannot), then 1.
    masked         INTEGER NOT NULL DEFAULT 1,
    received_at_ms INTEGER NOT NULL
);
-- The latest samples of one provider (listing, trimming to the bound).
CREATE INDEX refused_notice_samples_provider ON refused_notice_samples (provider, id);
-- Retention: samples older than the setting.
CREATE INDEX refused_notice_samples_received ON refused_notice_samples (received_at_ms);
CREATE INDEX refused_notice_samples_unmasked ON refused_notice_samples (id) WHERE masked = 0;

-- The refused rows stored so far: counted, the latest 100 per provider kept as samples (body
-- cut to 4 KiB), the rest deleted.
INSERT INTO refused_notice_counts (provider, refused, first_at_ms, last_at_ms)
SELECT provider, COUNT(*), MIN(received_at_ms), MAX(received_at_ms)
FROM provider_notifications WHERE state = 'refused' GROUP BY provider;

INSERT INTO refused_notice_samples (provider, reference, reason, body, masked, received_at_ms)
SELECT provider, reference, 'refused before 0011', substr(body, 1, 4096), 0, received_at_ms
FROM (
    SELECT provider, reference, body, received_at_ms,
           ROW_NUMBER() OVER (PARTITION BY provider ORDER BY received_at_ms DESC, rowid DESC) AS n
    FROM provider_notifications WHERE state = 'refused'
)
WHERE n <= 100
ORDER BY received_at_ms, provider;

DELETE FROM provider_notifications WHERE state = 'refused';

-- Retention of raw bodies: processed (or duplicate) notifications whose body is still kept,
-- by age; the purge clears the body and keeps the row's facts.
CREATE INDEX provider_notifications_body_kept ON provider_notifications (received_at_ms)
    WHERE state IN ('processed', 'duplicate') AND body != '';
