//! The widget's state machine: one [`State`], the [`Action`]s that change it, and a pure
//! reducer (`impl Reducible`), so every transition a customer can meet is tested natively.
//!
//! The reducer never performs I/O. Requests are *described* by the state (`sending()`,
//! `load_seq`, `live_attempt()`) and the `App` component runs them in effects keyed on those
//! values, dispatching their outcome back as actions.

use std::rc::Rc;

use shared::api::{ApiErrorCode, PayRequest, PublicAttempt, PublicCheckout};
use shared::catalogue::ErrorCode;
use shared::locale::Locale;
use shared::method::PaymentMethod;
use shared::phone::{PhoneError, PhoneNumber};
use shared::status::{AttemptStatus, CheckoutStatus};
use yew::Reducible;

/// What went wrong with a request, in the terms the customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The client secret is malformed, unknown, or not for this checkout.
    InvalidLink,
    /// The network or the verifier failed; trying again may help.
    Unreachable,
    /// The chosen method is not offered for this checkout.
    MethodUnavailable,
    /// No method was chosen.
    NoMethod,
    /// The provider refused; the catalogue says why.
    Payment(ErrorCode),
}

/// How a `pay` request failed, as read from the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayFailure {
    /// The verifier answered with an `ApiError` body.
    Api {
        /// Its machine-readable code.
        code: ApiErrorCode,
        /// For `payment_failed`, the catalogue's code.
        payment_error: Option<ErrorCode>,
    },
    /// No usable answer: network failure, or a body we could not read.
    Unreachable,
}

/// Why the phone field is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PhoneProblem {
    /// Our own parse of what was typed failed.
    Invalid(PhoneError),
    /// We accepted it but the verifier or the provider refused it.
    Refused,
}

/// The state of loading the checkout: the one request the whole widget waits on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fetch<T> {
    /// In flight.
    Loading,
    /// Done.
    Loaded(T),
    /// Failed, with what to tell the customer.
    Failed(Problem),
}

/// The `pay` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pay {
    /// Nothing in flight: the button is enabled.
    Idle,
    /// In flight: the button is disabled. `seq` distinguishes two identical requests.
    Sending {
        /// Increases with every submit.
        seq: u32,
        /// What is sent.
        request: PayRequest,
    },
}

/// What the customer sees, derived from [`State`]; never stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Screen<'a> {
    /// The checkout is loading.
    Loading,
    /// The checkout could not be loaded.
    Unavailable(Problem),
    /// The payment form (method, phone, pay button).
    Form,
    /// An attempt is under way: confirm on the phone.
    Waiting(&'a PublicAttempt),
    /// Paid; the attempt, when known, gives the reference.
    Paid(Option<&'a PublicAttempt>),
    /// Paid, then refunded (in part or in full).
    Refunded,
    /// The latest attempt failed or expired; the customer may try again.
    Failed(&'a PublicAttempt),
    /// No attempt can be started any more: expired or cancelled.
    Closed(CheckoutStatus),
}

impl Screen<'_> {
    /// A stable name, exposed as `data-screen` for tests and merchants' CSS.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Screen::Loading => "loading",
            Screen::Unavailable(_) => "unavailable",
            Screen::Form => "form",
            Screen::Waiting(_) => "waiting",
            Screen::Paid(_) => "paid",
            Screen::Refunded => "refunded",
            Screen::Failed(_) => "failed",
            Screen::Closed(_) => "closed",
        }
    }
}

/// Everything the widget knows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    /// The customer's language.
    pub(crate) locale: Locale,
    /// The checkout, as last heard from the verifier.
    pub(crate) checkout: Fetch<PublicCheckout>,
    /// Increase it to (re)load the checkout.
    pub(crate) load_seq: u32,
    /// The method the customer chose (preselected when only one is offered).
    pub(crate) method: Option<PaymentMethod>,
    /// The phone number as typed.
    pub(crate) phone: String,
    /// Why the phone number is refused, shown under the field.
    pub(crate) phone_error: Option<PhoneProblem>,
    /// A problem with the whole form, shown above the button.
    pub(crate) form_error: Option<Problem>,
    /// The `pay` request.
    pub(crate) pay: Pay,
    /// The failed attempt whose end screen the customer left with "Try again".
    pub(crate) dismissed_attempt: Option<String>,
    seq: u32,
}

