//! Payment states and every legal transition between them, in one place.
//!
//! A checkout is what the merchant asked to be paid; an attempt is one try by the customer with
//! one method and one provider. States only move forward: a stale or repeated update asks for a
//! transition that [`CheckoutStatus::can_become`] / [`AttemptStatus::can_become`] refuse, and the
//! stores apply an update only when it is legal from the state they hold.
//!
//! The only way back is a failed attempt reopening its checkout (`processing → open`) so the
//! customer can try again; every other legal transition moves strictly forward, which the tests
//! prove over all pairs and over random sequences of stale and duplicated updates. Refunds move a
//! paid checkout to `partially_refunded` or `refunded` ([`refund_outcome`]).

use serde::{Deserialize, Serialize};

use crate::catalogue::ErrorCode;
use crate::money::Money;

/// The state of a checkout, as the merchant sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// Whether nothing can follow: no legal transition leaves this state.
    pub fn is_terminal(self) -> bool {
        matches!(self, CheckoutStatus::Refunded)
    }

    /// The one table of legal checkout transitions. A state never "becomes" itself.
    pub fn can_become(self, next: CheckoutStatus) -> bool {
        use CheckoutStatus::*;
        match (self, next) {
            (Open, Processing | Succeeded | Expired | Cancelled) => true,
            // A failed attempt reopens the checkout so that the customer can try again.
            (Processing, Open | Succeeded | Expired) => true,
            // The provider's word on money taken wins over our own deadline and over the
            // merchant's cancellation: a payment the provider completes afterwards is recorded,
            // never lost, and can then be refunded (NovaSend documents late failed → success
            // reversals after checking with the operator, within 48 h).
            (Expired | Cancelled, Succeeded) => true,
            (Succeeded, PartiallyRefunded | Refunded) => true,
            (PartiallyRefunded, Refunded) => true,
            _ => false,
        }
    }
}

/// The state of one payment attempt with a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Recorded by us; the provider has not answered yet.
    Created,
    /// The provider took the request; the customer has to confirm (push prompt, link, OTP).
    AwaitingCustomer,
    /// Card and pay-later: the customer authorised the payment; the verifier still has to
    /// capture it (at once, or later when the merchant delays captures).
    Authorized,
    /// The provider says the money moved.
    Succeeded,
    /// The provider says it did not, or the customer declined.
    Failed,
    /// The customer did not confirm in time.
    Expired,
    /// The provider reported a success (or an authorisation) whose amount, currency or
    /// reference is not the attempt's: the money moved, but not as asked. It never pays the
    /// checkout; the merchant settles it with the provider (`attempt.amount_mismatch`).
    Review,
}

impl AttemptStatus {
    /// Every state, for exhaustive tests and database constraints.
    pub const ALL: [AttemptStatus; 7] = [
        AttemptStatus::Created,
        AttemptStatus::AwaitingCustomer,
        AttemptStatus::Authorized,
        AttemptStatus::Succeeded,
        AttemptStatus::Failed,
        AttemptStatus::Expired,
        AttemptStatus::Review,
    ];

    /// The identifier stored in the database and sent in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Created => "created",
            AttemptStatus::AwaitingCustomer => "awaiting_customer",
            AttemptStatus::Authorized => "authorized",
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Failed => "failed",
            AttemptStatus::Expired => "expired",
            AttemptStatus::Review => "review",
        }
    }

    /// Parses [`AttemptStatus::as_str`]'s form.
    pub fn parse(s: &str) -> Option<AttemptStatus> {
        AttemptStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the provider still has something to say.
    pub fn is_pending(self) -> bool {
        matches!(self, AttemptStatus::Created | AttemptStatus::AwaitingCustomer | AttemptStatus::Authorized)
    }

    /// Whether nothing can follow: no legal transition leaves this state. A failed or expired
    /// attempt is not terminal: the provider may still confirm that the money was taken. An
    /// attempt in review is: only the merchant and the provider settle it.
    pub fn is_terminal(self) -> bool {
        matches!(self, AttemptStatus::Succeeded | AttemptStatus::Review)
    }

    /// The one table of legal attempt transitions. A state never "becomes" itself.
    pub fn can_become(self, next: AttemptStatus) -> bool {
        use AttemptStatus::*;
        match (self, next) {
            (Created, AwaitingCustomer | Authorized | Succeeded | Failed | Expired) => true,
            (AwaitingCustomer, Authorized | Succeeded | Failed | Expired) => true,
            // An authorisation is captured (succeeded), voided or refused (failed), or lapses
            // uncaptured (expired).
            (Authorized, Succeeded | Failed | Expired) => true,
            // Only the provider's confirmation of money taken can follow an ending: operators
            // reverse a failure when the customer was in fact debited.
            (Failed | Expired, Succeeded) => true,
            // Whatever the provider reports as money taken, when the amount, currency or
            // reference is not the attempt's, puts the attempt in review instead of succeeded.
            (Created | AwaitingCustomer | Authorized | Failed | Expired, Review) => true,
            _ => false,
        }
    }

    /// What an attempt in this state means for its checkout, if anything.
    pub fn checkout_status(self) -> CheckoutStatus {
        match self {
            AttemptStatus::Created | AttemptStatus::AwaitingCustomer | AttemptStatus::Authorized => {
                CheckoutStatus::Processing
            }
            AttemptStatus::Succeeded => CheckoutStatus::Succeeded,
            AttemptStatus::Failed | AttemptStatus::Expired => CheckoutStatus::Open,
            // Money moved, but not as asked: the checkout is neither paid nor open to a new try.
            AttemptStatus::Review => CheckoutStatus::Processing,
        }
    }
}

