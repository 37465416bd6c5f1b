-- An attempt the customer cancelled is still asked about for a while (SQLite's 0016): no
-- provider documents a cancel of a pending payment, so a confirmation may follow
-- (`failed → succeeded`), and when the provider's webhook is lost only a status fetch finds it.
-- `poll_until_ms` is until when (unix ms) the reconciler still fetches a failed attempt: set by
-- a customer's cancellation (`plan::CANCELLED_POLL_WINDOW_S` after it), NULL otherwise and
-- cleared by any later move. The partial index holds only such attempts.
ALTER TABLE attempts ADD COLUMN poll_until_ms BIGINT;
CREATE INDEX attempts_cancelled_due ON attempts (poll_until_ms)
    WHERE status = 'failed' AND poll_until_ms IS NOT NULL;