/// Everything that can happen to the widget.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// The checkout was (re)loaded.
    Loaded(PublicCheckout),
    /// Loading it failed.
    LoadFailed(Problem),
    /// Load the checkout again (after a failure, or to learn the truth after a conflict).
    Reload,
    /// A live update (SSE event or poll); stale ones are ignored.
    Update(PublicCheckout),
    /// The customer picked a method.
    ChooseMethod(PaymentMethod),
    /// The customer typed in the phone field.
    PhoneInput(String),
    /// The phone field lost focus.
    PhoneBlur,
    /// The customer pressed the pay button.
    Submit,
    /// The verifier accepted the payment request.
    PayAccepted(PublicCheckout),
    /// The verifier refused it, or could not be reached.
    PayFailed(PayFailure),
    /// "Try again" on a failure screen: back to the form.
    Retry,
}

impl State {
    /// The state at mount. A malformed client secret fails at once, without a request.
    pub(crate) fn new(locale: Locale, secret_is_valid: bool) -> State {
        State {
            locale,
            checkout: if secret_is_valid { Fetch::Loading } else { Fetch::Failed(Problem::InvalidLink) },
            load_seq: 0,
            method: None,
            phone: String::new(),
            phone_error: None,
            form_error: None,
            pay: Pay::Idle,
            dismissed_attempt: None,
            seq: 0,
        }
    }

    /// The checkout, once loaded.
    pub(crate) fn loaded(&self) -> Option<&PublicCheckout> {
        match &self.checkout {
            Fetch::Loaded(c) => Some(c),
            _ => None,
        }
    }

