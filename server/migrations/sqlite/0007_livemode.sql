-- Whether a checkout was created by a verifier in live mode (1) or test mode (0). Only a
-- verifier of the same mode may pay or refund it. Checkouts stored before verifiers had modes
-- read as test: an upgraded live deployment lets them expire instead of paying them.
ALTER TABLE checkouts ADD COLUMN livemode INTEGER NOT NULL DEFAULT 0 CHECK (livemode IN (0, 1));
