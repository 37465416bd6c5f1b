//! The payment logic: creating checkouts, starting attempts, applying what providers say.
//!
//! Rules kept here: the amount comes only from the stored checkout; an attempt's reference
//! (and provider idempotency key) is fixed before the provider is called, so no retry can
//! start a second charge; every provider word goes through the state machine in the store;
//! "paid" comes only from a verified notification or a status fetched from the provider.

use std::sync::Arc;

use shared::{
    api::{self, CreateCheckout, CreateRefund, MethodOption, PayRequest, PublicAttempt, PublicCheckout},
    catalogue::ErrorCode,
    method::Provider,
    money::Money,
    phone::PhoneNumber,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};

use crate::{
    error::AppError,
    events::Events,
    ids,
    providers::{IncomingNotice, PaymentProvider, ProviderError, RefundRequest, StartPayment, WebhookError},
    signals::Signals,
    store::{
        Applied, AttemptLimits, AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, Inserted, LimitReached,
        NotificationRecord, NotificationState, RefundRecord, Reported, Store, StoreError,
        plan::{self, CancelRefused},
    },
};
use sha2::{Digest, Sha256};

mod list;
pub use list::ListParams;

/// The longest merchant reference accepted.
const MAX_REFERENCE_LEN: usize = 128;
/// The longest description accepted.
const MAX_DESCRIPTION_LEN: usize = 500;
/// The longest `return_url` accepted (what browsers and providers reliably carry).
const MAX_RETURN_URL_LEN: usize = 2048;
/// Claimed references of a refused notification looked up at most.
const CLAIMS_LOOKED_UP: usize = 2;

/// Checkout defaults the service needs.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The merchant's name shown to customers.
    pub merchant_name: String,
    /// Country of checkouts created without one.
    pub default_country: shared::phone::Country,
    /// How long a checkout accepts attempts, in seconds.
    pub ttl_seconds: i64,
    /// Delay before the first status fetch of a new attempt, and the shortest gap, in ms.
    pub poll_interval_ms: i64,
    /// The longest gap between two status fetches, when the operator caps it (else each
    /// provider's [`PollPolicy::max_ms`](crate::providers::PollPolicy)).
    pub max_poll_interval_ms: Option<i64>,
    /// Whether providers' minimum gaps apply: not when `reconcile.ignore_provider_poll_floor`
    /// is set (tests and the demo, against simulators, poll faster than a provider allows).
    pub poll_floor_applies: bool,
    /// This verifier's public base URL (callbacks, default return page).
    pub public_url: String,
    /// Whether the providers are live ([`crate::config::Settings::validate`]): recorded on every
    /// checkout, and only checkouts of this mode are paid, captured or refunded here.
    pub livemode: bool,
}

/// The payment service: shared by the HTTP handlers, the webhook receiver and the reconciler.
#[derive(Debug, Clone)]
pub struct Checkouts {
    store: Arc<dyn Store>,
    providers: Arc<Vec<Arc<dyn PaymentProvider>>>,
    events: Events,
    policy: Arc<Policy>,
    /// Wakes the inbox worker when a notification was stored (here or, through `signals`, by
    /// another instance).
    inbox: Arc<tokio::sync::Notify>,
    /// Tells the other instances what changed ([`crate::signals`]).
    signals: Signals,
    /// Limits on new attempts, checked by the store as it records one (`[limits]`).
    attempt_limits: AttemptLimits,
    /// Refused notifications, tallied in memory ([`crate::refused`]).
    refused: Arc<crate::refused::RefusedNotices>,
    /// Chooses among providers offering the same method, from their recent health
    /// ([`crate::routing`]).
    router: Arc<crate::routing::Router>,
    /// What the payment path counts (`/metrics`).
    metrics: crate::metrics::Metrics,
}

