//! Payment states and every legal transition between them, in one place.
//!
//! A checkout is what the merchant asked to be paid; an attempt is one try by the customer with
//! one method and one provider. States only move forward: a stale or repeated update asks for a
//! transition that [`CheckoutStatus::can_become`] / [`AttemptStatus::can_become`] refuse, and the
//! stores apply an update only when it is legal from the state they hold.

use serde::{Deserialize, Serialize};

/// The state of a checkout, as the merchant sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Waiting for the customer to pay (again, after a failed attempt).
    Open,
    /// An attempt is under way with a provider.
    Processing,
    /// The provider confirmed the payment. Only a refund moves it on.
    Succeeded,
    /// Nobody paid before the checkout's deadline.
    Expired,
    /// The merchant cancelled it before it was paid.
    Cancelled,
    /// Part of the paid amount went back to the customer.
    PartiallyRefunded,
    /// All of the paid amount went back to the customer.
    Refunded,
}

impl CheckoutStatus {
    /// Every state, for exhaustive tests and database constraints.
    pub const ALL: [CheckoutStatus; 7] = [
        CheckoutStatus::Open,
        CheckoutStatus::Processing,
        CheckoutStatus::Succeeded,
        CheckoutStatus::Expired,
        CheckoutStatus::Cancelled,
        CheckoutStatus::PartiallyRefunded,
        CheckoutStatus::Refunded,
    ];

    /// The identifier stored in the database and sent in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutStatus::Open => "open",
            CheckoutStatus::Processing => "processing",
            CheckoutStatus::Succeeded => "succeeded",
            CheckoutStatus::Expired => "expired",
            CheckoutStatus::Cancelled => "cancelled",
            CheckoutStatus::PartiallyRefunded => "partially_refunded",
            CheckoutStatus::Refunded => "refunded",
        }
    }

    /// Parses [`CheckoutStatus::as_str`]'s form.
    pub fn parse(s: &str) -> Option<CheckoutStatus> {
        CheckoutStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether money has been taken (the merchant may ship).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            CheckoutStatus::Succeeded | CheckoutStatus::PartiallyRefunded | CheckoutStatus::Refunded
        )
    }

    /// Whether no attempt can be started any more.
    pub fn is_final_for_customer(self) -> bool {
        !matches!(self, CheckoutStatus::Open | CheckoutStatus::Processing)
    }

    /// The one table of legal checkout transitions. A state never "becomes" itself.
    pub fn can_become(self, next: CheckoutStatus) -> bool {
        use CheckoutStatus::*;
        match (self, next) {
            (Open, Processing | Succeeded | Expired | Cancelled) => true,
            // A failed attempt reopens the checkout so that the customer can try again.
            (Processing, Open | Succeeded | Expired) => true,
            // The provider's word on money taken wins over our own deadline: a payment the
            // provider completes after expiry is recorded, never lost (NovaSend documents
            // late failed → success reversals after checking with the operator).
            (Expired, Succeeded) => true,
            (Succeeded, PartiallyRefunded | Refunded) => true,
            (PartiallyRefunded, Refunded) => true,
            _ => false,
        }
    }
}

/// The state of one payment attempt with a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Recorded by us; the provider has not answered yet.
    Created,
    /// The provider took the request; the customer has to confirm (push prompt, link, OTP).
    AwaitingCustomer,
    /// The provider says the money moved.
    Succeeded,
    /// The provider says it did not, or the customer declined.
    Failed,
    /// The customer did not confirm in time.
    Expired,
}

impl AttemptStatus {
    /// Every state, for exhaustive tests and database constraints.
    pub const ALL: [AttemptStatus; 5] = [
        AttemptStatus::Created,
        AttemptStatus::AwaitingCustomer,
        AttemptStatus::Succeeded,
        AttemptStatus::Failed,
        AttemptStatus::Expired,
    ];

    /// The identifier stored in the database and sent in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Created => "created",
            AttemptStatus::AwaitingCustomer => "awaiting_customer",
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Failed => "failed",
            AttemptStatus::Expired => "expired",
        }
    }

    /// Parses [`AttemptStatus::as_str`]'s form.
    pub fn parse(s: &str) -> Option<AttemptStatus> {
        AttemptStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the provider still has something to say.
    pub fn is_pending(self) -> bool {
        matches!(self, AttemptStatus::Created | AttemptStatus::AwaitingCustomer)
    }

    /// The one table of legal attempt transitions. A state never "becomes" itself.
    pub fn can_become(self, next: AttemptStatus) -> bool {
        use AttemptStatus::*;
        match (self, next) {
            (Created, AwaitingCustomer | Succeeded | Failed | Expired) => true,
            (AwaitingCustomer, Succeeded | Failed | Expired) => true,
            // Only the provider's confirmation of money taken can follow an ending: operators
            // reverse a failure when the customer was in fact debited.
            (Failed | Expired, Succeeded) => true,
            _ => false,
        }
    }

    /// What an attempt in this state means for its checkout, if anything.
    pub fn checkout_status(self) -> CheckoutStatus {
        match self {
            AttemptStatus::Created | AttemptStatus::AwaitingCustomer => CheckoutStatus::Processing,
            AttemptStatus::Succeeded => CheckoutStatus::Succeeded,
            AttemptStatus::Failed | AttemptStatus::Expired => CheckoutStatus::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_transitions_exhaustive() {
        use CheckoutStatus::*;
        let legal = [
            (Open, Processing),
            (Open, Succeeded),
            (Open, Expired),
            (Open, Cancelled),
            (Processing, Open),
            (Processing, Succeeded),
            (Processing, Expired),
            (Expired, Succeeded),
            (Succeeded, PartiallyRefunded),
            (Succeeded, Refunded),
            (PartiallyRefunded, Refunded),
        ];
        for a in CheckoutStatus::ALL {
            for b in CheckoutStatus::ALL {
                assert_eq!(a.can_become(b), legal.contains(&(a, b)), "{a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn attempt_transitions_exhaustive() {
        use AttemptStatus::*;
        let legal = [
            (Created, AwaitingCustomer),
            (Created, Succeeded),
            (Created, Failed),
            (Created, Expired),
            (AwaitingCustomer, Succeeded),
            (AwaitingCustomer, Failed),
            (AwaitingCustomer, Expired),
            (Failed, Succeeded),
            (Expired, Succeeded),
        ];
        for a in AttemptStatus::ALL {
            for b in AttemptStatus::ALL {
                assert_eq!(a.can_become(b), legal.contains(&(a, b)), "{a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn nothing_undoes_a_success() {
        for s in AttemptStatus::ALL {
            assert!(!AttemptStatus::Succeeded.can_become(s));
        }
        for s in [CheckoutStatus::Open, CheckoutStatus::Processing, CheckoutStatus::Expired] {
            assert!(!CheckoutStatus::Succeeded.can_become(s));
        }
    }

    #[test]
    fn identifiers_round_trip() {
        for s in CheckoutStatus::ALL {
            assert_eq!(CheckoutStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        for s in AttemptStatus::ALL {
            assert_eq!(AttemptStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
    }
}
