//! The widget's state machine: one [`State`], the [`Action`]s that change it, and a pure
//! reducer (`impl Reducible`), so every transition a customer can meet is tested natively.
//!
//! The reducer never performs I/O. Requests are *described* by the state (`sending()`,
//! `load_seq`, `live_attempt()`) and the `App` component runs them in effects keyed on those
//! values, dispatching their outcome back as actions.

use std::rc::Rc;

use shared::api::{ApiErrorCode, MethodOption, PayRequest, PublicAttempt, PublicCheckout};
use shared::catalogue::ErrorCode;
use shared::locale::Locale;
use shared::method::{PaymentMethod, Provider};
use shared::phone::{Network, PhoneError, PhoneNumber};
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

/// Why the one-time code field is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtpProblem {
    /// Empty, or not 4 to 6 digits.
    Invalid,
    /// The operator refused it (wrong or used code).
    Refused,
}

/// The number's network is not the chosen method's wallet: "this is a Moov number".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The network the number belongs to.
    pub(crate) network: Network,
    /// That network's own wallet, when the checkout offers it (the method to suggest).
    pub(crate) suggest: Option<PaymentMethod>,
    /// Whether the country has number portability: the network is then only likely, so the
    /// customer is warned but not stopped.
    pub(crate) soft: bool,
}

/// What the host page is told, as a `checkout:*` DOM event (`checkout:ready` and
/// `checkout:closed` are sent by the loader and `App` directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// This widget's pay request was accepted.
    Submitted,
    /// Paid.
    Succeeded,
    /// The latest attempt failed or timed out.
    Failed,
    /// The checkout expired: no payment can start any more.
    Expired,
}

impl EventKind {
    /// The DOM event's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EventKind::Submitted => "checkout:submitted",
            EventKind::Succeeded => "checkout:succeeded",
            EventKind::Failed => "checkout:failed",
            EventKind::Expired => "checkout:expired",
        }
    }
}

/// What survives a page reload (sessionStorage, per checkout): nothing secret, only what the
/// server does not say. The server stays the truth for the status itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Memo {
    /// The failed attempt the customer already left with "Try again".
    pub(crate) dismissed: Option<String>,
    /// The network of the number the live attempt was started with (for its fallback code).
    pub(crate) network: Option<Network>,
}

impl Memo {
    /// `dismissed|network`, each part possibly empty.
    pub(crate) fn encode(&self) -> String {
        let net =
            self.network.and_then(|n| NETWORK_KEYS.iter().find(|(m, _)| *m == n)).map_or("", |(_, k)| k);
        crate::cat(&[self.dismissed.as_deref().unwrap_or(""), "|", net])
    }

    /// Reads [`Memo::encode`]'s form; anything else is an empty memo.
    pub(crate) fn decode(s: &str) -> Memo {
        let Some((dismissed, net)) = s.split_once('|') else { return Memo::default() };
        let id_ok =
            dismissed.len() <= 64 && dismissed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        Memo {
            dismissed: (id_ok && !dismissed.is_empty()).then(|| dismissed.to_owned()),
            network: NETWORK_KEYS.iter().find(|(_, k)| *k == net).map(|(n, _)| *n),
        }
    }
}

/// The networks a fallback code can be kept for, with their stored names.
const NETWORK_KEYS: [(Network, &str); 4] = [
    (Network::Orange, "orange"),
    (Network::Mtn, "mtn"),
    (Network::Moov, "moov"),
    (Network::Airtel, "airtel"),
];

/// Milliseconds since the Unix epoch of an RFC 3339 UTC-or-offset timestamp
/// (`2026-01-01T00:00:00Z`, `…00.123+01:00`), as the verifier writes `expires_at`: in the
/// browser, its own `Date.parse`, whose date-time string format these are
/// (https://tc39.es/ecma262/#sec-date-time-string-format), rather than a parser in the
/// download; the reducer's native tests use [`rfc3339_ms`]'s Rust form below, the same rules.
#[cfg(target_arch = "wasm32")]
pub(crate) fn rfc3339_ms(s: &str) -> Option<u64> {
    let ms = web_sys::js_sys::Date::parse(s);
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC-or-offset timestamp, outside the
/// browser (the reducer's native tests).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn rfc3339_ms(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    // The number written by the ASCII digits b[from..to] (no `str::parse`: smaller wasm).
    let num = |from: usize, to: usize| -> Option<i64> {
        b.get(from..to)?
            .iter()
            .try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 100;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            ms += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let m = num(i + 1, i + 3)? * 60 + num(i + 4, i + 6)?;
            if *sign == b'+' { m } else { -m }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + ms).ok()
}