/// How long after its checkout's deadline a client secret still opens it for reading (the
/// customer sees the final state); paying ends at the deadline. After it, the public API
/// answers 401 `client_secret_expired`.
pub const CLIENT_SECRET_GRACE_S: i64 = 3600;

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 text of unix seconds.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl Checkouts {
    /// The service over a store, the configured providers and the event hub.
    pub fn new(
        store: Arc<dyn Store>,
        providers: Vec<Arc<dyn PaymentProvider>>,
        events: Events,
        policy: Policy,
    ) -> Checkouts {
        Checkouts {
            store,
            providers: Arc::new(providers),
            events,
            policy: Arc::new(policy),
            inbox: Arc::new(tokio::sync::Notify::new()),
            signals: Signals::in_process(),
            attempt_limits: AttemptLimits::from(&crate::config::LimitSettings::default()),
            refused: Arc::default(),
            router: Arc::default(),
            metrics: crate::metrics::Metrics::default(),
        }
    }

    /// The same service counting in `metrics` (and its providers' calls too).
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Checkouts {
        for provider in self.providers.iter() {
            provider.calls().report_to(metrics.clone());
            metrics.expect_provider(provider.id());
        }
        self.metrics = metrics;
        self
    }

    /// What this service counts.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// Each configured provider's latest call ([`crate::providers::http::CallLog`]).
    pub fn provider_calls(&self) -> Vec<(Provider, Option<crate::providers::http::LastCall>)> {
        self.providers.iter().map(|p| (p.id(), p.calls().last())).collect()
    }

    /// The same service routing by `settings` (`[routing]`; the first configured provider
    /// for a method otherwise, while it is up).
    pub fn with_routing(mut self, settings: crate::routing::RoutingSettings) -> Checkouts {
        self.router = Arc::new(crate::routing::Router::new(settings));
        self
    }

    /// The same service with other limits on new attempts (`[limits]`; the defaults
    /// otherwise).
    pub fn with_attempt_limits(mut self, limits: AttemptLimits) -> Checkouts {
        self.attempt_limits = limits;
        self
    }

    /// The same service telling other instances what changed through `signals` (in process
    /// only otherwise).
    pub fn with_signals(mut self, signals: Signals) -> Checkouts {
        self.signals = signals;
        self
    }

    /// Its signals to the other instances (their listener runs beside the service).
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// Checkout `id` changed (committed): this process's watchers are told, then the other
    /// instances.
    fn changed(&self, id: &str) {
        self.events.changed(id, self);
        self.signals.checkout_changed(id);
    }

    /// The refused-notification tally (written by [`crate::refused::flush_loop`]).
    pub fn refused(&self) -> &Arc<crate::refused::RefusedNotices> {
        &self.refused
    }

    /// The event hub (for SSE streams).
    pub fn events(&self) -> &Events {
        &self.events
    }

    fn provider(&self, id: Provider) -> Option<&Arc<dyn PaymentProvider>> {
        self.providers.iter().find(|p| p.id() == id)
    }

    fn method_options(&self, c: &CheckoutRecord) -> Vec<MethodOption> {
        self.providers
            .iter()
            .flat_map(|p| {
                p.methods(c.country, c.money)
                    .into_iter()
                    .map(|method| MethodOption { method, provider: p.id() })
            })
            .collect()
    }

    /// Creates a checkout for the merchant's backend; the client secret is returned once.
    pub async fn create(&self, req: CreateCheckout) -> Result<api::Checkout, AppError> {
        let money =
            Money::new(req.amount, req.currency).map_err(|e| AppError::invalid("amount", e.to_string()))?;
        let reference = req.reference.trim();
        if reference.is_empty() || reference.len() > MAX_REFERENCE_LEN {
            return Err(AppError::invalid(
                "reference",
                format!("reference must be 1 to {MAX_REFERENCE_LEN} characters"),
            ));
        }
        if req.description.as_ref().is_some_and(|d| d.len() > MAX_DESCRIPTION_LEN) {
            return Err(AppError::invalid(
                "description",
                format!("description must be at most {MAX_DESCRIPTION_LEN} characters"),
            ));
        }
        if let Some(url) = &req.return_url {
            check_return_url(url)?;
        }
        let id = ids::checkout_id();
        let secret = ids::client_secret(&id);
        let created = now();
        let record = CheckoutRecord {
            id: id.clone(),
            reference: reference.to_owned(),
            money,
            country: req.country.unwrap_or(self.policy.default_country),
            description: req.description,
            return_url: req.return_url,
            customer: req.customer,
            status: CheckoutStatus::Open,
            livemode: self.policy.livemode,
            client_secret_hash: ids::hash_secret(&secret),
            created_at: created,
            expires_at: created + self.policy.ttl_seconds,
        };
        self.store.insert_checkout(&record, &Cause::Api("create")).await?;
        let mut view = self.merchant_view_of(&record, Vec::new());
        view.hosted_url = Some(format!("{}/pay/{id}#{secret}", self.policy.public_url));
        view.client_secret = Some(secret);
        Ok(view)
    }

    /// The merchant's name shown to customers (the hosted page's title).
    pub fn merchant_name(&self) -> &str {
        &self.policy.merchant_name
    }

    /// The merchant's view of a checkout, by id.
    pub async fn merchant_view(&self, id: &str) -> Result<api::Checkout, AppError> {
        let (record, attempts) = self.store.checkout_with_attempts(id).await?.ok_or(AppError::NotFound)?;
        Ok(self.merchant_view_of(&record, attempts))
    }

    fn merchant_view_of(&self, c: &CheckoutRecord, attempts: Vec<AttemptRecord>) -> api::Checkout {
        api::Checkout {
            id: c.id.clone(),
            short_reference: ids::short_reference(&c.id),
            amount: c.money.minor(),
            currency: c.money.currency(),
            reference: c.reference.clone(),
            description: c.description.clone(),
            country: c.country,
            status: c.status,
            livemode: c.livemode,
            client_secret: None,
            hosted_url: None,
            created_at: rfc3339(c.created_at),
            expires_at: rfc3339(c.expires_at),
            attempts: attempts.into_iter().map(attempt_view).collect(),
        }
    }

    /// A page of the merchant's checkouts of this verifier's mode, newest first, filtered by
    /// `params` ([`ListParams::query`]: a bad parameter is a 400 naming it).
    pub async fn list(&self, params: &ListParams) -> Result<api::CheckoutList, AppError> {
        let (query, limit) = params.query(self.policy.livemode, self.policy.default_country)?;
        // The number itself never reaches a log line.
        let phone = query.phone.as_deref().and_then(|p| PhoneNumber::parse_e164(p).ok()).map(|p| p.masked());
        tracing::debug!(?query.status, ?query.provider, ?query.method, phone = ?phone, limit, "listing checkouts");
        Ok(list::page(self.store.list_checkouts(&query).await?, limit))
    }

    /// The merchant's cancellation of checkout `id` (`POST /v1/checkouts/{id}/cancel`): an open
    /// checkout becomes `cancelled`, with its `checkout.cancelled` event, and no payment can
    /// start on it any more. Only `open` is cancellable ([`plan::merchant_cancel`] says why a
    /// checkout with a payment under way is not). A checkout already cancelled is answered as
    /// it is (a retried request does no harm); any other state is a conflict naming it.
    pub async fn merchant_cancel(&self, id: &str) -> Result<api::Checkout, AppError> {
        let (checkout, cancelled) =
            self.store.cancel_checkout(id, &Cause::Api("cancel")).await?.ok_or(AppError::NotFound)?;
        if cancelled {
            tracing::info!(checkout = %id, "checkout cancelled by the merchant");
            self.changed(id);
        } else if checkout.status != CheckoutStatus::Cancelled {
            return Err(AppError::Conflict(match checkout.status {
                CheckoutStatus::Processing => {
                    "a payment is under way: the checkout can be cancelled once it has ended".to_owned()
                }
                other => {
                    format!("the checkout is {}: only an open checkout can be cancelled", other.as_str())
                }
            }));
        }
        self.merchant_view(id).await
    }

    /// One refund, by id (`GET /v1/refunds/{id}`).
    pub async fn refund_by_id(&self, refund_id: &str) -> Result<api::Refund, AppError> {
        Ok(refund_view(&self.store.refund(refund_id).await?.ok_or(AppError::NotFound)?))
    }

    /// A checkout's history of state changes with their causes.
    pub async fn history(&self, id: &str) -> Result<Vec<crate::store::StatusChange>, AppError> {
        self.store.checkout(id).await?.ok_or(AppError::NotFound)?;
        Ok(self.store.history(id).await?)
    }

    /// The checkout a client secret opens, if the secret is right for `id`.
    pub async fn authorize(&self, id: &str, secret: &str) -> Result<CheckoutRecord, AppError> {
        Ok(self.authorized(id, secret).await?.0)
    }

    /// What the widget shows for a checkout.
    pub async fn public_view(&self, id: &str) -> Result<PublicCheckout, AppError> {
        let (c, latest) = self.store.checkout_with_latest_attempt(id).await?.ok_or(AppError::NotFound)?;
        Ok(self.view_of(c, latest))
    }

    /// What the widget shows for a checkout, if `secret` is its client secret: one read of the
    /// store for both (the widget polls this).
    pub async fn authorized_public_view(&self, id: &str, secret: &str) -> Result<PublicCheckout, AppError> {
        let (c, latest) = self.authorized(id, secret).await?;
        Ok(self.view_of(c, latest))
    }

    /// The checkout a client secret opens, with its latest attempt, in one read.
    async fn authorized(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<(CheckoutRecord, Option<AttemptRecord>), AppError> {
        if ids::checkout_id_of_secret(secret) != Some(id) {
            return Err(AppError::Unauthorized);
        }
        let (c, latest) = self.store.checkout_with_latest_attempt(id).await?.ok_or(AppError::Unauthorized)?;
        if !ids::secret_matches(secret, &c.client_secret_hash) {
            return Err(AppError::Unauthorized);
        }
        // The secret expires with its checkout, after a grace for reading the final state.
        if now() > c.expires_at.saturating_add(CLIENT_SECRET_GRACE_S) {
            return Err(AppError::ClientSecretExpired);
        }
        Ok((c, latest))
    }

    fn view_of(&self, c: CheckoutRecord, latest: Option<AttemptRecord>) -> PublicCheckout {
        PublicCheckout {
            methods: self.method_options(&c),
            short_reference: ids::short_reference(&c.id),
            id: c.id,
            merchant_name: self.policy.merchant_name.clone(),
            description: c.description,
            amount: c.money.minor(),
            currency: c.money.currency(),
            country: c.country,
            status: c.status,
            livemode: c.livemode,
            attempt: latest.map(|a| PublicAttempt {
                // The provider's confirmation window from the attempt's start (recorded just
                // before the provider was asked, so never later than the provider's own).
                expires_at: self.provider(a.provider).and_then(|p| p.confirmation_window(a.method)).map(
                    |w| rfc3339(a.created_at.saturating_add(i64::try_from(w.as_secs()).unwrap_or(i64::MAX))),
                ),
                id: a.id,
                method: a.method,
                provider: a.provider,
                status: a.status,
                failure: a.failure,
                action: a.failure.map(ErrorCode::action),
                payment_url: a.payment_url,
                // Never the number itself: the widget's page and its logs are the customer's.
                phone: a.phone.as_deref().and_then(|p| PhoneNumber::parse_e164(p).ok()).map(|p| p.masked()),
                provider_reference: a.provider_reference,
                finished_at: (!a.status.is_pending()).then(|| rfc3339(a.updated_at)),
            }),
            expires_at: rfc3339(c.expires_at),
            return_url: c.return_url,
        }
    }

    /// The provider's page of the checkout's latest attempt while it is live, the only text the
    /// QR code of the public API encodes; [`AppError::NotFound`] when there is none (no attempt,
    /// a final one, a push attempt without a page, or a link that is not `http(s)`).
    pub async fn live_payment_url(&self, id: &str) -> Result<String, AppError> {
        let latest = self.store.checkout_with_latest_attempt(id).await?.and_then(|(_, a)| a);
        latest
            .filter(|a| a.status.is_pending())
            .and_then(|a| a.payment_url)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or(AppError::NotFound)
    }

    /// The customer's "Cancel" (or "Change number") while an attempt waits for them: the
    /// attempt `attempt_id` of checkout `c` fails with `CUSTOMER_CANCELLED`
    /// ([`plan::customer_cancel`], which says why no provider is asked) and the checkout
    /// reopens; a confirmation the provider sends afterwards still pays. An attempt that
    /// already ended, or was authorised, is a conflict and nothing changes.
    pub async fn cancel(&self, c: &CheckoutRecord, attempt_id: &str) -> Result<PublicCheckout, AppError> {
        if !ids::is_attempt_id(attempt_id) {
            return Err(AppError::invalid(
                "attempt_id",
                "an attempt id is at_ followed by 24 letters or digits",
            ));
        }
        self.same_mode(c)?;
        let attempt = self
            .store
            .attempt(attempt_id)
            .await?
            .filter(|a| a.checkout_id == c.id)
            .ok_or(AppError::NotFound)?;
        let update = plan::customer_cancel(&attempt).map_err(|refused| {
            AppError::Conflict(match refused {
                CancelRefused::Ended(s) => format!("the attempt has already ended ({})", s.as_str()),
                CancelRefused::Authorized => {
                    "the payment is already authorised and can no longer be cancelled".to_owned()
                }
            })
        })?;
        let applied = self.apply(&attempt, &update, &Cause::Api("cancel")).await?;
        if !applied.changed() {
            // The provider's word came in between: it stands.
            return Err(AppError::Conflict("the attempt has already ended".into()));
        }
        tracing::info!(checkout = %c.id, attempt = %attempt.id, "attempt cancelled by the customer");
        self.public_view(&c.id).await
    }

    /// Refuses a checkout created in the other mode than this verifier's (a test checkout on a
    /// live verifier, or the reverse): nothing of it may reach this verifier's providers.
    fn same_mode(&self, c: &CheckoutRecord) -> Result<(), AppError> {
        if c.livemode == self.policy.livemode {
            Ok(())
        } else {
            Err(AppError::LivemodeMismatch { checkout_livemode: c.livemode })
        }
    }

    /// Starts a payment for the customer. The amount is the checkout's; a second call while an
    /// attempt is live returns that attempt instead of starting another. A checkout of the
    /// other mode is refused before anything is stored or sent.
    #[tracing::instrument(name = "payment", skip_all, fields(checkout = %c.id, attempt = tracing::field::Empty))]
    pub async fn pay(&self, c: &CheckoutRecord, req: PayRequest) -> Result<PublicCheckout, AppError> {
        self.same_mode(c)?;
        let offering: Vec<Provider> = self
            .method_options(c)
            .into_iter()
            .filter(|o| o.method == req.method && req.provider.is_none_or(|p| p == o.provider))
            .map(|o| o.provider)
            .collect();
        if offering.is_empty() {
            return Err(AppError::MethodUnavailable);
        }
        let phone = if req.method.needs_phone() {
            Some(PhoneNumber::parse(&req.phone, c.country).map_err(AppError::InvalidPhone)?)
        } else {
            None
        };
        let otp = match req.otp.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(otp) if otp.len() <= 12 && otp.bytes().all(|b| b.is_ascii_digit()) => Some(otp.to_owned()),
            Some(_) => return Err(AppError::invalid("otp", "the one-time code must be 1 to 12 digits")),
        };
        let e164 = phone.as_ref().map(|p| p.as_e164().to_owned());
        if let Some(live) = self.store.attempts(&c.id).await?.into_iter().find(|a| a.status.is_pending()) {
            if live.method == req.method && live.phone == e164 {
                return self.public_view(&c.id).await;
            }
            return Err(AppError::Conflict("a payment is already in progress".into()));
        }
        if c.status == CheckoutStatus::Open && c.expires_at <= now() {
            self.expire_due().await?;
            return Err(AppError::Conflict("the checkout has expired".into()));
        }
        let mut choice = self.route(c, &req, &offering)?;
        let mut failed_over = false;
        loop {
            let provider = self.provider(choice.provider).ok_or(AppError::MethodUnavailable)?.clone();
            let started = match self
                .start_attempt(c, &req, e164.clone(), phone.clone(), otp.clone(), &provider, &choice)
                .await
            {
                // The first attempt has failed cleanly; a limit refusing the second one
                // leaves the customer with that failure.
                Err(e) if failed_over => {
                    tracing::info!(checkout = %c.id, error = ?e, "failover not started");
                    return self.public_view(&c.id).await;
                }
                other => other?,
            };
            // A refusal certain to have started nothing (the provider down or erroring before
            // the customer can have been prompted) is tried once on the next provider; never
            // an answer whose outcome is unknown (a timeout after sending may have prompted).
            match (started, choice.fallbacks.first()) {
                (StartOutcome::RefusedProviderSide, Some(&next))
                    if !failed_over && req.provider.is_none() =>
                {
                    tracing::info!(
                        checkout = %c.id,
                        from = choice.provider.as_str(),
                        to = next.as_str(),
                        "provider refused before starting anything; trying the next one once"
                    );
                    choice = crate::routing::Choice {
                        provider: next,
                        reason: crate::routing::Reason::Failover { from: choice.provider },
                        fallbacks: Vec::new(),
                    };
                    failed_over = true;
                }
                _ => return self.public_view(&c.id).await,
            }
        }
    }

    /// The provider for a payment among those `offering` its method (configuration order):
    /// the payer's when named, else the router's choice among those whose request budget is
    /// not spent.
    fn route(
        &self,
        c: &CheckoutRecord,
        req: &PayRequest,
        offering: &[Provider],
    ) -> Result<crate::routing::Choice, AppError> {
        use crate::routing::{Choice, Reason};
        if let Some(p) = req.provider {
            return Ok(Choice { provider: p, reason: Reason::Requested, fallbacks: Vec::new() });
        }
        let open: Vec<Provider> = offering
            .iter()
            .copied()
            .filter(|&p| self.provider(p).is_some_and(|a| a.budget().closed_for().is_none()))
            .collect();
        // A provider whose request budget is known to be spent is not asked, and nothing is
        // stored: the customer is told that nothing was charged and when to try again.
        if open.is_empty() {
            let wait = offering
                .iter()
                .filter_map(|&p| self.provider(p)?.budget().closed_for())
                .min()
                .unwrap_or_default();
            tracing::info!(?wait, "request budgets spent; payment not started");
            return Err(budget_spent(wait));
        }
        let mut choice =
            self.router.choose(req.method, c.country, &open).ok_or(AppError::MethodUnavailable)?;
        // Without a one-time code, a provider that needs one is no fallback (it would refuse).
        if req.otp.is_none() {
            choice.fallbacks.retain(|p| !p.needs_otp(req.method));
        }
        Ok(choice)
    }

    /// Stores an attempt on `choice`'s provider (the limits counted by the store) and starts
    /// it there; the router learns the provider's answer.
    #[allow(clippy::too_many_arguments)]
    async fn start_attempt(
        &self,
        c: &CheckoutRecord,
        req: &PayRequest,
        e164: Option<String>,
        phone: Option<PhoneNumber>,
        otp: Option<String>,
        provider: &Arc<dyn PaymentProvider>,
        choice: &crate::routing::Choice,
    ) -> Result<StartOutcome, AppError> {
        // A provider whose request budget is known to be spent is not asked.
        if let Some(wait) = provider.budget().closed_for() {
            tracing::info!(
                provider = choice.provider.as_str(),
                ?wait,
                "request budget spent; payment not started"
            );
            return Err(budget_spent(wait));
        }
        let attempt = AttemptRecord {
            id: ids::attempt_id(),
            checkout_id: c.id.clone(),
            provider: choice.provider,
            method: req.method,
            phone: e164,
            status: AttemptStatus::Created,
            failure: None,
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            provider_reference: None,
            payment_url: None,
            reported: None,
            created_at: now(),
            updated_at: now(),
        };
        // The business limits are counted by the store in the insert's transaction: a refusal
        // stores nothing and sends nothing.
        let first_poll_at_ms = now_ms() + self.poll_delay_ms(choice.provider, 0);
        let reason = choice.reason.to_text();
        let cause = match choice.reason {
            crate::routing::Reason::Requested | crate::routing::Reason::Only => Cause::Api("pay"),
            _ => Cause::Routed(choice.provider, reason.clone()),
        };
        tracing::Span::current().record("attempt", attempt.id.as_str());
        match self.store.start_attempt_limited(&attempt, first_poll_at_ms, &cause, &self.attempt_limits).await
        {
            Ok(Ok(())) => {}
            Ok(Err(reached)) => {
                tracing::info!(checkout = %c.id, ?reached, "payment refused by a limit");
                return Err(match reached {
                    LimitReached::CheckoutAttempts => AppError::LimitReached(ErrorCode::TooManyAttempts),
                    LimitReached::OtpFailures => AppError::LimitReached(ErrorCode::OtpAttemptsExhausted),
                    LimitReached::PhoneRequests { retry_after_secs } => AppError::RateLimited {
                        retry_after: std::time::Duration::from_secs(retry_after_secs.unsigned_abs()),
                    },
                });
            }
            Err(StoreError::Conflict(msg)) => return Err(AppError::Conflict(msg)),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            checkout = %c.id,
            attempt = %attempt.id,
            method = req.method.as_str(),
            country = ?c.country,
            provider = choice.provider.as_str(),
            reason = %reason,
            "payment routed"
        );
        self.changed(&c.id);
        self.metrics.payment_started(choice.provider, req.method);
        fail::fail_point!("pay.attempt_stored");
        let start = self.start_request(c, &attempt, phone, otp);
        let started =
            self.start_with_provider(provider.as_ref(), &attempt, &start, Starter::Customer).await?;
        if let Some(health) = started.health() {
            self.router.record(choice.provider, req.method, c.country, health);
        }
        Ok(started)
    }

    fn start_request(
        &self,
        c: &CheckoutRecord,
        attempt: &AttemptRecord,
        phone: Option<PhoneNumber>,
        otp: Option<String>,
    ) -> StartPayment {
        let customer_name = c
            .customer
            .as_ref()
            .and_then(|cu| match (&cu.given_names, &cu.surname) {
                (Some(g), Some(s)) => Some(format!("{g} {s}")),
                (Some(n), None) | (None, Some(n)) => Some(n.clone()),
                (None, None) => None,
            })
            .unwrap_or_else(|| self.policy.merchant_name.clone());
        StartPayment {
            reference: attempt.idempotency_key.clone(),
            money: c.money,
            phone,
            method: attempt.method,
            country: c.country,
            customer_name,
            customer: c.customer.clone(),
            description: c.description.clone(),
            // Without a merchant page to return to, the customer lands on the verifier's own
            // "you can close this page" page; the widget left open shows the live status.
            return_url: c
                .return_url
                .clone()
                .unwrap_or_else(|| format!("{}/returned", self.policy.public_url)),
            otp,
            callback_base: self.policy.public_url.clone(),
        }
    }

    async fn start_with_provider(
        &self,
        provider: &dyn PaymentProvider,
        attempt: &AttemptRecord,
        start: &StartPayment,
        starter: Starter,
    ) -> Result<StartOutcome, AppError> {
        let cause = Cause::ProviderResponse(provider.id());
        let outcome = match provider.start(start).await {
            Ok(update) => {
                fail::fail_point!("pay.provider_answered");
                self.apply(attempt, &update, &cause).await?;
                StartOutcome::Answered
            }
            Err(ProviderError::Refused { code, provider_code }) => {
                tracing::info!(attempt = %attempt.id, %provider_code, "provider refused the payment");
                let update = failed(code);
                self.apply(attempt, &update, &cause).await?;
                // Each adapter maps its document's "down", "maintenance" and "provider error"
                // refusals (answered before any payment exists) to this code.
                if code == ErrorCode::ProviderUnavailable {
                    StartOutcome::RefusedProviderSide
                } else {
                    StartOutcome::RefusedCustomer
                }
            }
            Err(ProviderError::Integration(why) | ProviderError::Unsupported(why)) => {
                tracing::error!(attempt = %attempt.id, %why, "provider integration error");
                self.apply(attempt, &failed(ErrorCode::ProviderUnavailable), &cause).await?;
                StartOutcome::Failed
            }
            Err(ProviderError::Unavailable(why)) => {
                // The call may have been taken: keep the attempt pending; the reconciler asks
                // the provider by our reference and never starts a second charge.
                tracing::warn!(attempt = %attempt.id, %why, "provider outcome unknown; will reconcile");
                StartOutcome::Unknown
            }
            // Not sent (the budget was spent between the check and the call): nothing happened
            // at the provider. The customer's attempt fails cleanly and they are told to try
            // again; a repeat by the reconciler waits for the budget.
            Err(ProviderError::BudgetSpent { retry_in }) => match starter {
                Starter::Customer => {
                    tracing::info!(attempt = %attempt.id, ?retry_in, "request budget spent; payment not sent");
                    self.apply(attempt, &failed(ErrorCode::ProviderUnavailable), &cause).await?;
                    return Err(budget_spent(retry_in));
                }
                Starter::Reconciler => {
                    self.defer(attempt, retry_in).await;
                    StartOutcome::Deferred
                }
            },
        };
        Ok(outcome)
    }

    /// A provider call deferred because the provider's request budget is spent: not a
    /// failure; the attempt is fetched again once the budget admits a request (or sooner, if
    /// it was due sooner).
    async fn defer(&self, attempt: &AttemptRecord, retry_in: std::time::Duration) {
        tracing::debug!(attempt = %attempt.id, ?retry_in, "request budget spent; call deferred");
        let at = now_ms().saturating_add(i64::try_from(retry_in.as_millis()).unwrap_or(i64::MAX));
        if let Err(e) = self.store.poll_no_later_than(&attempt.id, at).await {
            tracing::error!(attempt = %attempt.id, error = %e, "scheduling a status fetch failed");
        }
    }

    /// How long the request budget of `provider` is known to stay spent ([`crate::providers::budget`]):
    /// the reconciler does not count a fetch it cannot send.
    pub fn budget_closed_for(&self, provider: Provider) -> Option<std::time::Duration> {
        self.provider(provider)?.budget().closed_for()
    }

    /// Applies a provider's word on an attempt through the state machine; tells watchers. A
    /// success or authorisation is first checked against the attempt ([`check_reported`]).
    pub async fn apply(
        &self,
        attempt: &AttemptRecord,
        update: &AttemptUpdate,
        cause: &Cause,
    ) -> Result<Applied, AppError> {
        let update = match self.provider(attempt.provider) {
            Some(p) => p.interpret(attempt.method, update.clone()),
            None => update.clone(),
        };
        let update = self.checked(attempt, &update, cause).await?;
        let applied = self.store.update_attempt(&attempt.id, &update, cause).await?;
        self.count_outcome(attempt, &update, &applied);
        if applied.changed() {
            fail::fail_point!("attempt.state_committed");
        }
        if applied.attempt.is_some_and(|(_, to)| to == AttemptStatus::Authorized) {
            self.capture_if_due(attempt).await?;
        }
        if applied.changed() {
            tracing::info!(
                attempt = %attempt.id, checkout = %attempt.checkout_id, cause = %cause.to_text(),
                from = ?applied.attempt.map(|a| a.0), to = ?applied.attempt.map(|a| a.1),
                "attempt updated"
            );
            self.changed(&attempt.checkout_id);
        } else if update.status != attempt.status {
            tracing::debug!(attempt = %attempt.id, to = ?update.status, "stale or repeated update ignored");
        }
        Ok(applied)
    }

    /// Counts an attempt that this update ended (succeeded; failed, expired or review), once:
    /// only the caller whose write moved it sees the move in `applied`.
    fn count_outcome(&self, attempt: &AttemptRecord, update: &AttemptUpdate, applied: &Applied) {
        use crate::metrics::FailureLabel;
        let Some((_, to)) = applied.attempt else { return };
        let failure = match to {
            AttemptStatus::Succeeded => {
                self.metrics.payment_succeeded(attempt.provider, attempt.method);
                return;
            }
            AttemptStatus::Failed => update.failure.map_or(FailureLabel::Unknown, FailureLabel::Code),
            AttemptStatus::Expired => update.failure.map_or(FailureLabel::Expired, FailureLabel::Code),
            AttemptStatus::Review => FailureLabel::Review,
            _ => return,
        };
        self.metrics.payment_failed(attempt.provider, attempt.method, failure);
    }

    /// What may be applied of a provider's word: a success or authorisation whose reported
    /// amount, currency or reference is not the attempt's becomes `review`; one reporting no
    /// amount pays only once a fetched status confirms it (a fetched status without one is a
    /// mismatch: every provider here documents the amount in its status).
    async fn checked(
        &self,
        attempt: &AttemptRecord,
        update: &AttemptUpdate,
        cause: &Cause,
    ) -> Result<AttemptUpdate, AppError> {
        if !matches!(update.status, AttemptStatus::Succeeded | AttemptStatus::Authorized) {
            return Ok(update.clone());
        }
        let Some(c) = self.store.checkout(&attempt.checkout_id).await? else { return Ok(update.clone()) };
        let review = || AttemptUpdate { status: AttemptStatus::Review, failure: None, ..update.clone() };
        match check_reported(&update.reported, c.money, &attempt.idempotency_key) {
            Verdict::Matches => Ok(update.clone()),
            Verdict::Mismatch => {
                tracing::warn!(
                    attempt = %attempt.id, cause = %cause.to_text(), expected = %c.money.minor(),
                    reported = ?update.reported, "the provider reported another amount, currency or reference"
                );
                Ok(review())
            }
            Verdict::Unconfirmed if matches!(cause, Cause::Poll(_)) => {
                tracing::warn!(attempt = %attempt.id, "the provider's status reports a payment without its amount");
                Ok(review())
            }
            Verdict::Unconfirmed => {
                tracing::info!(attempt = %attempt.id, cause = %cause.to_text(), "a success without its amount: fetching the status");
                self.store.poll_no_later_than(&attempt.id, now_ms()).await?;
                Ok(AttemptUpdate { status: AttemptStatus::AwaitingCustomer, failure: None, ..update.clone() })
            }
        }
    }

    /// Captures an authorised attempt now, unless its provider delays captures.
    async fn capture_if_due(&self, attempt: &AttemptRecord) -> Result<(), AppError> {
        let Some(provider) = self.provider(attempt.provider).cloned() else { return Ok(()) };
        if provider.delays_capture() {
            return Ok(());
        }
        let Some(c) = self.store.checkout(&attempt.checkout_id).await? else { return Ok(()) };
        if self.same_mode(&c).is_err() {
            tracing::warn!(attempt = %attempt.id, "not capturing an attempt of the other mode");
            return Ok(());
        }
        let fresh = self.store.attempt(&attempt.id).await?.unwrap_or_else(|| attempt.clone());
        match provider.capture(&fresh.idempotency_key, fresh.provider_reference.as_deref(), c.money).await {
            Ok(update) => {
                let cause = Cause::Api("capture");
                let update = self.checked(&fresh, &update, &cause).await?;
                let applied = self.store.update_attempt(&fresh.id, &update, &cause).await?;
                self.count_outcome(&fresh, &update, &applied);
                if applied.changed() {
                    self.changed(&fresh.checkout_id);
                }
            }
            // Unknown outcome or refusal: the reconciler fetches the status and tries again.
            Err(e) => tracing::warn!(attempt = %fresh.id, error = %e, "capture failed; will retry"),
        }
        Ok(())
    }

    /// Receives a provider notification: verified ones are stored in the inbox (once: a repeated
    /// delivery is kept as a duplicate) and processed after by the inbox worker, so the provider
    /// is answered at once. Anything that cannot be verified is refused and changes nothing but
    /// this: the attempts it claims to be about are fetched from the provider sooner. Returns
    /// the body the provider expects in answer, if any.
    pub async fn notify(
        &self,
        provider: Provider,
        notice: &IncomingNotice<'_>,
    ) -> Result<Option<serde_json::Value>, NoticeError> {
        let adapter = self.provider(provider).ok_or(NoticeError::UnknownProvider)?;
        let verified = match adapter.verify_notice(notice) {
            Ok(v) => v,
            Err(e) => {
                self.metrics.webhook_refused(
                    provider,
                    match &e {
                        WebhookError::Malformed(_) => crate::metrics::Refusal::Malformed,
                        _ => crate::metrics::Refusal::Unverified,
                    },
                );
                // No row, no write: counted in memory, sampled at most once a second.
                let now = now_ms();
                let claimed = adapter.claimed_references(notice.body);
                // One log line a second per provider at most, however many arrive.
                if let Some(refused) = self.refused.count(provider, now) {
                    tracing::warn!(provider = provider.as_str(), refused, reason = %e, "notifications refused since the last sample");
                    self.refused.keep_sample(crate::store::RefusedSample {
                        provider,
                        reference: claimed.first().map(|r| r.chars().take(128).collect()),
                        reason: shared::phone::mask_phone_numbers(&e.to_string()).chars().take(200).collect(),
                        body: crate::refused::sample_body(notice.body),
                        received_at_ms: now,
                    });
                }
                self.fetch_sooner(adapter.as_ref(), &claimed).await;
                return Err(NoticeError::Rejected(e));
            }
        };
        let record = NotificationRecord {
            id: ids::notification_id(),
            provider,
            dedup_key: Some(
                adapter
                    .event_id(notice)
                    .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(notice.body)))),
            ),
            verified: true,
            state: NotificationState::Received,
            duplicate_of: None,
            reference: Some(verified.reference.clone()),
            update: verified.update.clone(),
            // Kept for audit, minus anything named like a secret (MyPVit delivers its API keys
            // on the same path as its callbacks) and with phone numbers masked.
            body: crate::redact::stored_body(notice.body),
            attempts: 0,
            last_error: None,
            outcome: None,
            received_at_ms: now_ms(),
            processed_at_ms: None,
        };
        let inserted = self.store.inbox_insert(&record).await.map_err(NoticeError::Store)?;
        self.metrics.webhook_received(provider);
        match inserted {
            Inserted::New => {
                self.inbox.notify_one();
                self.signals.notification_stored();
            }
            Inserted::Duplicate { of } => {
                tracing::info!(provider = provider.as_str(), first = %of, "repeated notification acknowledged");
            }
        }
        Ok(verified.ack)
    }

    /// An unverifiable notification named these references: the first pending attempt among
    /// the first [`CLAIMS_LOOKED_UP`] is fetched from the provider at the reconciler's next
    /// tick, at most once per provider's minimum gap between fetches
    /// ([`crate::providers::PollPolicy::floor_ms`]) per attempt, decided in memory. A forged
    /// request thus costs at most two indexed reads, and a flood one write per attempt per gap.
    async fn fetch_sooner(&self, adapter: &dyn PaymentProvider, claimed: &[String]) {
        let provider = adapter.id();
        for reference in claimed.iter().take(CLAIMS_LOOKED_UP) {
            match self.store.attempt_by_reference(provider, reference).await {
                Ok(Some(attempt)) if attempt.status.is_pending() => {
                    let now = now_ms();
                    if !self.refused.may_fetch_sooner(&attempt.id, adapter.poll_policy().floor_ms, now) {
                        return;
                    }
                    if let Err(e) = self.store.poll_no_later_than(&attempt.id, now).await {
                        tracing::error!(error = %e, "scheduling a status fetch failed");
                    }
                    tracing::info!(attempt = %attempt.id, "unverifiable notification: fetching the status");
                    return;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "looking up a claimed reference failed"),
            }
        }
    }

    /// Waits until a notification is stored or `timeout` passes (the inbox worker's sleep).
    pub async fn inbox_stored(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.inbox.notified()).await;
    }

    /// Processes one stored notification: applies what it reports through the state machine
    /// (the cause names the notification) or, when it reports nothing explicit, fetches the
    /// status. Processing again after a crash is harmless: a repeated update changes nothing.
    /// Returns what it did.
    #[tracing::instrument(
        name = "notification",
        skip_all,
        fields(notification = %n.id, provider = n.provider.as_str(), checkout = tracing::field::Empty, attempt = tracing::field::Empty)
    )]
    pub async fn process_notification(&self, n: &NotificationRecord) -> Result<&'static str, AppError> {
        let Some(reference) = n.reference.as_deref() else { return Ok("no reference") };
        let mut found = self.store.attempt_by_reference(n.provider, reference).await?;
        // A notice whose echo of our reference is wrong is still about the provider's payment:
        // found by the provider's reference, it is checked (and put in review) like any other.
        if let (None, Some(theirs)) =
            (&found, n.update.as_ref().and_then(|u| u.provider_reference.as_deref()))
        {
            found = self.store.attempt_by_reference(n.provider, theirs).await?;
        }
        let Some(attempt) = found else { return Ok("unknown payment") };
        let span = tracing::Span::current();
        span.record("checkout", attempt.checkout_id.as_str());
        span.record("attempt", attempt.id.as_str());
        match &n.update {
            // A success that does not say how much pays only once the provider's status says it.
            Some(update)
                if matches!(update.status, AttemptStatus::Succeeded | AttemptStatus::Authorized)
                    && !update.reported.has_amount() =>
            {
                self.refresh(&attempt).await;
                Ok("fetched")
            }
            Some(update) => {
                let cause = Cause::Webhook(n.provider, n.id.clone());
                let applied = self.apply(&attempt, update, &cause).await?;
                Ok(if applied.changed() { "applied" } else { "unchanged" })
            }
            None => {
                self.refresh(&attempt).await;
                Ok("fetched")
            }
        }
    }

    /// Asks the provider for an attempt's status and applies it. For an attempt the provider
    /// never received (our start call was lost), repeats the start with the same reference.
    #[tracing::instrument(name = "status_fetch", skip_all, fields(checkout = %attempt.checkout_id, attempt = %attempt.id))]
    pub async fn refresh(&self, attempt: &AttemptRecord) {
        let Some(provider) = self.provider(attempt.provider).cloned() else {
            tracing::error!(attempt = %attempt.id, "no adapter configured for this attempt's provider");
            return;
        };
        // An attempt of the other mode (left pending by a verifier restarted in this mode) is
        // never sent to this mode's provider: a lookup that finds nothing would start it again.
        match self.store.checkout(&attempt.checkout_id).await {
            Ok(Some(c)) if self.same_mode(&c).is_ok() => {}
            Ok(_) => {
                tracing::warn!(attempt = %attempt.id, "attempt of the other mode (test or live) not fetched");
                return;
            }
            Err(e) => {
                tracing::error!(attempt = %attempt.id, error = %e, "reading the checkout failed");
                return;
            }
        }
        let cause = Cause::Poll(attempt.provider);
        let result = provider.fetch(&attempt.idempotency_key, attempt.provider_reference.as_deref()).await;
        let outcome = match result {
            // Authorised and still not captured (a capture failed earlier): capture again.
            Ok(Some(update))
                if update.status == AttemptStatus::Authorized
                    && attempt.status == AttemptStatus::Authorized =>
            {
                self.capture_if_due(attempt).await
            }
            Ok(Some(update)) => self.apply(attempt, &update, &cause).await.map(|_| ()),
            Ok(None) if attempt.status == AttemptStatus::Created => {
                self.restart(provider.as_ref(), attempt).await
            }
            Ok(None) => {
                tracing::warn!(attempt = %attempt.id, "provider does not know an attempt it accepted");
                Ok(())
            }
            Err(ProviderError::BudgetSpent { retry_in }) => {
                self.defer(attempt, retry_in).await;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(attempt = %attempt.id, error = %e, "status fetch failed; will retry");
                Ok(())
            }
        };
        if let Err(e) = outcome {
            tracing::error!(attempt = %attempt.id, error = %e, "could not apply a provider status");
        }
    }

    async fn restart(&self, provider: &dyn PaymentProvider, attempt: &AttemptRecord) -> Result<(), AppError> {
        let Some(c) = self.store.checkout(&attempt.checkout_id).await? else { return Ok(()) };
        let phone = match attempt.phone.as_deref().map(PhoneNumber::parse_e164) {
            Some(Ok(p)) => Some(p),
            None => None,
            Some(Err(_)) => {
                let update = failed(ErrorCode::InvalidPhoneNumber);
                return self.apply(attempt, &update, &Cause::Poll(provider.id())).await.map(|_| ());
            }
        };
        // The one-time code is not stored: if the provider needs it again, it refuses, the
        // attempt fails and the customer starts again with a new code.
        let start = self.start_request(&c, attempt, phone, None);
        tracing::info!(attempt = %attempt.id, "provider never received the payment; sending it again with the same reference");
        self.start_with_provider(provider, attempt, &start, Starter::Reconciler).await.map(|_| ())
    }

    /// Refunds all (amount absent) or part of a paid checkout through its provider. Providers
    /// with no refund API answer `REFUND_NOT_ALLOWED` with the reason, and nothing changes.
    ///
    /// With an `Idempotency-Key`, the refund's id (sent to the provider as its reference and
    /// idempotency key) is derived from it and the checkout ([`ids::refund_id_for`]): a retry
    /// after a 5xx or an interruption finds the same refund and, if it is still pending, asks
    /// the provider again with the same reference, so the provider never makes a second one.
    #[tracing::instrument(name = "refund", skip_all, fields(checkout = %checkout_id))]
    pub async fn refund(
        &self,
        checkout_id: &str,
        req: CreateRefund,
        idempotency_key: Option<&str>,
    ) -> Result<api::Refund, AppError> {
        let c = self.store.checkout(checkout_id).await?.ok_or(AppError::NotFound)?;
        self.same_mode(&c)?;
        let refund_id = match idempotency_key {
            Some(key) => ids::refund_id_for(checkout_id, key),
            None => ids::refund_id(),
        };
        if let Some(existing) = self.store.refund(&refund_id).await?.filter(|r| r.checkout_id == checkout_id)
        {
            if existing.status == RefundStatus::Pending {
                self.follow_up_refund(&c, &existing).await?;
            }
            let stored = self.store.refund(&refund_id).await?;
            return stored
                .map(|r| refund_view(&r))
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("refund vanished")));
        }
        let attempts = self.store.attempts(checkout_id).await?;
        let paid_attempt = match req.attempt_id.as_deref() {
            Some(id) => {
                let named = attempts.into_iter().find(|a| a.id == id).ok_or_else(|| {
                    AppError::invalid("attempt_id", "no attempt of this checkout has this id")
                })?;
                if named.status != AttemptStatus::Succeeded {
                    return Err(AppError::Refused {
                        code: ErrorCode::RefundNotAllowed,
                        reason: format!("the attempt is {}, not paid", named.status.as_str()),
                    });
                }
                named
            }
            None => attempts.into_iter().find(|a| a.status == AttemptStatus::Succeeded).ok_or_else(|| {
                AppError::Refused {
                    code: ErrorCode::RefundNotAllowed,
                    reason: "the checkout is not paid".into(),
                }
            })?,
        };
        let provider = self.provider(paid_attempt.provider).cloned().ok_or_else(|| AppError::Refused {
            code: ErrorCode::RefundNotAllowed,
            reason: format!("{} is not configured on this verifier", paid_attempt.provider.as_str()),
        })?;
        if req.reason.as_ref().is_some_and(|r| r.len() > MAX_DESCRIPTION_LEN) {
            return Err(AppError::invalid(
                "reason",
                format!("reason must be at most {MAX_DESCRIPTION_LEN} characters"),
            ));
        }
        // The cap is per attempt: each paid attempt paid the checkout's amount.
        let already: u64 = self
            .store
            .refunds(checkout_id)
            .await?
            .iter()
            .filter(|r| r.status != RefundStatus::Failed && r.attempt_id == paid_attempt.id)
            .map(|r| r.amount.minor())
            .sum();
        let minor = match req.amount {
            Some(a) => a,
            None => c.money.minor().saturating_sub(already),
        };
        let amount = Money::new(minor, c.money.currency()).map_err(|_| {
            if req.amount.is_some() {
                AppError::invalid("amount", "the amount must be greater than zero")
            } else {
                AppError::Refused {
                    code: ErrorCode::RefundNotAllowed,
                    reason: "nothing is left to refund".into(),
                }
            }
        })?;
        let record = RefundRecord {
            id: refund_id,
            checkout_id: checkout_id.to_owned(),
            attempt_id: paid_attempt.id.clone(),
            amount,
            status: RefundStatus::Pending,
            reason: req.reason.clone(),
            failure: None,
            provider_reference: None,
            created_at: now(),
        };
        self.store.start_refund(&record, &Cause::Api("refund")).await?;
        match self.send_refund(provider.as_ref(), &c, &paid_attempt, &record).await? {
            RefundSent::Answered | RefundSent::Unknown => {}
            RefundSent::NotSent(e) => {
                // Nothing reached the provider: nothing changes.
                self.store.discard_refund(&record.id).await?;
                return Err(e);
            }
        }
        let stored = self.store.refunds(checkout_id).await?.into_iter().find(|r| r.id == record.id);
        stored.map(|r| refund_view(&r)).ok_or_else(|| AppError::Internal(anyhow::anyhow!("refund vanished")))
    }

    /// Asks the provider again about a pending refund, with the same refund id: the answer
    /// ends it when final. Used by a retried refund request and by the reconciler.
    async fn follow_up_refund(&self, c: &CheckoutRecord, r: &RefundRecord) -> Result<(), AppError> {
        let attempt = self
            .store
            .attempt(&r.attempt_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a refund's attempt vanished")))?;
        let Some(provider) = self.provider(attempt.provider).cloned() else {
            // The provider is no longer configured: the refund waits for a verifier that has it.
            return Ok(());
        };
        match self.send_refund(provider.as_ref(), c, &attempt, r).await? {
            RefundSent::Answered | RefundSent::Unknown => {}
            // A follow-up that could not be sent keeps the refund pending: the provider may
            // have made it on the first call.
            RefundSent::NotSent(e) => tracing::info!(refund = %r.id, error = %e, "refund follow-up not sent"),
        }
        Ok(())
    }

    /// Sends a pending refund to its provider and records a final answer.
    async fn send_refund(
        &self,
        provider: &dyn PaymentProvider,
        c: &CheckoutRecord,
        paid_attempt: &AttemptRecord,
        record: &RefundRecord,
    ) -> Result<RefundSent, AppError> {
        let request = RefundRequest {
            refund_id: record.id.clone(),
            payment_reference: paid_attempt.idempotency_key.clone(),
            provider_reference: paid_attempt.provider_reference.clone(),
            amount: record.amount,
            paid: c.money,
            reason: record.reason.clone(),
        };
        let cause = Cause::ProviderResponse(provider.id());
        let finished = match provider.refund(&request).await {
            Ok(result) if result.status == RefundStatus::Pending => {
                self.schedule_refund_follow_up(record, provider.id()).await;
                return Ok(RefundSent::Unknown);
            }
            Ok(result) => {
                self.store
                    .finish_refund(
                        &record.id,
                        result.status,
                        None,
                        result.provider_reference.as_deref(),
                        &cause,
                    )
                    .await?
            }
            Err(ProviderError::Unsupported(reason)) => {
                return Ok(RefundSent::NotSent(AppError::Refused {
                    code: ErrorCode::RefundNotAllowed,
                    reason,
                }));
            }
            Err(ProviderError::Refused { code, provider_code }) => {
                tracing::info!(refund = %record.id, %provider_code, "provider refused the refund");
                self.store.finish_refund(&record.id, RefundStatus::Failed, Some(code), None, &cause).await?
            }
            Err(ProviderError::Integration(why)) => {
                tracing::error!(refund = %record.id, %why, "provider integration error on refund");
                let code = Some(ErrorCode::ProviderUnavailable);
                self.store.finish_refund(&record.id, RefundStatus::Failed, code, None, &cause).await?
            }
            Err(ProviderError::Unavailable(why)) => {
                // Outcome unknown: the refund stays pending; the reconciler asks again with the
                // same refund id.
                tracing::warn!(refund = %record.id, %why, "refund outcome unknown");
                self.schedule_refund_follow_up(record, provider.id()).await;
                return Ok(RefundSent::Unknown);
            }
            Err(ProviderError::BudgetSpent { retry_in }) => {
                return Ok(RefundSent::NotSent(budget_spent(retry_in)));
            }
        };
        if finished.changed() {
            self.changed(&c.id);
        }
        Ok(RefundSent::Answered)
    }

    /// The reconciler asks about a refund left pending at the provider's pace.
    async fn schedule_refund_follow_up(&self, record: &RefundRecord, provider: Provider) {
        let at = now_ms() + self.poll_delay_ms(provider, 0);
        if let Err(e) = self.store.schedule_refund_check(&record.id, None, at).await {
            tracing::error!(refund = %record.id, error = %e, "scheduling a refund's follow-up failed");
        }
    }

    /// Follows up the pending refunds that are due (the reconciler's tick): each is asked about
    /// again with its refund id, at the pace its provider accepts, until its answer is final.
    pub async fn follow_up_due_refunds(&self, limit: u32) {
        let due = match self.store.due_refunds(now_ms(), limit).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "listing pending refunds failed");
                return;
            }
        };
        for (refund, checks) in due {
            let checkout = match self.store.checkout(&refund.checkout_id).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "reading a refund's checkout failed");
                    continue;
                }
            };
            let provider = match self.store.attempt(&refund.attempt_id).await {
                Ok(Some(a)) => a.provider,
                _ => continue,
            };
            // A refund of the other mode's checkout is another verifier's; a closed budget
            // would send nothing. Both wait, uncounted.
            if checkout.livemode != self.policy.livemode || self.budget_closed_for(provider).is_some() {
                continue;
            }
            let next = now_ms() + self.poll_delay_ms(provider, checks.saturating_add(1));
            match self.store.schedule_refund_check(&refund.id, Some(checks), next).await {
                Ok(true) => {
                    if let Err(e) = self.follow_up_refund(&checkout, &refund).await {
                        tracing::error!(refund = %refund.id, error = %e, "following up a refund failed");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "scheduling a refund's follow-up failed"),
            }
        }
    }

    /// A checkout's refunds.
    pub async fn refunds(&self, checkout_id: &str) -> Result<Vec<api::Refund>, AppError> {
        self.store.checkout(checkout_id).await?.ok_or(AppError::NotFound)?;
        Ok(self.store.refunds(checkout_id).await?.iter().map(refund_view).collect())
    }

    /// Expires open checkouts past their deadline.
    pub async fn expire_due(&self) -> Result<(), AppError> {
        for id in self.store.expire_checkouts(now()).await? {
            self.changed(&id);
        }
        Ok(())
    }

    /// The store (for the reconciler).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The shortest polling interval in ms (the reconciler's tick follows it).
    pub fn poll_interval_ms(&self) -> i64 {
        self.policy.poll_interval_ms
    }

    /// How long to wait before fetching an attempt of `provider` that has had `polls` fetches.
    pub fn poll_delay_ms(&self, provider: Provider, polls: u32) -> i64 {
        let mut pace =
            self.provider(provider).map_or(crate::providers::PollPolicy::DEFAULT, |p| p.poll_policy());
        if let Some(max) = self.policy.max_poll_interval_ms {
            pace.max_ms = max;
        }
        pace.delay_ms(self.policy.poll_interval_ms, polls, self.policy.poll_floor_applies)
    }
}

