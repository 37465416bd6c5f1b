//! Prometheus metrics: what the verifier counts, and their text exposition.
//!
//! Each verifier instance has its own recorder (`metrics-exporter-prometheus`'s
//! `PrometheusRecorder`, never installed as the process's global one), so that the tests'
//! verifiers, many in one process, each count their own. The code records through the typed
//! methods of [`Metrics`], never through free-form names; the names and labels are the
//! constants below, and `deploy/alerts.yml` is checked against what a running verifier exports
//! (`tests/e2e/service.rs`).
//!
//! Labels carry only bounded values: route patterns (never a raw path), providers, methods,
//! catalogue codes, HTTP statuses. Gauges that are states of the system (SSE streams open,
//! merchant deliveries pending) are read when scraped ([`Gauges`]).
//!
//! Naming follows <https://prometheus.io/docs/practices/naming/>: `verifier_` prefix, `_total`
//! for counters, base units (`_seconds`).

use std::{sync::Arc, time::Duration};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
};

/// Requests answered, by route pattern, method and status.
pub const HTTP_REQUESTS: &str = "verifier_http_requests_total";
/// Payment attempts recorded and sent to a provider, by provider and method.
pub const PAYMENTS_STARTED: &str = "verifier_payments_started_total";
/// Attempts that became `succeeded`, by provider and method.
pub const PAYMENTS_SUCCEEDED: &str = "verifier_payments_succeeded_total";
/// Attempts that became `failed`, `expired` or `review`, by provider, method and code.
pub const PAYMENTS_FAILED: &str = "verifier_payments_failed_total";
/// Calls to a provider's API that got an answer or failed on the way, by provider, in seconds.
pub const PROVIDER_CALL_SECONDS: &str = "verifier_provider_call_duration_seconds";
/// Calls to a provider's API that failed, by provider and kind.
pub const PROVIDER_CALL_ERRORS: &str = "verifier_provider_call_errors_total";
/// Provider notifications verified and stored, by provider.
pub const WEBHOOKS_RECEIVED: &str = "verifier_webhooks_received_total";
/// Provider notifications refused (bad signature, stale or malformed), by provider and reason.
pub const WEBHOOKS_REFUSED: &str = "verifier_webhooks_refused_total";
/// Merchant webhook deliveries waiting to be sent or retried (read from the database).
pub const DELIVERIES_PENDING: &str = "verifier_merchant_deliveries_pending";
/// Merchant webhook deliveries that exhausted their retries.
pub const DELIVERIES_FAILED: &str = "verifier_merchant_deliveries_failed_total";
/// Status streams (SSE) open on this instance.
pub const SSE_STREAMS_OPEN: &str = "verifier_sse_streams_open";

/// The provider-call histogram's buckets, in seconds: providers answer in tens to hundreds of
/// milliseconds, and NovaSend's guide caps a call at 30 s.
const CALL_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0];

/// Why a call to a provider failed, as [`PROVIDER_CALL_ERRORS`]' `kind` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// No answer within the configured timeout.
    Timeout,
    /// The connection failed or broke.
    Transport,
    /// `401` or `403`: our credentials were refused.
    Unauthorized,
    /// `429`: the provider asks us to slow down.
    RateLimited,
    /// `5xx`: the provider failed.
    ServerError,
}

impl CallError {
    /// Every kind.
    pub const ALL: [CallError; 5] = [
        CallError::Timeout,
        CallError::Transport,
        CallError::Unauthorized,
        CallError::RateLimited,
        CallError::ServerError,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallError::Timeout => "timeout",
            CallError::Transport => "transport",
            CallError::Unauthorized => "unauthorized",
            CallError::RateLimited => "rate_limited",
            CallError::ServerError => "server_error",
        }
    }

    /// The error an answer's status means, if any: a provider that answers `4xx` to a request
    /// (an unknown payment, a refused number) is working, except for these.
    pub fn of_status(status: u16) -> Option<CallError> {
        match status {
            401 | 403 => Some(CallError::Unauthorized),
            429 => Some(CallError::RateLimited),
            500..=599 => Some(CallError::ServerError),
            _ => None,
        }
    }
}