    /// What the customer sees.
    pub(crate) fn screen(&self) -> Screen<'_> {
        let c = match &self.checkout {
            Fetch::Loading => return Screen::Loading,
            Fetch::Failed(p) => return Screen::Unavailable(*p),
            Fetch::Loaded(c) => c,
        };
        match c.status {
            CheckoutStatus::Succeeded => Screen::Paid(c.attempt.as_ref()),
            CheckoutStatus::PartiallyRefunded | CheckoutStatus::Refunded => Screen::Refunded,
            CheckoutStatus::Expired | CheckoutStatus::Cancelled => Screen::Closed(c.status),
            CheckoutStatus::Open | CheckoutStatus::Processing => match &c.attempt {
                Some(a) if a.status.is_pending() => Screen::Waiting(a),
                Some(a) if a.status == AttemptStatus::Succeeded => Screen::Paid(Some(a)),
                Some(a) if self.dismissed_attempt.as_deref() != Some(a.id.as_str()) => Screen::Failed(a),
                _ => Screen::Form,
            },
        }
    }

    /// The `pay` request to send, if one is due: the effect that sends it is keyed on this.
    pub(crate) fn sending(&self) -> Option<(u32, PayRequest)> {
        match &self.pay {
            Pay::Idle => None,
            Pay::Sending { seq, request } => Some((*seq, request.clone())),
        }
    }

    /// The attempt whose live status is watched (SSE, else polling), if any: the effect that
    /// watches is keyed on it, so it stops as soon as the status is final.
    pub(crate) fn live_attempt(&self) -> Option<String> {
        match self.screen() {
            Screen::Waiting(a) => Some(a.id.clone()),
            _ => None,
        }
    }

    /// The methods offered, each once, in the verifier's order.
    pub(crate) fn methods(&self) -> Vec<PaymentMethod> {
        let mut out: Vec<PaymentMethod> = Vec::new();
        if let Some(c) = self.loaded() {
            for m in &c.methods {
                if !out.contains(&m.method) {
                    out.push(m.method);
                }
            }
        }
        out
    }

    /// Parses the phone field, if the chosen method needs one.
    fn check_phone(&self) -> Result<String, PhoneError> {
        let Some(c) = self.loaded() else { return Err(PhoneError::Empty) };
        PhoneNumber::parse(&self.phone, c.country).map(|n| n.as_e164().to_owned())
    }

    fn with_checkout(mut self, c: PublicCheckout) -> State {
        if self.method.is_none() {
            // Preselect when only one method is offered (by one provider or several).
            let first = c.methods.first().map(|m| m.method);
            if first.is_some() && c.methods.iter().all(|m| Some(m.method) == first) {
                self.method = first;
            }
        }
        self.checkout = Fetch::Loaded(c);
        self
    }

    fn submit(mut self) -> State {
        if self.pay != Pay::Idle || self.screen() != Screen::Form {
            return self;
        }
        self.form_error = None;
        let Some(method) = self.method else {
            self.form_error = Some(Problem::NoMethod);
            return self;
        };
        let phone = if method.needs_phone() {
            match self.check_phone() {
                Ok(e164) => e164,
                Err(e) => {
                    self.phone_error = Some(PhoneProblem::Invalid(e));
                    return self;
                }
            }
        } else {
            String::new()
        };
        self.phone_error = None;
        self.seq = self.seq.wrapping_add(1);
        self.pay =
            Pay::Sending { seq: self.seq, request: PayRequest { method, phone, provider: None, otp: None } };
        self
    }

    fn pay_failed(mut self, failure: PayFailure) -> State {
        self.pay = Pay::Idle;
        match failure {
            PayFailure::Api { code: ApiErrorCode::InvalidPhoneNumber, .. }
            | PayFailure::Api { payment_error: Some(ErrorCode::InvalidPhoneNumber), .. } => {
                self.phone_error = Some(PhoneProblem::Refused);
            }
            PayFailure::Api { payment_error: Some(code), .. } => {
                self.form_error = Some(Problem::Payment(code));
            }
            PayFailure::Api { code: ApiErrorCode::Unauthorized | ApiErrorCode::NotFound, .. } => {
                self.checkout = Fetch::Failed(Problem::InvalidLink);
            }
            PayFailure::Api { code: ApiErrorCode::MethodUnavailable, .. } => {
                self.form_error = Some(Problem::MethodUnavailable);
            }
            PayFailure::Api { code: ApiErrorCode::Conflict, .. } => {
                // Already paid, expired, or an attempt is under way: learn which.
                self.load_seq = self.load_seq.wrapping_add(1);
            }
            PayFailure::Api { .. } | PayFailure::Unreachable => {
                self.form_error = Some(Problem::Unreachable);
            }
        }
        self
    }
}

/// Whether `incoming` may replace `current`: states only move forward, so a stale event (an
/// older poll answer, an event for an attempt the customer already left) is dropped.
pub(crate) fn is_fresher(
    current: &PublicCheckout,
    incoming: &PublicCheckout,
    dismissed: Option<&str>,
) -> bool {
    if current.status != incoming.status && !current.status.can_become(incoming.status) {
        return false;
    }
    match (&current.attempt, &incoming.attempt) {
        (Some(_), None) => false,
        (None, _) => true,
        (Some(a), Some(b)) if a.id == b.id => a.status == b.status || a.status.can_become(b.status),
        // Another attempt: newer, unless it is one the customer already left.
        (Some(_), Some(b)) => dismissed != Some(b.id.as_str()),
    }
}