/// What the SSE hub sends a watched checkout's subscribers: its public view, read once per change
/// and serialised once (the data of the `status` event).
impl crate::events::Source for Checkouts {
    type Error = AppError;

    async fn snapshot(&self, checkout_id: &str) -> Result<Arc<str>, AppError> {
        let view = self.public_view(checkout_id).await?;
        Ok(serde_json::to_string(&view).map_err(anyhow::Error::from)?.into())
    }
}

/// What this instance does with the other instances' signals: its hub reads the checkouts they
/// changed, its inbox worker wakes for the notifications they stored.
impl crate::signals::Receiver for Checkouts {
    fn checkout_changed(&self, checkout_id: &str) {
        self.events.changed(checkout_id, self);
    }

    fn notification_stored(&self) {
        self.inbox.notify_one();
    }

    fn reread_watched(&self) {
        self.events.all_changed(self);
    }
}

/// A `return_url` is where providers send the customer's browser back: an absolute `https://`
/// or `http://` URL of at most [`MAX_RETURN_URL_LEN`] bytes with a host, never a `javascript:`
/// or `data:` link, a relative path or credentials in the URL.
fn check_return_url(url: &str) -> Result<(), AppError> {
    let refuse = |why: &str| Err(AppError::invalid("return_url", format!("return_url {why}")));
    if url.len() > MAX_RETURN_URL_LEN {
        return refuse(&format!("must be at most {MAX_RETURN_URL_LEN} characters"));
    }
    match reqwest::Url::parse(url) {
        Ok(u) if !matches!(u.scheme(), "https" | "http") => refuse("must be an https:// or http:// URL"),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => refuse("must name a host"),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            refuse("must not carry a user name or password")
        }
        Ok(_) => Ok(()),
        Err(_) => refuse("must be an absolute https:// or http:// URL"),
    }
}

