-- What the customer was debited for an attempt, the provider's fees included, when the provider
-- says (NovaSend's `chargedAmount`): shown to the merchant, never compared with the checkout's
-- amount.
ALTER TABLE attempts ADD COLUMN reported_charged INTEGER;