/// Whether anything about `c` can still change without the customer acting: the live
/// connection is kept only while this holds.
pub(crate) fn is_live(c: &PublicCheckout) -> bool {
    matches!(c.status, CheckoutStatus::Open | CheckoutStatus::Processing)
        && c.attempt.as_ref().is_some_and(|a| a.status.is_pending())
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        let next = match action {
            Action::Loaded(c) => s.with_checkout(c),
            Action::LoadFailed(p) => {
                if p == Problem::InvalidLink || s.loaded().is_none() {
                    s.checkout = Fetch::Failed(p);
                } else {
                    s.form_error = Some(p);
                }
                s
            }
            Action::Reload => {
                if s.loaded().is_none() {
                    s.checkout = Fetch::Loading;
                }
                s.load_seq = s.load_seq.wrapping_add(1);
                s
            }
            Action::Update(c) => match s.loaded() {
                Some(cur) if !is_fresher(cur, &c, s.dismissed_attempt.as_deref()) => return self,
                _ => s.with_checkout(c),
            },
            Action::ChooseMethod(m) => {
                s.method = Some(m);
                if s.form_error == Some(Problem::NoMethod) || s.form_error == Some(Problem::MethodUnavailable)
                {
                    s.form_error = None;
                }
                s
            }
            Action::PhoneInput(text) => {
                s.phone = text;
                // Once an error is shown, it follows the typing, so it disappears when fixed.
                if s.phone_error.is_some() {
                    s.phone_error = s.check_phone().err().map(PhoneProblem::Invalid);
                }
                s
            }
            Action::PhoneBlur => {
                if !s.phone.trim().is_empty() {
                    s.phone_error = s.check_phone().err().map(PhoneProblem::Invalid);
                }
                s
            }
            Action::Submit => s.submit(),
            Action::PayAccepted(c) => {
                s.pay = Pay::Idle;
                match s.loaded() {
                    Some(cur) if !is_fresher(cur, &c, s.dismissed_attempt.as_deref()) => s,
                    _ => s.with_checkout(c),
                }
            }
            Action::PayFailed(f) => s.pay_failed(f),
            Action::Retry => {
                if let Screen::Failed(a) = s.screen() {
                    s.dismissed_attempt = Some(a.id.clone());
                    s.form_error = None;
                    s.phone_error = None;
                }
                s
            }
        };
        if next == *self { self } else { Rc::new(next) }
    }
}

#[cfg(test)]
mod tests {
    use shared::api::MethodOption;
    use shared::method::Provider;
    use shared::money::Currency;
    use shared::phone::Country;

    use super::*;