/// What sending a refund to its provider came to.
#[derive(Debug)]
enum RefundSent {
    /// The provider answered; a final answer is recorded.
    Answered,
    /// The outcome is unknown or still pending: the reconciler follows it up.
    Unknown,
    /// Nothing reached the provider (no refund API, or its request budget is spent).
    NotSent(AppError),
}

/// An attempt as the merchant API shows it (the phone number in full: the merchant's backend
/// is the customer's merchant).
fn attempt_view(a: AttemptRecord) -> api::Attempt {
    api::Attempt {
        id: a.id,
        provider: a.provider,
        method: a.method,
        phone: a.phone,
        status: a.status,
        failure: a.failure,
        provider_reference: a.provider_reference,
        reported: a.reported,
        created_at: rfc3339(a.created_at),
    }
}

fn refund_view(r: &RefundRecord) -> api::Refund {
    api::Refund {
        id: r.id.clone(),
        checkout_id: r.checkout_id.clone(),
        attempt_id: r.attempt_id.clone(),
        amount: r.amount.minor(),
        currency: r.amount.currency(),
        status: r.status,
        reason: r.reason.clone(),
        failure: r.failure,
        provider_reference: r.provider_reference.clone(),
        created_at: rfc3339(r.created_at),
    }
}

/// Who starts a payment: the customer (who is answered) or the reconciler repeating a start
/// the provider never received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Starter {
    Customer,
    Reconciler,
}