/// Why a provider notification was refused, as [`WEBHOOKS_REFUSED`]' `reason` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its signature, timestamp or sender did not verify.
    Unverified,
    /// It could not be read.
    Malformed,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Unverified => "unverified",
            Refusal::Malformed => "malformed",
        }
    }
}

/// Values read when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    /// SSE streams open on this instance.
    pub sse_streams_open: usize,
    /// Merchant deliveries pending in the database (`None`: it could not be read, and the
    /// gauge keeps its last value).
    pub deliveries_pending: Option<u64>,
}

/// One verifier's metrics; clones share them.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Where a metric is recorded from (the recorder's `Metadata`, unused by Prometheus).
const META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

impl Metrics {
    /// A fresh set of metrics, every one described.
    pub fn new() -> Metrics {
        // Rendered as a true histogram (buckets), which `histogram_quantile` reads; the buckets
        // are not empty, so the builder does not refuse them.
        let recorder = match PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(PROVIDER_CALL_SECONDS.to_owned()), &CALL_BUCKETS)
        {
            Ok(builder) => builder.build_recorder(),
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let text = SharedString::const_str;
        let name = KeyName::from_const_str;
        for (counter, help) in [
            (HTTP_REQUESTS, "HTTP requests answered, by route pattern, method and status."),
            (PAYMENTS_STARTED, "Payment attempts recorded and sent to a provider."),
            (PAYMENTS_SUCCEEDED, "Payment attempts that succeeded."),
            (PAYMENTS_FAILED, "Payment attempts that failed, expired or went to review, by code."),
            (PROVIDER_CALL_ERRORS, "Calls to a provider's API that failed, by kind."),
            (WEBHOOKS_RECEIVED, "Provider notifications verified and stored."),
            (WEBHOOKS_REFUSED, "Provider notifications refused, by reason."),
            (DELIVERIES_FAILED, "Merchant webhook deliveries that exhausted their retries."),
        ] {
            recorder.describe_counter(name(counter), None, text(help));
        }
        recorder.describe_histogram(
            name(PROVIDER_CALL_SECONDS),
            Some(Unit::Seconds),
            text("Calls to a provider's API, by duration."),
        );
        recorder.describe_gauge(
            name(DELIVERIES_PENDING),
            None,
            text("Merchant webhook deliveries waiting to be sent or retried."),
        );
        recorder.describe_gauge(
            name(SSE_STREAMS_OPEN),
            None,
            text("Status streams (SSE) open on this instance."),
        );
        let metrics = Metrics { recorder: Arc::new(recorder) };
        metrics.zero(DELIVERIES_FAILED, Vec::new());
        metrics
    }

    /// Registers a counter at zero without counting.
    fn zero(&self, name: &'static str, labels: Vec<Label>) {
        let _ = self.recorder.register_counter(&Key::from_parts(name, labels), &META);
    }

    /// Starts `provider`'s failure counters at zero, so that rates and alerts over them have a
    /// series before the first failure
    /// (<https://prometheus.io/docs/practices/instrumentation/#avoid-missing-metrics>).
    pub fn expect_provider(&self, provider: Provider) {
        let p = || Label::new("provider", provider.as_str());
        for kind in CallError::ALL {
            self.zero(PROVIDER_CALL_ERRORS, vec![p(), Label::new("kind", kind.as_str())]);
        }
        self.zero(WEBHOOKS_RECEIVED, vec![p()]);
        for why in [Refusal::Unverified, Refusal::Malformed] {
            self.zero(WEBHOOKS_REFUSED, vec![p(), Label::new("reason", why.as_str())]);
        }
    }

    fn count(&self, name: &'static str, labels: Vec<Label>) {
        self.recorder.register_counter(&Key::from_parts(name, labels), &META).increment(1);
    }

