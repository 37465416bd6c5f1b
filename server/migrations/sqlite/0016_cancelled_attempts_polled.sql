-- An attempt the customer cancelled is still asked about for a while: no provider documents a
-- cancel of a pending payment, so the prompt may still reach the customer's phone and be
-- confirmed (`failed → succeeded`), and when the provider's webhook is lost only a status fetch
-- finds it. `poll_until_ms` is until when (unix ms) the reconciler still fetches a failed
-- attempt: set by a customer's cancellation (`plan::CANCELLED_POLL_WINDOW_S` after it), NULL
-- otherwise and cleared by any later move. The partial index holds only such attempts, and the
-- reconciler reads only those whose window is not over, never every failed row.
ALTER TABLE attempts ADD COLUMN poll_until_ms INTEGER;
CREATE INDEX attempts_cancelled_due ON attempts (poll_until_ms)
    WHERE status = 'failed' AND poll_until_ms IS NOT NULL;