/// The answer when a provider's request budget is spent: nothing was sent, so nothing was
/// charged; `PROVIDER_UNAVAILABLE` (its action: try again later), and when, in words.
fn budget_spent(retry_in: std::time::Duration) -> AppError {
    let seconds = retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0);
    AppError::Refused {
        code: ErrorCode::ProviderUnavailable,
        reason: format!(
            "the payment service is busy: nothing was sent and nothing was charged; try again in {} s",
            seconds.max(1)
        ),
    }
}

fn failed(code: ErrorCode) -> AttemptUpdate {
    AttemptUpdate::new(AttemptStatus::Failed, Some(code))
}

/// What a provider's report of money taken says about the attempt it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything reported is the attempt's (a field the message does not carry is no mismatch).
    Matches,
    /// No amount was reported: only a status fetched from the provider can confirm the payment.
    Unconfirmed,
    /// The amount, the currency or our reference reported is not the attempt's, or the amount
    /// could not be read.
    Mismatch,
}

/// Checks what a provider reported with a success against what the attempt asked: `expected`
/// (the checkout's amount, in minor units of its currency) and our `reference`. The adapters
/// report the field that their provider documents as the amount credited or charged for the
/// merchant, fees aside (each says which, and why, where it reads it).
pub fn check_reported(reported: &Reported, expected: Money, reference: &str) -> Verdict {
    let currency_ok = reported
        .currency
        .as_deref()
        .is_none_or(|c| c.trim().eq_ignore_ascii_case(expected.currency().code()));
    let reference_ok = reported.reference.as_deref().is_none_or(|r| r == reference);
    let amount_ok = match (reported.amount, &reported.unreadable_amount) {
        (_, Some(_)) => false,
        (Some(minor), None) => minor == expected.minor(),
        (None, None) => true,
    };
    if !(currency_ok && reference_ok && amount_ok) {
        Verdict::Mismatch
    } else if !reported.has_amount() {
        Verdict::Unconfirmed
    } else {
        Verdict::Matches
    }
}