    /// A request answered: `route` is the matched route's pattern (`unmatched` for none).
    pub fn http_request(&self, route: &str, method: &axum::http::Method, status: u16) {
        self.count(
            HTTP_REQUESTS,
            vec![
                Label::new("route", route.to_owned()),
                Label::new("method", method.as_str().to_owned()),
                Label::new("status", status.to_string()),
            ],
        );
    }

    /// An attempt recorded and about to be sent to `provider`.
    pub fn payment_started(&self, provider: Provider, method: PaymentMethod) {
        self.count(PAYMENTS_STARTED, payment_labels(provider, method));
    }

    /// An attempt that became `succeeded`.
    pub fn payment_succeeded(&self, provider: Provider, method: PaymentMethod) {
        self.count(PAYMENTS_SUCCEEDED, payment_labels(provider, method));
    }

    /// An attempt that became `failed`, `expired` or `review`: `code` is the catalogue's code
    /// of its failure, or the state's name when it has none (`expired`, `review`).
    pub fn payment_failed(&self, provider: Provider, method: PaymentMethod, code: FailureLabel) {
        let mut labels = payment_labels(provider, method);
        labels.push(Label::new("code", code.as_str()));
        self.count(PAYMENTS_FAILED, labels);
    }

    /// A call to `provider` that took `elapsed`, and how it failed, if it did.
    pub fn provider_call(&self, provider: Provider, elapsed: Duration, error: Option<CallError>) {
        let key = Key::from_parts(PROVIDER_CALL_SECONDS, vec![Label::new("provider", provider.as_str())]);
        self.recorder.register_histogram(&key, &META).record(elapsed.as_secs_f64());
        if let Some(error) = error {
            self.count(
                PROVIDER_CALL_ERRORS,
                vec![Label::new("provider", provider.as_str()), Label::new("kind", error.as_str())],
            );
        }
    }

    /// A notification from `provider` verified and stored (a repeat included).
    pub fn webhook_received(&self, provider: Provider) {
        self.count(WEBHOOKS_RECEIVED, vec![Label::new("provider", provider.as_str())]);
    }

    /// A notification from `provider` refused.
    pub fn webhook_refused(&self, provider: Provider, why: Refusal) {
        self.count(
            WEBHOOKS_REFUSED,
            vec![Label::new("provider", provider.as_str()), Label::new("reason", why.as_str())],
        );
    }

    /// A merchant delivery that exhausted its retries.
    pub fn delivery_failed(&self) {
        self.count(DELIVERIES_FAILED, Vec::new());
    }

    /// The Prometheus text exposition (format 0.0.4), with `gauges` as read now.
    pub fn render(&self, gauges: Gauges) -> String {
        let gauge = |name: &'static str| self.recorder.register_gauge(&Key::from_static_name(name), &META);
        gauge(SSE_STREAMS_OPEN).set(gauges.sse_streams_open as f64);
        if let Some(pending) = gauges.deliveries_pending {
            gauge(DELIVERIES_PENDING).set(pending as f64);
        }
        // Drains the histograms' samples into their buckets before rendering them.
        self.recorder.handle().run_upkeep();
        self.recorder.handle().render()
    }
}

fn payment_labels(provider: Provider, method: PaymentMethod) -> Vec<Label> {
    vec![Label::new("provider", provider.as_str()), Label::new("method", method.as_str())]
}

/// The `code` label of [`PAYMENTS_FAILED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureLabel {
    /// The catalogue's code (`PROVIDER_UNAVAILABLE`, `INSUFFICIENT_FUNDS`, …).
    Code(ErrorCode),
    /// Expired without a code.
    Expired,
    /// Paid, but not as asked (amount, currency or reference): held for review.
    Review,
    /// Failed without a code.
    Unknown,
}