/// The state of one refund of a paid checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Asked of the provider; not confirmed yet.
    Pending,
    /// The provider sent the money back.
    Succeeded,
    /// The provider refused or failed.
    Failed,
}

impl RefundStatus {
    /// Every state, for exhaustive tests and database constraints.
    pub const ALL: [RefundStatus; 3] = [RefundStatus::Pending, RefundStatus::Succeeded, RefundStatus::Failed];

    /// The identifier stored in the database and sent in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    /// Parses [`RefundStatus::as_str`]'s form.
    pub fn parse(s: &str) -> Option<RefundStatus> {
        RefundStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The one table of legal refund transitions: a refund ends once.
    pub fn can_become(self, next: RefundStatus) -> bool {
        matches!((self, next), (RefundStatus::Pending, RefundStatus::Succeeded | RefundStatus::Failed))
    }
}

/// What a refund of `amount` leaves of one paid attempt, given what that attempt paid and what
/// was refunded of it before (minor units): `refunded` when nothing is left of it, else
/// `partially_refunded`. A refund is refused unless the checkout is paid and the attempt not
/// fully refunded ([`ErrorCode::RefundNotAllowed`]), and unless its amount is in the payment's
/// currency and at most what is left of the attempt ([`ErrorCode::InvalidRefundAmount`]). The
/// cap is per attempt: a checkout paid twice (`checkout.overpaid`) can give back both payments.
pub fn refund_outcome(
    status: CheckoutStatus,
    paid: Money,
    refunded_before: u64,
    amount: Money,
) -> Result<CheckoutStatus, ErrorCode> {
    if !matches!(status, CheckoutStatus::Succeeded | CheckoutStatus::PartiallyRefunded)
        || refunded_before >= paid.minor()
    {
        return Err(ErrorCode::RefundNotAllowed);
    }
    let left = paid.minor() - refunded_before;
    if amount.currency() != paid.currency() || amount.minor() > left {
        return Err(ErrorCode::InvalidRefundAmount);
    }
    let next =
        if amount.minor() == left { CheckoutStatus::Refunded } else { CheckoutStatus::PartiallyRefunded };
    debug_assert!(status == next || status.can_become(next));
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    /// How far along a checkout is; legal transitions never lower it, and only
    /// `processing → open` keeps it level.
    fn checkout_rank(s: CheckoutStatus) -> u8 {
        match s {
            CheckoutStatus::Open | CheckoutStatus::Processing => 0,
            CheckoutStatus::Expired | CheckoutStatus::Cancelled => 1,
            CheckoutStatus::Succeeded => 2,
            CheckoutStatus::PartiallyRefunded => 3,
            CheckoutStatus::Refunded => 4,
        }
    }

    fn attempt_rank(s: AttemptStatus) -> u8 {
        match s {
            AttemptStatus::Created => 0,
            AttemptStatus::AwaitingCustomer => 1,
            AttemptStatus::Authorized => 2,
            AttemptStatus::Failed | AttemptStatus::Expired => 3,
            AttemptStatus::Succeeded | AttemptStatus::Review => 4,
        }
    }

    #[test]
    fn transitions_only_move_forward() {
        for a in CheckoutStatus::ALL {
            for b in CheckoutStatus::ALL.into_iter().filter(|&b| a.can_become(b)) {
                let level_ok = (a, b) == (CheckoutStatus::Open, CheckoutStatus::Processing)
                    || (a, b) == (CheckoutStatus::Processing, CheckoutStatus::Open);
                assert!(checkout_rank(b) > checkout_rank(a) || level_ok, "{a:?} -> {b:?}");
                // Money taken is never forgotten.
                assert!(!a.is_paid() || b.is_paid(), "{a:?} -> {b:?}");
            }
            assert_eq!(a.is_terminal(), CheckoutStatus::ALL.iter().all(|&b| !a.can_become(b)));
            assert!(!a.can_become(a), "{a:?} becomes itself");
        }
        for a in AttemptStatus::ALL {
            for b in AttemptStatus::ALL.into_iter().filter(|&b| a.can_become(b)) {
                assert!(attempt_rank(b) > attempt_rank(a), "{a:?} -> {b:?}");
                // An attempt's transition is one its checkout can follow (or already reflects).
                let (ca, cb) = (a.checkout_status(), b.checkout_status());
                assert!(ca == cb || ca.can_become(cb), "{a:?} -> {b:?}: {ca:?} -> {cb:?}");
            }
            assert_eq!(a.is_terminal(), AttemptStatus::ALL.iter().all(|&b| !a.can_become(b)));
            assert!(!a.can_become(a), "{a:?} becomes itself");
        }
        for a in RefundStatus::ALL {
            assert!(!a.can_become(a));
            assert_eq!(RefundStatus::parse(a.as_str()), Some(a));
        }
    }

    proptest! {
        /// Updates arrive late, twice, or out of order; applying only the legal ones keeps the
        /// attempt moving forward and its end state the latest legal one.
        #[test]
        fn stale_and_duplicated_updates_never_move_backwards(
            updates in proptest::collection::vec(0usize..7, 0..40)
        ) {
            let mut attempt = AttemptStatus::Created;
            let mut checkout = CheckoutStatus::Processing;
            for i in updates {
                let next = AttemptStatus::ALL[i];
                if attempt.can_become(next) {
                    prop_assert!(attempt_rank(next) > attempt_rank(attempt));
                    let was_paid = checkout.is_paid();
                    attempt = next;
                    let c = attempt.checkout_status();
                    if checkout.can_become(c) {
                        checkout = c;
                    }
                    prop_assert!(!was_paid || checkout.is_paid());
                }
            }
            prop_assert_eq!(checkout.is_paid(), attempt == AttemptStatus::Succeeded);
        }

        #[test]
        fn refunds_add_up(paid in 1u64..1_000_000, parts in proptest::collection::vec(1u64..400_000, 1..6)) {
            let paid_m = Money::new(paid, Currency::Xof).unwrap();
            let mut status = CheckoutStatus::Succeeded;
            let mut refunded = 0u64;
            for part in parts {
                let amount = Money::new(part, Currency::Xof).unwrap();
                match refund_outcome(status, paid_m, refunded, amount) {
                    Ok(next) => {
                        prop_assert!(status == next || status.can_become(next));
                        refunded += part;
                        prop_assert!(refunded <= paid);
                        prop_assert_eq!(next == CheckoutStatus::Refunded, refunded == paid);
                        status = next;
                    }
                    Err(ErrorCode::InvalidRefundAmount) => prop_assert!(refunded + part > paid),
                    Err(ErrorCode::RefundNotAllowed) => prop_assert_eq!(status, CheckoutStatus::Refunded),
                    Err(other) => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
    }

    #[test]
    fn refund_rules() {
        let xof = |m| Money::new(m, Currency::Xof).unwrap();
        use CheckoutStatus::*;
        assert_eq!(refund_outcome(Succeeded, xof(5000), 0, xof(5000)), Ok(Refunded));
        assert_eq!(refund_outcome(Succeeded, xof(5000), 0, xof(1000)), Ok(PartiallyRefunded));
        assert_eq!(refund_outcome(PartiallyRefunded, xof(5000), 1000, xof(4000)), Ok(Refunded));
        assert_eq!(
            refund_outcome(PartiallyRefunded, xof(5000), 1000, xof(4001)),
            Err(ErrorCode::InvalidRefundAmount)
        );
        assert_eq!(
            refund_outcome(Succeeded, xof(5000), 0, Money::new(100, Currency::Eur).unwrap()),
            Err(ErrorCode::InvalidRefundAmount)
        );
        for s in [Open, Processing, Expired, Cancelled, Refunded] {
            assert_eq!(refund_outcome(s, xof(5000), 0, xof(100)), Err(ErrorCode::RefundNotAllowed));
        }
    }

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
            (Cancelled, Succeeded),
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
            (Created, Authorized),
            (Created, Succeeded),
            (Created, Failed),
            (Created, Expired),
            (AwaitingCustomer, Succeeded),
            (AwaitingCustomer, Failed),
            (AwaitingCustomer, Expired),
            (AwaitingCustomer, Authorized),
            (Authorized, Succeeded),
            (Authorized, Failed),
            (Authorized, Expired),
            (Failed, Succeeded),
            (Expired, Succeeded),
            (Created, Review),
            (AwaitingCustomer, Review),
            (Authorized, Review),
            (Failed, Review),
            (Expired, Review),
        ];
        for a in AttemptStatus::ALL {
            for b in AttemptStatus::ALL {
                assert_eq!(a.can_become(b), legal.contains(&(a, b)), "{a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn a_review_never_pays_nor_reopens() {
        for s in AttemptStatus::ALL {
            assert!(!AttemptStatus::Review.can_become(s), "review -> {s:?}");
        }
        assert!(!AttemptStatus::Review.checkout_status().is_paid());
        assert!(AttemptStatus::Review.checkout_status().can_become(CheckoutStatus::Succeeded));
        assert!(!AttemptStatus::Review.is_pending());
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
        for s in RefundStatus::ALL {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
    }
}