/// Why a provider notification was not applied.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// No adapter for that provider is configured.
    #[error("this provider is not configured")]
    UnknownProvider,
    /// Signature or body refused.
    #[error(transparent)]
    Rejected(WebhookError),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shared::{
        api::{EventType, WebhookEvent},
        method::{PaymentMethod, Provider},
        money::{Currency, Money},
        phone::Country,
        status::{AttemptStatus, CheckoutStatus},
    };

    use super::{CLIENT_SECRET_GRACE_S, Checkouts, Policy, Verdict, check_reported};
    use crate::{
        error::AppError,
        events::Events,
        ids,
        providers::mypvit::{merchant_reference, status_update, wire::StatusReport},
        store::{AttemptRecord, Cause, CheckoutRecord, Reported, Store, sqlite::SqliteStore},
    };

    fn reported(amount: Option<&str>, currency: Option<&str>, reference: Option<&str>) -> Reported {
        Reported::read(amount, currency, Currency::Xof, reference)
    }

    #[test]
    fn a_success_pays_only_with_the_attempts_amount_currency_and_reference() {
        let xof = Money::new(5000, Currency::Xof).unwrap();
        let eur = Money::new(19_000, Currency::Eur).unwrap();
        let check = |r: Reported, m| check_reported(&r, m, "ref-1");
        assert_eq!(check(reported(Some("5000"), Some("XOF"), Some("ref-1")), xof), Verdict::Matches);
        assert_eq!(check(reported(Some("5000.00"), Some("xof"), None), xof), Verdict::Matches);
        assert_eq!(check(reported(Some("190.00"), Some("EUR"), None), eur), Verdict::Matches);
        let no_currency = Reported::read(Some("190"), None, Currency::Eur, Some("ref-1"));
        assert_eq!(check(no_currency, eur), Verdict::Matches);
        // NovaSend's status example: a 300 XOF payin processed as "153.00".
        let ns = Money::new(300, Currency::Xof).unwrap();
        assert_eq!(check(reported(Some("153.00"), Some("XOF"), None), ns), Verdict::Mismatch);
        assert_eq!(check(reported(Some("4999"), Some("XOF"), None), xof), Verdict::Mismatch);
        assert_eq!(check(reported(Some("5000"), Some("XAF"), None), xof), Verdict::Mismatch);
        assert_eq!(check(reported(Some("5000"), Some("XOF"), Some("ref-2")), xof), Verdict::Mismatch);
        assert_eq!(check(reported(Some("189.999"), Some("EUR"), None), eur), Verdict::Mismatch);
        // Unreadable amounts are mismatches, never a crash nor a float's rounding.
        for text in ["5 000", "5000,00", "-5000", "5e3", "", "5000.5", "0x1388"] {
            let r = reported(Some(text), Some("XOF"), None);
            assert_eq!(r.unreadable_amount.as_deref(), Some(text.trim()), "{text:?}");
            assert_eq!(check(r, xof), Verdict::Mismatch, "{text:?}");
        }
        // A field the message does not carry is no mismatch; no amount at all is unconfirmed.
        assert_eq!(check(reported(None, Some("XOF"), Some("ref-1")), xof), Verdict::Unconfirmed);
        assert_eq!(check(Reported::default(), xof), Verdict::Unconfirmed);
        assert_eq!(check(reported(None, Some("XAF"), None), xof), Verdict::Mismatch);
    }

    async fn service() -> (Checkouts, Arc<SqliteStore>) {
        let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
        let policy = Policy {
            merchant_name: "Shop".into(),
            default_country: Country::Ga,
            ttl_seconds: 600,
            poll_interval_ms: 1000,
            max_poll_interval_ms: None,
            poll_floor_applies: false,
            public_url: "http://127.0.0.1".into(),
            livemode: false,
        };
        (Checkouts::new(store.clone(), Vec::new(), Events::new(), policy), store)
    }

    /// MyPVit's callbacks only trigger a status fetch: the check runs on the status answer.
    /// MyPVit's documented example (`server/tests/fixtures/mypvit/status_response.json`) with
    /// its status made `SUCCESS`, our reference echoed, and the amount as given.
    fn mypvit_status(amount: &str, reference: &str) -> StatusReport {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mypvit/status_response.json"
        ))
        .unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["status"] = "SUCCESS".into();
        json["amount"] = serde_json::from_str(amount).unwrap();
        json["merchant_reference_id"] = merchant_reference(reference).into();
        serde_json::from_value(json).unwrap()
    }

    /// An open test-mode checkout `co_{tag}` of `money` in `country`, stored.
    async fn open_checkout(store: &SqliteStore, tag: &str, money: Money, country: Country) -> CheckoutRecord {
        let now = super::now();
        let checkout = CheckoutRecord {
            id: format!("co_{tag}"),
            reference: format!("order-{tag}"),
            money,
            country,
            description: None,
            return_url: None,
            customer: None,
            status: CheckoutStatus::Open,
            livemode: false,
            client_secret_hash: "h".into(),
            created_at: now,
            expires_at: now + 600,
        };
        store.insert_checkout(&checkout, &Cause::Api("create")).await.unwrap();
        checkout
    }

    #[tokio::test]
    async fn a_client_secret_expires_with_its_checkout_after_a_grace_for_reading() {
        let (checkouts, store) = service().await;
        let now = super::now();
        for (tag, expires_at, expected) in [
            ("fresh", now + 600, None),
            ("in_grace", now - CLIENT_SECRET_GRACE_S + 60, None),
            ("past", now - CLIENT_SECRET_GRACE_S - 1, Some("client_secret_expired")),
        ] {
            let id = format!("co_{tag}");
            let secret = ids::client_secret(&id);
            let checkout = CheckoutRecord {
                id: id.clone(),
                reference: format!("order-{tag}"),
                money: Money::new(5000, Currency::Xof).unwrap(),
                country: Country::Ci,
                description: None,
                return_url: None,
                customer: None,
                status: CheckoutStatus::Open,
                livemode: false,
                client_secret_hash: ids::hash_secret(&secret),
                created_at: expires_at - 600,
                expires_at,
            };
            store.insert_checkout(&checkout, &Cause::Api("create")).await.unwrap();
            let read = checkouts.authorized_public_view(&id, &secret).await;
            match expected {
                None => assert!(read.is_ok(), "{tag}: {read:?}"),
                Some(code) => {
                    let e = read.unwrap_err();
                    assert!(matches!(e, AppError::ClientSecretExpired), "{tag}: {e:?}");
                    let response = axum::response::IntoResponse::into_response(e);
                    assert_eq!(response.status(), axum::http::StatusCode::UNAUTHORIZED);
                    assert_eq!(
                        shared::api::ApiErrorCode::parse(code),
                        Some(shared::api::ApiErrorCode::ClientSecretExpired)
                    );
                }
            }
            // A wrong secret is refused as before, expired or not.
            let wrong = checkouts.authorized_public_view(&id, &ids::client_secret(&id)).await;
            assert!(matches!(wrong, Err(AppError::Unauthorized)), "{tag}");
        }
    }

    async fn mypvit_attempt(store: &SqliteStore, n: u32) -> AttemptRecord {
        let now = super::now();
        let checkout =
            open_checkout(store, &n.to_string(), Money::new(200, Currency::Xaf).unwrap(), Country::Ga).await;
        let attempt = AttemptRecord {
            id: format!("at_{n}"),
            checkout_id: checkout.id.clone(),
            provider: Provider::MyPvit,
            method: PaymentMethod::AirtelMoney,
            phone: Some("+24177000001".into()),
            status: AttemptStatus::Created,
            failure: None,
            idempotency_key: format!("5f0c6a1e-0000-4000-8000-00000000000{n}"),
            provider_reference: None,
            payment_url: None,
            reported: None,
            created_at: now,
            updated_at: now,
        };
        store.start_attempt(&attempt, 0, &Cause::Api("pay")).await.unwrap();
        attempt
    }

    #[tokio::test]
    async fn a_mypvit_status_with_another_amount_puts_the_attempt_in_review() {
        let (service, store) = service().await;
        let cause = Cause::Poll(Provider::MyPvit);

        // The documented amount (200) paid as asked: succeeded.
        let good = mypvit_attempt(&store, 1).await;
        let update = status_update(&mypvit_status("200.0", &good.idempotency_key), &good.idempotency_key);
        assert_eq!(update.reported.reference.as_deref(), Some(good.idempotency_key.as_str()));
        service.apply(&good, &update, &cause).await.unwrap();
        assert_eq!(store.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Succeeded);

        // The same example with 150 francs taken instead of 200: review, not paid, and the
        // merchant's event says what was expected and what was reported.
        let short = mypvit_attempt(&store, 2).await;
        let update = status_update(&mypvit_status("150.0", &short.idempotency_key), &short.idempotency_key);
        service.apply(&short, &update, &cause).await.unwrap();
        let (c, attempts) = store.checkout_with_attempts("co_2").await.unwrap().unwrap();
        assert_eq!(c.status, CheckoutStatus::Processing);
        assert_eq!(attempts[0].status, AttemptStatus::Review);
        assert_eq!(attempts[0].reported.as_ref().and_then(|r| r.amount), Some(150));
        let events = store.checkout_events("co_2").await.unwrap();
        assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventType::AttemptAmountMismatch]);
        let event: WebhookEvent = serde_json::from_str(&events[0].payload).unwrap();
        let mismatch = event.data.mismatch.expect("what was expected and reported");
        assert_eq!((mismatch.expected.amount, mismatch.expected.currency), (200, Currency::Xaf));
        assert_eq!(mismatch.expected.reference, short.idempotency_key);
        assert_eq!(mismatch.reported.amount, Some(150));

        // An amount that is no whole number of francs is a mismatch, not an unreadable answer.
        let odd = mypvit_attempt(&store, 4).await;
        let update = status_update(&mypvit_status("200.5", &odd.idempotency_key), &odd.idempotency_key);
        service.apply(&odd, &update, &cause).await.unwrap();
        let attempt = store.attempt("at_4").await.unwrap().unwrap();
        assert_eq!(attempt.status, AttemptStatus::Review);
        assert_eq!(attempt.reported.and_then(|r| r.unreadable_amount).as_deref(), Some("200.5"));

        // Another payment's reference echoed: review too.
        let other = mypvit_attempt(&store, 3).await;
        let update = status_update(&mypvit_status("200.0", "someone-else"), &other.idempotency_key);
        service.apply(&other, &update, &cause).await.unwrap();
        let attempt = store.attempt("at_3").await.unwrap().unwrap();
        assert_eq!(attempt.status, AttemptStatus::Review);
        assert_eq!(attempt.reported.and_then(|r| r.reference), Some(merchant_reference("someone-else")));
    }

    #[tokio::test]
    async fn a_success_without_an_amount_waits_for_the_status() {
        let (service, store) = service().await;
        let attempt = mypvit_attempt(&store, 1).await;
        // A start answer saying SUCCESS carries no amount (MyPVit's REST answer has none).
        let update = crate::store::AttemptUpdate::new(AttemptStatus::Succeeded, None);
        service.apply(&attempt, &update, &Cause::ProviderResponse(Provider::MyPvit)).await.unwrap();
        let seen = store.attempt("at_1").await.unwrap().unwrap();
        assert_eq!(seen.status, AttemptStatus::AwaitingCustomer, "not paid before the status says how much");
        let due = store.due_attempts(super::now_ms(), 10).await.unwrap();
        assert!(due.iter().any(|(a, _)| a.id == "at_1"), "its status is fetched at once");
        // The status fetched without an amount either: review, never paid.
        service.apply(&seen, &update, &Cause::Poll(Provider::MyPvit)).await.unwrap();
        assert_eq!(store.attempt("at_1").await.unwrap().unwrap().status, AttemptStatus::Review);
        assert_eq!(store.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Processing);
    }

    /// A checkout of 5 000 XOF in Côte d'Ivoire (CaurisFlux's Orange Money).
    async fn xof_checkout(store: &SqliteStore, n: u32) -> CheckoutRecord {
        open_checkout(store, &format!("cf_{n}"), Money::new(5000, Currency::Xof).unwrap(), Country::Ci).await
    }

    #[tokio::test]
    async fn a_spent_budget_starts_nothing_and_says_nothing_was_charged() {
        use crate::{
            error::AppError,
            providers::{PaymentProvider, caurisflux},
        };
        let (service, store) = service().await;
        // One request a minute, to an address where nothing listens (port 9, discard): the
        // first start is sent and its outcome is unknown.
        let settings = caurisflux::Settings {
            mode: crate::config::Mode::Test,
            allow_custom_host: false,
            base_url: "http://127.0.0.1:9/api/v1".into(),
            public_key: "pk_test_a".into(),
            secret_key: "sk_test_b".to_owned().into(),
            webhook_secret: "w".to_owned().into(),
            timeout_ms: 5_000,
            rate_per_minute: std::num::NonZeroU32::MIN,
            rate_per_hour: caurisflux::DEFAULT_RATE_PER_HOUR,
            webhook_secret_previous: None,
            webhook_secret_previous_until: None,
            confirmation_window_s: None,
        };
        let adapter = caurisflux::CaurisFlux::new(&settings).unwrap();
        // Orange Money in Côte d'Ivoire, as `GET /payments/providers` and `/countries/active`
        // would list it (nothing listens to read them here).
        let providers: Vec<caurisflux::listing::ListedProvider> =
            serde_json::from_value(serde_json::json!([{"code": "orange_money", "countries": ["CI"]}]))
                .unwrap();
        let countries: Vec<caurisflux::listing::ActiveCountry> =
            serde_json::from_value(serde_json::json!([{"code": "CI", "currency": "XOF"}])).unwrap();
        adapter.set_listing(caurisflux::listing::Listing::from_lists(&providers, &countries));
        let provider: Arc<dyn PaymentProvider> = Arc::new(adapter);
        let service = Checkouts { providers: Arc::new(vec![provider]), ..service };
        let pay = shared::api::PayRequest {
            method: PaymentMethod::OrangeMoney,
            phone: "0700000001".into(),
            provider: Some(Provider::CaurisFlux),
            otp: None,
        };
        let spent = |e: AppError| match e {
            AppError::Refused { code: shared::catalogue::ErrorCode::ProviderUnavailable, reason } => {
                assert!(reason.contains("nothing was charged"), "{reason}");
                reason
            }
            other => panic!("expected PROVIDER_UNAVAILABLE, got {other:?}"),
        };

        let sent = xof_checkout(&store, 1).await;
        service.pay(&sent, pay.clone()).await.unwrap();
        let attempts = store.attempts(&sent.id).await.unwrap();
        assert_eq!(attempts[0].status, AttemptStatus::Created, "sent, outcome unknown: kept pending");

        // The budget ran out between the check and the call: the attempt fails cleanly.
        let raced = xof_checkout(&store, 2).await;
        let reason = spent(service.pay(&raced, pay.clone()).await.unwrap_err());
        assert!(reason.ends_with("try again in 60 s"), "{reason}");
        let attempts = store.attempts(&raced.id).await.unwrap();
        assert_eq!(
            (attempts.len(), attempts[0].status, attempts[0].failure),
            (1, AttemptStatus::Failed, Some(shared::catalogue::ErrorCode::ProviderUnavailable))
        );
        assert_eq!(store.checkout(&raced.id).await.unwrap().unwrap().status, CheckoutStatus::Open);

        // Known to be spent: nothing is stored at all.
        let refused = xof_checkout(&store, 3).await;
        spent(service.pay(&refused, pay).await.unwrap_err());
        assert!(store.attempts(&refused.id).await.unwrap().is_empty());
        // The reconciler does not count a fetch it cannot send.
        assert!(service.budget_closed_for(Provider::CaurisFlux).is_some());
    }
}

/// What a start call's answer says, for the router and the failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartOutcome {
    /// The provider answered with the payment's state.
    Answered,
    /// Refused for the customer's or the business's reason: says nothing of the provider.
    RefusedCustomer,
    /// Refused because the provider is down or erring, before any payment existed there.
    RefusedProviderSide,
    /// Our keys or request refused, or an answer we cannot read.
    Failed,
    /// No answer (timeout, 5xx, transport): the payment may exist at the provider.
    Unknown,
    /// Not sent (request budget spent), put off by the reconciler.
    Deferred,
}

impl StartOutcome {
    fn health(self) -> Option<crate::routing::Outcome> {
        use crate::routing::Outcome;
        match self {
            StartOutcome::Answered => Some(Outcome::Accepted),
            StartOutcome::RefusedProviderSide | StartOutcome::Unknown => Some(Outcome::Down),
            StartOutcome::Failed => Some(Outcome::Error),
            StartOutcome::RefusedCustomer | StartOutcome::Deferred => None,
        }
    }
}