    fn checkout(status: CheckoutStatus, attempt: Option<(&str, AttemptStatus)>) -> PublicCheckout {
        PublicCheckout {
            id: "co_abcdefghijklmnopqrstuvwx".into(),
            merchant_name: "Boutique Awa".into(),
            description: Some("2 pagnes".into()),
            amount: 5000,
            currency: Currency::Xof,
            country: Country::Ci,
            status,
            methods: vec![MethodOption { method: PaymentMethod::MobileMoney, provider: Provider::NovaSend }],
            attempt: attempt.map(|(id, status)| PublicAttempt {
                id: id.into(),
                method: PaymentMethod::MobileMoney,
                status,
                failure: (status == AttemptStatus::Failed).then_some(ErrorCode::InsufficientFunds),
                action: None,
                payment_url: None,
            }),
            expires_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn run(state: State, actions: impl IntoIterator<Item = Action>) -> State {
        let mut s = Rc::new(state);
        for a in actions {
            s = s.reduce(a);
        }
        (*s).clone()
    }

    fn open_form() -> State {
        run(State::new(Locale::Fr, true), [Action::Loaded(checkout(CheckoutStatus::Open, None))])
    }

    #[test]
    fn loads_then_shows_the_form_with_the_only_method_preselected() {
        let s = State::new(Locale::Fr, true);
        assert_eq!(s.screen(), Screen::Loading);
        let s = open_form();
        assert_eq!(s.screen(), Screen::Form);
        assert_eq!(s.method, Some(PaymentMethod::MobileMoney));
    }

    #[test]
    fn a_malformed_secret_fails_without_a_request() {
        let s = State::new(Locale::En, false);
        assert_eq!(s.screen(), Screen::Unavailable(Problem::InvalidLink));
    }

    #[test]
    fn several_methods_are_not_preselected() {
        let mut c = checkout(CheckoutStatus::Open, None);
        c.methods.push(MethodOption { method: PaymentMethod::Wave, provider: Provider::CaurisFlux });
        let s = run(State::new(Locale::Fr, true), [Action::Loaded(c)]);
        assert_eq!(s.method, None);
        let s = run(s, [Action::PhoneInput("0707123456".into()), Action::Submit]);
        assert_eq!(s.form_error, Some(Problem::NoMethod));
        assert_eq!(s.pay, Pay::Idle);
        let s = run(s, [Action::ChooseMethod(PaymentMethod::Wave)]);
        assert_eq!(s.form_error, None);
        let s = run(s, [Action::Submit]);
        assert!(matches!(s.pay, Pay::Sending { ref request, .. } if request.method == PaymentMethod::Wave));
    }

    #[test]
    fn an_invalid_number_is_shown_and_nothing_is_sent() {
        let s = run(open_form(), [Action::PhoneInput("0707".into()), Action::Submit]);
        assert_eq!(s.phone_error, Some(PhoneProblem::Invalid(PhoneError::TooShort)));
        assert_eq!(s.sending(), None);
        let s = run(
            State::new(Locale::Fr, true),
            [Action::Loaded(checkout(CheckoutStatus::Open, None)), Action::Submit],
        );
        assert_eq!(s.phone_error, Some(PhoneProblem::Invalid(PhoneError::Empty)));
    }

    #[test]
    fn the_error_follows_typing_once_shown_and_blur_validates() {
        let s = run(open_form(), [Action::PhoneInput("07".into())]);
        assert_eq!(s.phone_error, None, "no error while typing before the first check");
        let s = run(s, [Action::PhoneBlur]);
        assert!(s.phone_error.is_some());
        let s = run(s, [Action::PhoneInput("07 07 12 34 56".into())]);
        assert_eq!(s.phone_error, None);
        let s = run(open_form(), [Action::PhoneBlur]);
        assert_eq!(s.phone_error, None, "an untouched empty field is not an error on blur");
    }

    #[test]
    fn submit_sends_e164_once_while_in_flight() {
        let s = run(open_form(), [Action::PhoneInput("07 07 12 34 56".into()), Action::Submit]);
        let Some((seq, req)) = s.sending() else { panic!("nothing sent") };
        assert_eq!(req.phone, "+2250707123456");
        assert_eq!(req.method, PaymentMethod::MobileMoney);
        let again = run(s.clone(), [Action::Submit]);
        assert_eq!(again.sending(), Some((seq, req)), "no double submit");
    }

    #[test]
    fn accepted_payment_waits_then_succeeds() {
        let s = run(open_form(), [Action::PhoneInput("0707123456".into()), Action::Submit]);
        let s = run(
            s,
            [Action::PayAccepted(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::Created)),
            ))],
        );
        assert_eq!(s.pay, Pay::Idle);
        assert!(matches!(s.screen(), Screen::Waiting(a) if a.id == "at_1"));
        assert_eq!(s.live_attempt().as_deref(), Some("at_1"));
        let s = run(
            s,
            [Action::Update(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        assert_eq!(s.live_attempt().as_deref(), Some("at_1"));
        let s = run(
            s,
            [Action::Update(checkout(CheckoutStatus::Succeeded, Some(("at_1", AttemptStatus::Succeeded))))],
        );
        assert!(matches!(s.screen(), Screen::Paid(Some(a)) if a.id == "at_1"));
        assert_eq!(s.live_attempt(), None, "a final status stops the live connection");
    }

    #[test]
    fn stale_updates_are_ignored() {
        let waiting = run(
            open_form(),
            [Action::Loaded(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        for stale in [
            checkout(CheckoutStatus::Open, None),
            checkout(CheckoutStatus::Processing, Some(("at_1", AttemptStatus::Created))),
        ] {
            let s = run(waiting.clone(), [Action::Update(stale)]);
            assert_eq!(s, waiting);
        }
        let paid = run(
            waiting,
            [Action::Update(checkout(CheckoutStatus::Succeeded, Some(("at_1", AttemptStatus::Succeeded))))],
        );
        let s = run(
            paid.clone(),
            [Action::Update(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        assert_eq!(s, paid, "nothing undoes a success");
    }

    #[test]
    fn a_failure_shows_the_catalogue_then_try_again_returns_to_the_form() {
        let s = run(
            open_form(),
            [Action::Loaded(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        let s =
            run(s, [Action::Update(checkout(CheckoutStatus::Open, Some(("at_1", AttemptStatus::Failed))))]);
        assert!(matches!(s.screen(), Screen::Failed(a) if a.failure == Some(ErrorCode::InsufficientFunds)));
        assert_eq!(s.live_attempt(), None);
        let s = run(s, [Action::Retry]);
        assert_eq!(s.screen(), Screen::Form);
        // An old event about the attempt the customer left does not bring its screen back.
        let s2 = run(
            s.clone(),
            [Action::Update(checkout(CheckoutStatus::Open, Some(("at_1", AttemptStatus::Failed))))],
        );
        assert_eq!(s2.screen(), Screen::Form);
        // A new attempt is followed.
        let s = run(
            s,
            [
                Action::PhoneInput("0707123456".into()),
                Action::Submit,
                Action::PayAccepted(checkout(
                    CheckoutStatus::Processing,
                    Some(("at_2", AttemptStatus::Created)),
                )),
            ],
        );
        assert_eq!(s.live_attempt().as_deref(), Some("at_2"));
    }

    #[test]
    fn api_refusals_map_to_what_the_customer_sees() {
        let sending = run(open_form(), [Action::PhoneInput("0707123456".into()), Action::Submit]);
        let refused = run(
            sending.clone(),
            [Action::PayFailed(PayFailure::Api {
                code: ApiErrorCode::InvalidPhoneNumber,
                payment_error: None,
            })],
        );
        assert_eq!(refused.phone_error, Some(PhoneProblem::Refused));
        assert_eq!(refused.pay, Pay::Idle);
        let failed = run(
            sending.clone(),
            [Action::PayFailed(PayFailure::Api {
                code: ApiErrorCode::PaymentFailed,
                payment_error: Some(ErrorCode::LimitExceeded),
            })],
        );
        assert_eq!(failed.form_error, Some(Problem::Payment(ErrorCode::LimitExceeded)));
        let conflict = run(
            sending.clone(),
            [Action::PayFailed(PayFailure::Api { code: ApiErrorCode::Conflict, payment_error: None })],
        );
        assert_eq!(conflict.load_seq, sending.load_seq + 1, "a conflict reloads the checkout");
        let down = run(sending, [Action::PayFailed(PayFailure::Unreachable)]);
        assert_eq!(down.form_error, Some(Problem::Unreachable));
        assert_eq!(down.screen(), Screen::Form);
    }

    #[test]
    fn end_states_of_the_checkout() {
        for (status, screen) in [
            (CheckoutStatus::Expired, "closed"),
            (CheckoutStatus::Cancelled, "closed"),
            (CheckoutStatus::Refunded, "refunded"),
            (CheckoutStatus::Succeeded, "paid"),
        ] {
            let s = run(State::new(Locale::En, true), [Action::Loaded(checkout(status, None))]);
            assert_eq!(s.screen().name(), screen);
            assert_eq!(s.live_attempt(), None);
            assert_eq!(run(s.clone(), [Action::Submit]), s, "no payment from an end screen");
        }
    }

    #[test]
    fn load_failures_and_reload() {
        let s = run(State::new(Locale::Fr, true), [Action::LoadFailed(Problem::Unreachable)]);
        assert_eq!(s.screen(), Screen::Unavailable(Problem::Unreachable));
        let s = run(s, [Action::Reload]);
        assert_eq!(s.screen(), Screen::Loading);
        assert_eq!(s.load_seq, 1);
    }

    #[test]
    fn liveness() {
        assert!(!is_live(&checkout(CheckoutStatus::Open, None)));
        assert!(is_live(&checkout(CheckoutStatus::Processing, Some(("a", AttemptStatus::Created)))));
        assert!(!is_live(&checkout(CheckoutStatus::Open, Some(("a", AttemptStatus::Expired)))));
        assert!(!is_live(&checkout(CheckoutStatus::Expired, Some(("a", AttemptStatus::Created)))));
    }
}