impl FailureLabel {
    fn as_str(self) -> &'static str {
        match self {
            FailureLabel::Code(code) => code.as_str(),
            FailureLabel::Expired => "expired",
            FailureLabel::Review => "review",
            FailureLabel::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `line_start` (name and labels as rendered) in `text`.
    fn sample(text: &str, line_start: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
    }

    #[test]
    fn counters_histograms_and_gauges_render_with_their_labels() {
        let m = Metrics::new();
        m.payment_started(Provider::NovaSend, PaymentMethod::OrangeMoney);
        m.payment_started(Provider::NovaSend, PaymentMethod::OrangeMoney);
        m.payment_failed(
            Provider::CaurisFlux,
            PaymentMethod::MtnMomo,
            FailureLabel::Code(ErrorCode::ProviderUnavailable),
        );
        m.provider_call(Provider::NovaSend, Duration::from_millis(70), None);
        m.provider_call(Provider::NovaSend, Duration::from_secs(3), Some(CallError::ServerError));
        m.http_request("/v1/checkouts/{id}", &axum::http::Method::GET, 401);
        let text = m.render(Gauges { sse_streams_open: 3, deliveries_pending: Some(7) });
        assert_eq!(
            sample(&text, "verifier_payments_started_total{provider=\"nova_send\",method=\"orange_money\"}"),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                "verifier_payments_failed_total{provider=\"cauris_flux\",method=\"mtn_momo\",code=\"PROVIDER_UNAVAILABLE\"}"
            ),
            Some(1.0),
            "{text}"
        );
        let bucket = |le: &str| {
            sample(
                &text,
                &format!(
                    "verifier_provider_call_duration_seconds_bucket{{provider=\"nova_send\",le=\"{le}\"}}"
                ),
            )
        };
        assert_eq!(
            (bucket("0.1"), bucket("2.5"), bucket("5"), bucket("+Inf")),
            (Some(1.0), Some(1.0), Some(2.0), Some(2.0)),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                "verifier_provider_call_errors_total{provider=\"nova_send\",kind=\"server_error\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "verifier_http_requests_total{route=\"/v1/checkouts/{id}\",method=\"GET\",status=\"401\"}"
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(sample(&text, "verifier_sse_streams_open"), Some(3.0));
        assert_eq!(sample(&text, "verifier_merchant_deliveries_pending"), Some(7.0));
        assert!(text.contains("# HELP verifier_payments_started_total"), "{text}");
        assert!(text.contains("# TYPE verifier_provider_call_duration_seconds histogram"), "{text}");
    }

    #[test]
    fn two_verifiers_count_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.delivery_failed();
        let none = Gauges { sse_streams_open: 0, deliveries_pending: None };
        assert_eq!(sample(&a.render(none), "verifier_merchant_deliveries_failed_total"), Some(1.0));
        assert_eq!(sample(&b.render(none), "verifier_merchant_deliveries_failed_total"), Some(0.0));
    }

    #[test]
    fn an_expected_provider_has_its_failure_series_from_the_start() {
        let m = Metrics::new();
        m.expect_provider(Provider::Scalapay);
        let text = m.render(Gauges { sse_streams_open: 0, deliveries_pending: None });
        let zero = |line: &str| assert_eq!(sample(&text, line), Some(0.0), "{line}: {text}");
        zero("verifier_provider_call_errors_total{provider=\"scalapay\",kind=\"timeout\"}");
        zero("verifier_provider_call_errors_total{provider=\"scalapay\",kind=\"unauthorized\"}");
        zero("verifier_webhooks_received_total{provider=\"scalapay\"}");
        zero("verifier_webhooks_refused_total{provider=\"scalapay\",reason=\"unverified\"}");
        assert!(!text.contains("nova_send"), "only the expected provider: {text}");
    }

    #[test]
    fn only_failing_statuses_are_call_errors() {
        assert_eq!(CallError::of_status(200), None);
        assert_eq!(CallError::of_status(404), None);
        assert_eq!(CallError::of_status(400), None);
        assert_eq!(CallError::of_status(401), Some(CallError::Unauthorized));
        assert_eq!(CallError::of_status(429), Some(CallError::RateLimited));
        assert_eq!(CallError::of_status(503), Some(CallError::ServerError));
    }
}