/// Formats what the customer types as numbers of `country` are written, digit groups separated
/// by spaces: `0707123` → `07 07 12 3`, `+2250707` → `+225 07 07`. Anything that is not
/// digits, separators and a leading `+` is left as typed, for the parser to explain.
pub(crate) fn format_typing(input: &str, country: shared::phone::Country) -> String {
    let trimmed = input.trim_start();
    let plus = trimmed.starts_with('+');
    let body = if plus { &trimmed[1..] } else { trimmed };
    if body.chars().any(|c| !(c.is_ascii_digit() || c == ' ' || c == '.' || c == '-')) {
        return input.to_owned();
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let plan = country.plan();
    let mut out = String::with_capacity(digits.len() + 8);
    let mut rest = digits.as_str();
    if plus || rest.starts_with("00") {
        let prefix = if plus { "+" } else { "00" };
        rest = rest.strip_prefix(prefix.trim_start_matches('+')).unwrap_or(rest);
        out.push_str(prefix);
        match rest.strip_prefix(plan.calling_code) {
            Some(nsn) => {
                out.push_str(plan.calling_code);
                rest = nsn;
                if !rest.is_empty() {
                    out.push(' ');
                }
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    } else if plan.trunk_zero && rest.starts_with('0') && rest.len() <= plan.national_len() {
        out.push('0');
        rest = &rest[1..];
    } else if rest.len() > plan.national_len() {
        // Too long to be a national number: left for the parser, not regrouped.
        return digits;
    }
    let mut first = true;
    for &len in plan.groups {
        if rest.is_empty() {
            break;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        let (group, tail) = rest.split_at(len.min(rest.len()));
        out.push_str(group);
        rest = tail;
    }
    if !rest.is_empty() {
        if !first {
            out.push(' ');
        }
        out.push_str(rest);
    }
    out
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
    /// The operator refused the one-time code of the latest attempt: the form again, with the
    /// code field asking for a new one.
    CodeRefused(&'a PublicAttempt),
    /// The provider reported another amount, currency or reference than the attempt's: the
    /// merchant checks; the customer must not pay again.
    Review,
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
            Screen::CodeRefused(_) => "code_refused",
            Screen::Review => "review",
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
    /// The one-time code (Orange Money through NovaSend), digits only.
    pub(crate) otp: String,
    /// Why the one-time code is refused.
    pub(crate) otp_error: Option<OtpProblem>,
    /// The time of the last clock tick (ms since the epoch), for the countdown.
    pub(crate) now_ms: Option<u64>,
    /// The attempt this widget's own pay request started (the `checkout:submitted` event).
    pub(crate) submitted: Option<String>,
    /// The network of the number the live attempt was started with.
    pub(crate) attempt_network: Option<Network>,
    /// The deadline passed and the checkout was reloaded once to learn what the server says.
    deadline_reloaded: bool,
    seq: u32,
    // ---- Waiting screen: cancel, change the number ----
    /// The cancellation asked for on the waiting screen, until the verifier answers.
    pub(crate) cancel: Option<Cancel>,
    /// The customer left the waiting screen with "Change number": the form opens on the phone
    /// field, with the number as typed.
    pub(crate) edit_number: bool,
}

/// A cancellation of the attempt under way ("Cancel" or "Change number" on the waiting screen):
/// the verifier ends the attempt first, so that no second prompt can follow a new number while
/// the first one is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cancel {
    /// Distinguishes two requests for the same attempt (a retry after a failure).
    pub(crate) seq: u32,
    /// The attempt to end.
    pub(crate) attempt: String,
    /// "Change number": back to the form on the phone field.
    pub(crate) edit_number: bool,
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
    /// The customer typed at the end of the phone field: the text is regrouped as typed.
    PhoneInput(String),
    /// The customer edited inside the phone field: the text is kept as it is.
    PhoneEdit(String),
    /// The customer typed in the one-time code field.
    OtpInput(String),
    /// The clock, every second while a deadline is shown (ms since the epoch).
    Tick(u64),
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
    /// "Cancel" on the waiting screen (`true`: "Change number").
    Cancel(bool),
    /// The verifier cancelled the attempt: the checkout as it answered.
    Cancelled(PublicCheckout),
    /// The cancellation was refused, or the verifier could not be reached.
    CancelFailed(PayFailure),
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
            otp: String::new(),
            otp_error: None,
            now_ms: None,
            submitted: None,
            attempt_network: None,
            deadline_reloaded: false,
            seq: 0,
            cancel: None,
            edit_number: false,
        }
    }

    /// The state at mount, with what the previous page of the same tab remembered.
    pub(crate) fn restored(mut self, memo: Memo) -> State {
        self.dismissed_attempt = memo.dismissed;
        self.attempt_network = memo.network;
        self
    }

    /// What to remember across a reload.
    pub(crate) fn memo(&self) -> Memo {
        Memo { dismissed: self.dismissed_attempt.clone(), network: self.attempt_network }
    }

    /// The provider sent for `method`: the first that offers it (the verifier's order).
    pub(crate) fn provider_for(&self, method: PaymentMethod) -> Option<Provider> {
        self.loaded()?.methods.iter().find(|o| o.method == method).map(|o| o.provider)
    }

    /// The provider named in the payment request for `method`: the only one offering it;
    /// none when several do and none of them needs a one-time code, so that the verifier
    /// chooses by their health and the merchant's `[routing]`; else the first (the one-time
    /// code the customer types is that provider's).
    pub(crate) fn provider_sent(&self, method: PaymentMethod) -> Option<Provider> {
        let first = self.provider_for(method)?;
        let mut offering = self.loaded()?.methods.iter().filter(|o| o.method == method);
        let several = offering.clone().nth(1).is_some();
        if several && !offering.any(|o| o.provider.needs_otp(method)) { None } else { Some(first) }
    }

    /// Whether the chosen method needs a one-time code from the customer.
    pub(crate) fn needs_otp(&self) -> bool {
        self.method.is_some_and(|m| self.provider_for(m).is_some_and(|p| p.needs_otp(m)))
    }

    /// The number typed, when it is a valid one.
    pub(crate) fn parsed_phone(&self) -> Option<PhoneNumber> {
        self.check_phone().ok()
    }

    /// The network recognised from a valid number, when its range tells it.
    pub(crate) fn phone_network(&self) -> Option<Network> {
        self.parsed_phone().map(|n| n.network()).filter(|n| *n != Network::Unknown)
    }

    /// The chosen method is one operator's wallet and the number is another's.
    pub(crate) fn mismatch(&self) -> Option<Mismatch> {
        let wanted = self.method?.network()?;
        let number = self.parsed_phone()?;
        let network = number.network();
        if network == Network::Unknown || network == wanted {
            return None;
        }
        let suggest = PaymentMethod::of_network(network).filter(|m| self.methods().contains(m));
        Some(Mismatch { network, suggest, soft: number.country().plan().portable })
    }

    /// The deadline shown, ms since the epoch: while an attempt waits, the provider's for it
    /// when the verifier knows it; otherwise the checkout's.
    pub(crate) fn deadline_ms(&self) -> Option<u64> {
        let attempt = match self.screen() {
            Screen::Waiting(a) => a.expires_at.as_deref().and_then(rfc3339_ms),
            _ => None,
        };
        attempt.or_else(|| rfc3339_ms(&self.loaded()?.expires_at))
    }

    /// The cancellation to send, if one is due.
    pub(crate) fn cancelling(&self) -> Option<(u32, String)> {
        self.cancel.as_ref().map(|c| (c.seq, c.attempt.clone()))
    }

    /// The request to send, if one is due: `(seq, path under the checkout, JSON body, whether
    /// it is the cancellation)`, the pay request or the cancellation of the waiting attempt
    /// (never both: a cancellation is only asked on the waiting screen, a payment only on the
    /// form). The effect that sends it is keyed on this.
    pub(crate) fn request(&self) -> Option<(u32, String, String, bool)> {
        if let Some((seq, attempt)) = self.cancelling() {
            return Some((
                seq,
                crate::cat(&["/attempts/", attempt.as_str(), "/cancel"]),
                String::new(),
                true,
            ));
        }
        self.sending().map(|(seq, r)| (seq, "/pay".to_owned(), crate::api::pay_body(&r), false))
    }

    /// Whole seconds left before the deadline, once the clock has ticked.
    pub(crate) fn remaining_secs(&self) -> Option<u64> {
        Some(self.deadline_ms()?.saturating_sub(self.now_ms?).div_ceil(1000))
    }

    /// The event the host page should hear about now, keyed by the attempt it concerns: the
    /// `App` sends it each time this changes.
    pub(crate) fn event(&self) -> Option<(EventKind, Option<String>)> {
        match self.screen() {
            Screen::Waiting(a) if self.submitted.as_deref() == Some(a.id.as_str()) => {
                Some((EventKind::Submitted, Some(a.id.clone())))
            }
            Screen::Paid(a) => Some((EventKind::Succeeded, a.map(|a| a.id.clone()))),
            Screen::Failed(a) | Screen::CodeRefused(a) => Some((EventKind::Failed, Some(a.id.clone()))),
            Screen::Closed(CheckoutStatus::Expired) => Some((EventKind::Expired, None)),
            _ => None,
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
                Some(a) if a.status == AttemptStatus::Review => Screen::Review,
                Some(a) if self.dismissed_attempt.as_deref() == Some(a.id.as_str()) => Screen::Form,
                // One the customer is cancelling: the stream may tell its end before the
                // cancellation's answer does.
                Some(a) if self.cancel.as_ref().is_some_and(|x| x.attempt == a.id) => Screen::Form,
                Some(a) if a.failure == Some(ErrorCode::OtpRefused) => Screen::CodeRefused(a),
                Some(a) => Screen::Failed(a),
                None => Screen::Form,
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

    /// The methods offered, each once with the first provider offering it (which names it:
    /// a pay-later provider's card method is pay-later).
    pub(crate) fn method_options(&self) -> Vec<MethodOption> {
        let mut out: Vec<MethodOption> = Vec::new();
        if let Some(c) = self.loaded() {
            for m in &c.methods {
                if !out.iter().any(|o| o.method == m.method) {
                    out.push(m.clone());
                }
            }
        }
        out
    }

    /// Parses the phone field, if the chosen method needs one.
    fn check_phone(&self) -> Result<PhoneNumber, PhoneError> {
        let Some(c) = self.loaded() else { return Err(PhoneError::Empty) };
        PhoneNumber::parse(&self.phone, c.country)
    }

    fn with_checkout(mut self, c: PublicCheckout) -> State {
        if self.method.is_none() {
            // Preselect when only one method is offered (by one provider or several).
            let first = c.methods.first().map(|m| m.method);
            if first.is_some() && c.methods.iter().all(|m| Some(m.method) == first) {
                self.method = first;
            }
            // A refused one-time code asks for a new one with the same method (after a reload
            // too, when nothing else remembers it).
            if let Some(a) = c.attempt.as_ref().filter(|a| a.failure == Some(ErrorCode::OtpRefused)) {
                self.method = Some(a.method);
            }
        }
        // A code refused just now is gone from the field, which asks for a new one.
        let refused = c.attempt.as_ref().filter(|a| a.failure == Some(ErrorCode::OtpRefused)).map(|a| &a.id);
        if refused.is_some() && refused != self.loaded().and_then(|l| l.attempt.as_ref()).map(|a| &a.id) {
            self.otp.clear();
        }
        self.checkout = Fetch::Loaded(c);
        self
    }

    fn submit(mut self) -> State {
        let refused = match self.screen() {
            Screen::Form => None,
            Screen::CodeRefused(a) => Some(a.id.clone()),
            _ => return self,
        };
        if self.pay != Pay::Idle {
            return self;
        }
        self.form_error = None;
        let Some(method) = self.method else {
            self.form_error = Some(Problem::NoMethod);
            return self;
        };
        let phone = if method.needs_phone() {
            match self.check_phone() {
                Ok(n) => n.as_e164().to_owned(),
                Err(e) => {
                    self.phone_error = Some(PhoneProblem::Invalid(e));
                    return self;
                }
            }
        } else {
            String::new()
        };
        self.phone_error = None;
        if self.mismatch().is_some_and(|m| !m.soft) {
            return self;
        }
        let otp = if self.needs_otp() {
            if !(4..=6).contains(&self.otp.len()) {
                self.otp_error = Some(OtpProblem::Invalid);
                return self;
            }
            Some(self.otp.clone())
        } else {
            None
        };
        self.otp_error = None;
        // The refused attempt is left behind: a stale event about it must not bring it back.
        if refused.is_some() {
            self.dismissed_attempt = refused;
        }
        self.attempt_network =
            if method.needs_phone() { method.network().or(self.phone_network()) } else { None };
        self.seq = self.seq.wrapping_add(1);
        let provider = self.provider_sent(method);
        self.pay = Pay::Sending { seq: self.seq, request: PayRequest { method, phone, provider, otp } };
        self
    }

    fn phone_typed(mut self, text: String, at_end: bool) -> State {
        self.phone = match self.loaded().map(|c| c.country) {
            Some(country) if at_end => format_typing(&text, country),
            _ => text,
        };
        // Validated live: what is certain already (wrong characters, another country, a
        // complete number no network has) shows at once; "too short" and "old format" wait for
        // the blur, since every number is too short, or looks old, while it is being typed.
        self.phone_error = match self.check_phone() {
            Ok(_) | Err(PhoneError::Empty | PhoneError::TooShort | PhoneError::Obsolete { .. }) => None,
            Err(e) => Some(PhoneProblem::Invalid(e)),
        };
        self
    }

    fn pay_failed(mut self, failure: PayFailure) -> State {
        self.pay = Pay::Idle;
        match failure {
            PayFailure::Api { code: ApiErrorCode::InvalidPhoneNumber, .. }
            | PayFailure::Api { payment_error: Some(ErrorCode::InvalidPhoneNumber), .. } => {
                self.phone_error = Some(PhoneProblem::Refused);
            }
            PayFailure::Api { payment_error: Some(ErrorCode::OtpRequired), .. } if self.needs_otp() => {
                // A one-time code is used or refused: the customer generates a new one.
                self.otp.clear();
                self.otp_error = Some(OtpProblem::Refused);
            }
            PayFailure::Api { payment_error: Some(code), .. } => {
                self.form_error = Some(Problem::Payment(code));
            }
            PayFailure::Api {
                code: ApiErrorCode::Unauthorized | ApiErrorCode::NotFound | ApiErrorCode::ClientSecretExpired,
                ..
            } => {
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
                // Another method leaves the refused code's screen for the plain form.
                if let Screen::CodeRefused(a) = s.screen()
                    && a.method != m
                {
                    s.dismissed_attempt = Some(a.id.clone());
                }
                s.method = Some(m);
                if s.form_error == Some(Problem::NoMethod) || s.form_error == Some(Problem::MethodUnavailable)
                {
                    s.form_error = None;
                }
                s
            }
            Action::PhoneInput(text) => s.phone_typed(text, true),
            Action::PhoneEdit(text) => s.phone_typed(text, false),
            Action::OtpInput(text) => {
                s.otp = text.chars().filter(char::is_ascii_digit).take(6).collect();
                if s.otp_error.is_some() && (4..=6).contains(&s.otp.len()) {
                    s.otp_error = None;
                }
                s
            }
            Action::Tick(now) => {
                s.now_ms = Some(now);
                let due = s.remaining_secs() == Some(0);
                if due
                    && !s.deadline_reloaded
                    && matches!(s.screen(), Screen::Form | Screen::CodeRefused(_) | Screen::Waiting(_))
                {
                    // The deadline passed here: ask the server, which alone says it expired.
                    s.deadline_reloaded = true;
                    s.load_seq = s.load_seq.wrapping_add(1);
                }
                s
            }
            Action::PhoneBlur => {
                let error = s.check_phone().err().map(PhoneProblem::Invalid);
                if s.phone.trim().is_empty() || error == s.phone_error {
                    return self;
                }
                s.phone_error = error;
                s
            }
            Action::Submit => s.submit(),
            Action::PayAccepted(c) => {
                s.pay = Pay::Idle;
                s.edit_number = false;
                s.deadline_reloaded = false;
                s.submitted = c.attempt.as_ref().map(|a| a.id.clone());
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
                    s.otp.clear();
                    s.otp_error = None;
                    s.attempt_network = None;
                }
                s
            }
            Action::Cancel(edit_number) => {
                let waiting = match s.screen() {
                    Screen::Waiting(a) if s.cancel.is_none() => Some(a.id.clone()),
                    _ => None,
                };
                if let Some(attempt) = waiting {
                    s.seq = s.seq.wrapping_add(1);
                    s.cancel = Some(Cancel { seq: s.seq, attempt, edit_number });
                    s.edit_number = edit_number;
                    s.form_error = None;
                }
                s
            }
            Action::Cancelled(c) => {
                let Some(cancel) = s.cancel.take() else { return self };
                // The attempt ended by the customer's choice: back to the form, not to a failure
                // screen; the number stays as typed.
                s.dismissed_attempt = Some(cancel.attempt);
                s.edit_number = cancel.edit_number;
                s.attempt_network = None;
                s.deadline_reloaded = false;
                s.otp.clear();
                match s.loaded() {
                    Some(cur) if !is_fresher(cur, &c, s.dismissed_attempt.as_deref()) => s,
                    _ => s.with_checkout(c),
                }
            }
            Action::CancelFailed(f) => {
                s.cancel = None;
                s.edit_number = false;
                match f {
                    // Already ended (paid, failed, expired): learn how.
                    PayFailure::Api { code: ApiErrorCode::Conflict, .. } => {
                        s.load_seq = s.load_seq.wrapping_add(1);
                    }
                    PayFailure::Api {
                        code:
                            ApiErrorCode::Unauthorized
                            | ApiErrorCode::NotFound
                            | ApiErrorCode::ClientSecretExpired,
                        ..
                    } => s.checkout = Fetch::Failed(Problem::InvalidLink),
                    _ => s.form_error = Some(Problem::Unreachable),
                }
                s
            }
        };
        // A new state every time: a deep comparison with the old one would cost the download
        // more than the renders it saves. The one action that can come while a field holds
        // what the state does not (a blur after a programmatic clear) returns `self` above when
        // it changes nothing, so that no render resets the field.
        Rc::new(next)
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
            short_reference: "K7M2-9QXA".into(),
            merchant_name: "Boutique Awa".into(),
            description: Some("2 pagnes".into()),
            amount: 5000,
            currency: Currency::Xof,
            country: Country::Ci,
            status,
            livemode: false,
            methods: vec![MethodOption { method: PaymentMethod::MobileMoney, provider: Provider::NovaSend }],
            attempt: attempt.map(|(id, status)| PublicAttempt {
                id: id.into(),
                method: PaymentMethod::MobileMoney,
                provider: Provider::NovaSend,
                status,
                failure: (status == AttemptStatus::Failed).then_some(ErrorCode::InsufficientFunds),
                action: None,
                payment_url: None,
                expires_at: None,
                phone: None,
                provider_reference: None,
                finished_at: None,
            }),
            expires_at: "2026-01-01T00:00:00Z".into(),
            return_url: None,
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

    fn with_methods(methods: &[(PaymentMethod, Provider)]) -> State {
        let mut c = checkout(CheckoutStatus::Open, None);
        c.methods = methods.iter().map(|&(method, provider)| MethodOption { method, provider }).collect();
        run(State::new(Locale::En, true), [Action::Loaded(c)])
    }

    #[test]
    fn the_number_is_grouped_as_typed_and_validated_live() {
        let s = run(open_form(), [Action::PhoneInput("0707123".into())]);
        assert_eq!(s.phone, "07 07 12 3");
        assert_eq!(s.phone_error, None, "too short while typing is not an error");
        let s = run(s, [Action::PhoneInput("07 07 12 3456".into())]);
        assert_eq!(s.phone, "07 07 12 34 56");
        assert_eq!(s.phone_network(), Some(Network::Orange));
        assert_eq!(run(open_form(), [Action::PhoneInput("+2250707".into())]).phone, "+225 07 07");
        // An edit inside the field keeps the text as it is (the caret stays put).
        assert_eq!(run(open_form(), [Action::PhoneEdit("0707 123".into())]).phone, "0707 123");
        // Certain errors show at once, before any blur.
        let s = run(open_form(), [Action::PhoneInput("07a".into())]);
        assert_eq!(s.phone_error, Some(PhoneProblem::Invalid(PhoneError::InvalidCharacters)));
        let s = run(open_form(), [Action::PhoneInput("+221 77 123 45 67".into())]);
        assert!(matches!(s.phone_error, Some(PhoneProblem::Invalid(PhoneError::WrongCountry { .. }))));
    }

    #[test]
    fn an_old_format_gets_its_current_form_on_blur() {
        let s = run(open_form(), [Action::PhoneInput("47 12 34 56".into())]);
        assert_eq!(s.phone_error, None, "8 digits may be a 10-digit number being typed");
        let s = run(s, [Action::PhoneBlur]);
        let Some(PhoneProblem::Invalid(e)) = &s.phone_error else { panic!("{:?}", s.phone_error) };
        assert_eq!(e, &PhoneError::Obsolete { current: Some("07 47 12 34 56".into()) });
        assert!(
            crate::i18n::phone_problem(s.phone_error.as_ref().unwrap(), Country::Ci, Locale::En)
                .contains("07 47 12 34 56")
        );
    }

    #[test]
    fn a_number_of_another_network_is_said_plainly_and_not_sent() {
        let s = with_methods(&[
            (PaymentMethod::OrangeMoney, Provider::CaurisFlux),
            (PaymentMethod::MoovMoney, Provider::CaurisFlux),
        ]);
        let s = run(
            s,
            [Action::ChooseMethod(PaymentMethod::OrangeMoney), Action::PhoneInput("0102030405".into())],
        );
        let m = s.mismatch().expect("a Moov number for Orange Money");
        assert_eq!((m.network, m.suggest, m.soft), (Network::Moov, Some(PaymentMethod::MoovMoney), false));
        assert!(crate::i18n::mismatch(m, Locale::En).contains("Moov Money"));
        let s = run(s, [Action::Submit]);
        assert_eq!(s.sending(), None, "Côte d'Ivoire has no portability: the mismatch blocks");
        let s = run(s, [Action::ChooseMethod(PaymentMethod::MoovMoney)]);
        assert_eq!(s.mismatch(), None);
        let s = run(s, [Action::Submit]);
        let (_, req) = s.sending().expect("sent once the method matches");
        assert_eq!((req.method, req.provider), (PaymentMethod::MoovMoney, Some(Provider::CaurisFlux)));
        assert_eq!(s.attempt_network, Some(Network::Moov));
        // Methods open to every network never mismatch.
        let s = run(open_form(), [Action::PhoneInput("0102030405".into())]);
        assert_eq!(s.mismatch(), None);
    }

    #[test]
    fn a_togolese_number_of_another_network_does_not_block() {
        // Togo has had mobile number portability since 3 May 2024 (ARCEP Togo; full-news.tg):
        // a Yas range may now be a Moov Africa customer's.
        let mut c = checkout(CheckoutStatus::Open, None);
        c.country = Country::Tg;
        c.methods = vec![MethodOption { method: PaymentMethod::MoovMoney, provider: Provider::CaurisFlux }];
        let s = run(State::new(Locale::En, true), [Action::Loaded(c)]);
        let s = run(
            s,
            [Action::ChooseMethod(PaymentMethod::MoovMoney), Action::PhoneInput("90 11 23 45".into())],
        );
        let m = s.mismatch().expect("a Yas range for Moov Money");
        assert_eq!((m.network, m.soft), (Network::Yas, true));
        let s = run(s, [Action::Submit]);
        let (_, req) = s.sending().expect("sent: the network is only a likely one");
        assert_eq!(req.method, PaymentMethod::MoovMoney);
    }

    #[test]
    fn a_method_offered_by_several_providers_is_sent_without_one_for_the_verifier_to_choose() {
        let s = with_methods(&[
            (PaymentMethod::AirtelMoney, Provider::CaurisFlux),
            (PaymentMethod::AirtelMoney, Provider::MyPvit),
            (PaymentMethod::MoovMoney, Provider::MyPvit),
        ]);
        assert_eq!(s.provider_sent(PaymentMethod::AirtelMoney), None);
        assert_eq!(s.provider_sent(PaymentMethod::MoovMoney), Some(Provider::MyPvit), "the only one");
        assert_eq!(s.provider_sent(PaymentMethod::Wave), None, "not offered at all");
    }

    #[test]
    fn orange_money_through_novasend_asks_for_the_one_time_code() {
        let s = with_methods(&[
            (PaymentMethod::OrangeMoney, Provider::NovaSend),
            (PaymentMethod::OrangeMoney, Provider::CaurisFlux),
            (PaymentMethod::MtnMomo, Provider::NovaSend),
        ]);
        assert_eq!(
            s.methods(),
            vec![PaymentMethod::OrangeMoney, PaymentMethod::MtnMomo],
            "one choice per method"
        );
        let s = run(
            s,
            [Action::ChooseMethod(PaymentMethod::OrangeMoney), Action::PhoneInput("0707123456".into())],
        );
        assert!(s.needs_otp());
        let s = run(s, [Action::Submit]);
        assert_eq!((s.otp_error, s.sending()), (Some(OtpProblem::Invalid), None));
        let s = run(s, [Action::OtpInput("12 34a5".into())]);
        assert_eq!((s.otp.as_str(), s.otp_error), ("12345", None));
        let s = run(s, [Action::Submit]);
        let (_, req) = s.sending().unwrap();
        assert_eq!((req.provider, req.otp.as_deref()), (Some(Provider::NovaSend), Some("12345")));
        // The operator refuses the code: a new one is asked for, nothing else is lost.
        let s = run(
            s,
            [Action::PayFailed(PayFailure::Api {
                code: ApiErrorCode::PaymentFailed,
                payment_error: Some(ErrorCode::OtpRequired),
            })],
        );
        assert_eq!((s.otp.as_str(), s.otp_error), ("", Some(OtpProblem::Refused)));
        assert_eq!(s.phone, "07 07 12 34 56");
        // MTN needs no code.
        let s = run(s, [Action::ChooseMethod(PaymentMethod::MtnMomo)]);
        assert!(!s.needs_otp());
    }

    #[test]
    fn a_refused_code_asks_for_a_new_one_on_the_form() {
        let s = with_methods(&[
            (PaymentMethod::OrangeMoney, Provider::NovaSend),
            (PaymentMethod::MtnMomo, Provider::NovaSend),
        ]);
        let s = run(
            s,
            [
                Action::ChooseMethod(PaymentMethod::OrangeMoney),
                Action::PhoneInput("0707123456".into()),
                Action::OtpInput("000000".into()),
                Action::Submit,
            ],
        );
        let mut refused = checkout(CheckoutStatus::Open, Some(("at_1", AttemptStatus::Failed)));
        refused.methods = s.loaded().unwrap().methods.clone();
        if let Some(a) = refused.attempt.as_mut() {
            a.method = PaymentMethod::OrangeMoney;
            a.failure = Some(ErrorCode::OtpRefused);
        }
        let s = run(s, [Action::PayAccepted(refused.clone())]);
        assert_eq!(s.screen().name(), "code_refused");
        assert!(s.needs_otp(), "the code field is shown again");
        assert_eq!(s.event(), Some((EventKind::Failed, Some("at_1".into()))));
        assert_eq!(s.phone, "07 07 12 34 56", "the number is kept");
        assert_eq!(s.otp, "", "the refused code is gone");
        let s = run(s, [Action::OtpInput("4821".into()), Action::Submit]);
        let (_, req) = s.sending().expect("the new code is sent");
        assert_eq!(req.otp.as_deref(), Some("4821"));
        assert_eq!(s.dismissed_attempt.as_deref(), Some("at_1"), "the refusal is left behind");
        // After a reload: the same screen, with the method chosen again.
        let reloaded = run(State::new(Locale::Fr, true), [Action::Loaded(refused.clone())]);
        assert_eq!(reloaded.screen().name(), "code_refused");
        assert_eq!(reloaded.method, Some(PaymentMethod::OrangeMoney));
        // Choosing another method leaves it for the plain form.
        let other = run(reloaded, [Action::ChooseMethod(PaymentMethod::MtnMomo)]);
        assert_eq!(other.screen(), Screen::Form);
        // Any other failure stays a failure screen.
        if let Some(a) = refused.attempt.as_mut() {
            a.failure = Some(ErrorCode::PaymentRefused);
        }
        let failed = run(State::new(Locale::Fr, true), [Action::Loaded(refused)]);
        assert_eq!(failed.screen().name(), "failed");
    }

    #[test]
    fn the_countdown_runs_and_the_deadline_asks_the_server_once() {
        let waiting = run(
            open_form(),
            [Action::Loaded(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        assert_eq!(waiting.remaining_secs(), None, "no clock yet");
        let deadline = rfc3339_ms("2026-01-01T00:00:00Z").unwrap();
        let s = run(waiting, [Action::Tick(deadline - 90_500)]);
        assert_eq!(s.remaining_secs(), Some(91));
        let load_seq = s.load_seq;
        let s = run(s, [Action::Tick(deadline + 10)]);
        assert_eq!((s.remaining_secs(), s.load_seq), (Some(0), load_seq + 1));
        let s = run(s, [Action::Tick(deadline + 1010)]);
        assert_eq!(s.load_seq, load_seq + 1, "asked once, not every second");
        let s = run(
            s,
            [Action::Loaded(checkout(CheckoutStatus::Expired, Some(("at_1", AttemptStatus::Expired))))],
        );
        assert_eq!(s.screen(), Screen::Closed(CheckoutStatus::Expired));
        assert_eq!(s.event(), Some((EventKind::Expired, None)));
    }

    #[test]
    fn the_countdown_shows_the_attempts_own_deadline_while_waiting() {
        let mut c = checkout(CheckoutStatus::Processing, Some(("at_1", AttemptStatus::AwaitingCustomer)));
        let checkout_deadline = rfc3339_ms(&c.expires_at).unwrap();
        let attempt_deadline = checkout_deadline - 28 * 60_000;
        c.attempt.as_mut().unwrap().expires_at = Some("2025-12-31T23:32:00Z".into());
        assert_eq!(rfc3339_ms("2025-12-31T23:32:00Z"), Some(attempt_deadline));
        let s = run(
            State::new(Locale::Fr, true),
            [Action::Loaded(c.clone()), Action::Tick(attempt_deadline - 119_200)],
        );
        assert_eq!(s.remaining_secs(), Some(120), "2:00, not the checkout's 30 minutes");
        // At the attempt's deadline the server is asked once what happened.
        let load_seq = s.load_seq;
        let s = run(s, [Action::Tick(attempt_deadline + 5)]);
        assert_eq!(s.load_seq, load_seq + 1);
        // Without one, the checkout's deadline.
        c.attempt.as_mut().unwrap().expires_at = None;
        let s =
            run(State::new(Locale::Fr, true), [Action::Loaded(c), Action::Tick(checkout_deadline - 600_000)]);
        assert_eq!(s.remaining_secs(), Some(600));
    }

    #[test]
    fn cancel_and_change_number_end_the_attempt_before_the_form_comes_back() {
        let s = run(open_form(), [Action::PhoneInput("0707123456".into()), Action::Submit]);
        let waiting = run(
            s,
            [Action::PayAccepted(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        assert_eq!(waiting.screen().name(), "waiting");
        for edit_number in [false, true] {
            let asked = run(waiting.clone(), [Action::Cancel(edit_number)]);
            assert_eq!(asked.cancelling().map(|c| c.1).as_deref(), Some("at_1"));
            assert_eq!(asked.screen().name(), "waiting", "nothing changes before the verifier answers");
            assert_eq!(run(asked.clone(), [Action::Cancel(edit_number)]), asked, "one request at a time");
            assert_eq!(run(asked.clone(), [Action::Submit]).sending(), None, "no second prompt meanwhile");
            let mut cancelled = checkout(CheckoutStatus::Open, Some(("at_1", AttemptStatus::Failed)));
            cancelled.attempt.as_mut().unwrap().failure = Some(ErrorCode::CustomerCancelled);
            let s = run(asked, [Action::Cancelled(cancelled.clone())]);
            assert_eq!(s.screen(), Screen::Form, "the form, not a failure screen");
            assert_eq!(s.phone, "07 07 12 34 56", "the number is kept for editing");
            assert_eq!(s.edit_number, edit_number);
            assert_eq!((s.cancelling(), s.live_attempt(), s.event()), (None, None, None));
            // The stream's late word on the cancelled attempt changes nothing.
            assert_eq!(run(s.clone(), [Action::Update(cancelled.clone())]).screen(), Screen::Form);
            // Nor its early word: no failure screen while the cancellation is answered.
            let early = run(waiting.clone(), [Action::Cancel(edit_number), Action::Update(cancelled)]);
            assert_eq!((early.screen(), early.event()), (Screen::Form, None));
            // A new number starts a new attempt.
            let s = run(s, [Action::PhoneInput("05 05 12 34 56".into()), Action::Submit]);
            assert_eq!(s.sending().map(|(_, r)| r.phone), Some("+2250505123456".into()));
        }
        // Already ended at the verifier: the checkout is read again; unreachable: said so.
        let asked = run(waiting.clone(), [Action::Cancel(false)]);
        let ended = run(
            asked.clone(),
            [Action::CancelFailed(PayFailure::Api { code: ApiErrorCode::Conflict, payment_error: None })],
        );
        assert_eq!((ended.load_seq, ended.cancelling()), (asked.load_seq + 1, None));
        let down = run(asked, [Action::CancelFailed(PayFailure::Unreachable)]);
        assert_eq!((down.form_error, down.screen().name()), (Some(Problem::Unreachable), "waiting"));
        assert_eq!(run(open_form(), [Action::Cancel(false)]).cancelling(), None, "only while waiting");
    }

    #[test]
    fn an_attempt_under_review_never_offers_to_pay_again() {
        // The provider reported another amount (the verifier's `review`): the checkout is still
        // processing, and the customer is told not to pay twice, with no retry and no event.
        let s = run(
            State::new(Locale::Fr, true),
            [Action::Loaded(checkout(CheckoutStatus::Processing, Some(("at_1", AttemptStatus::Review))))],
        );
        assert_eq!(s.screen(), Screen::Review);
        assert_eq!(s.screen().name(), "review");
        assert_eq!(s.event(), None);
        assert_eq!(s.live_attempt(), None, "nothing left to watch");
        let s = run(s, [Action::Retry]);
        assert_eq!(s.screen(), Screen::Review, "no way back to the form");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_ms("2026-01-01T00:00:00Z"), Some(1_767_225_600_000));
        assert_eq!(rfc3339_ms("2026-01-01T01:00:00.5+01:00"), Some(1_767_225_600_500));
        assert_eq!(rfc3339_ms("2024-02-29T12:30:15.123456Z"), Some(1_709_209_815_123));
        for bad in ["", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00Zx"]
        {
            assert_eq!(rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_reload_resumes_the_attempt_and_keeps_what_the_server_does_not_say() {
        // Before the reload: a Moov number for "mobile money", then a failure left with "Try again"
        // and a second attempt under way.
        let s = run(open_form(), [Action::PhoneInput("0102030405".into()), Action::Submit]);
        assert_eq!(s.attempt_network, Some(Network::Moov));
        let s = run(
            s,
            [Action::PayAccepted(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::Created)),
            ))],
        );
        assert_eq!(s.event(), Some((EventKind::Submitted, Some("at_1".into()))));
        let memo = s.memo();
        assert_eq!(Memo::decode(&memo.encode()), memo);
        // After it: the server's latest attempt is shown live, with the remembered network.
        let reloaded = run(
            State::new(Locale::Fr, true).restored(Memo::decode(&memo.encode())),
            [Action::Loaded(checkout(
                CheckoutStatus::Processing,
                Some(("at_1", AttemptStatus::AwaitingCustomer)),
            ))],
        );
        assert_eq!(reloaded.live_attempt().as_deref(), Some("at_1"));
        assert_eq!(reloaded.attempt_network, Some(Network::Moov));
        assert_eq!(reloaded.event(), None, "submitted was told before the reload");
        // A failure already left stays left.
        let failed = checkout(CheckoutStatus::Open, Some(("at_1", AttemptStatus::Failed)));
        let s = run(reloaded, [Action::Update(failed.clone())]);
        assert_eq!(s.event(), Some((EventKind::Failed, Some("at_1".into()))));
        let s = run(s, [Action::Retry]);
        let after = run(
            State::new(Locale::Fr, true).restored(Memo::decode(&s.memo().encode())),
            [Action::Loaded(failed)],
        );
        assert_eq!(after.screen(), Screen::Form);
        for junk in ["", "x", "at_1\"<script>|orange", "|bitcoin"] {
            let m = Memo::decode(junk);
            assert!(
                m.dismissed
                    .as_deref()
                    .is_none_or(|d| d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            );
        }
    }

    #[test]
    fn liveness() {
        assert!(!is_live(&checkout(CheckoutStatus::Open, None)));
        assert!(is_live(&checkout(CheckoutStatus::Processing, Some(("a", AttemptStatus::Created)))));
        assert!(!is_live(&checkout(CheckoutStatus::Open, Some(("a", AttemptStatus::Expired)))));
        assert!(!is_live(&checkout(CheckoutStatus::Expired, Some(("a", AttemptStatus::Created)))));
    }
}
