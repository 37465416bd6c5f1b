//! The dashboard's handlers and the views their templates show. Handlers are thin: they
//! check the session (and on a POST its CSRF token), call one domain function, and render;
//! the views only format (amounts, times, masked numbers, words of [`super::i18n`]).

use askama::Template;
use axum::{
    Extension, Form,
    extract::{FromRequestParts, Path, Query, State},
    http::{StatusCode, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use shared::{
    api::CreateRefund,
    locale::Locale,
    method::Provider,
    money::{Currency, Money},
    phone::PhoneNumber,
};

use super::{
    charts,
    i18n::{self, Texts},
    session::{self, LoggedIn, Sessions},
};
use crate::{
    error::AppError,
    outbox::Outbox,
    routes::AppState,
    store::overview::{DayTotals, Overview, Window},
};

/// Whether browsers reach the verifier over HTTPS (the session cookie is then `Secure`).
#[derive(Debug, Clone, Copy)]
pub struct Https(pub bool);

/// How many UTC days the overview shows, today included.
pub const OVERVIEW_DAYS: u32 = 30;

/// The request's language ([`i18n::pick`]).
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub Locale);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let picked = parts.uri.query().and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")));
        Ok(Lang(i18n::pick(picked, &parts.headers)))
    }
}

/// What every page's frame shows: its words, its heading, and the session's CSRF token (empty
/// when logged out: no menu, no logout form).
#[derive(Debug)]
pub struct Frame {
    /// The page's language's texts.
    pub t: &'static Texts,
    /// The page's `<h1>` and title.
    pub heading: String,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// Where the language switch leads: this page in the other language (`?lang=…`) unless
    /// [`Frame::switch_at`] names a page to show instead (a POST's result cannot be fetched
    /// again, and the payments' filters are kept).
    pub lang_href: String,
}

impl Frame {
    fn new(locale: Locale, heading: impl Into<String>, session: Option<&LoggedIn>) -> Frame {
        Frame {
            t: i18n::texts(locale),
            heading: heading.into(),
            csrf: session.map(|s| s.session.csrf().to_owned()).unwrap_or_default(),
            lang_href: format!("?lang={}", i18n::texts(locale).other_lang),
        }
    }

    /// The language switch leads to `path` (a GET page, with its query if any) in the other
    /// language.
    fn switch_at(mut self, path: &str) -> Frame {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.lang_href = format!("{path}{sep}lang={}", self.t.other_lang);
        self
    }
}

/// A page that could not be shown: its status and a message for the merchant.
#[derive(Debug, Template)]
#[template(path = "dashboard/error.html")]
pub struct ErrorPage {
    frame: Frame,
    message: String,
    status: StatusCode,
}

impl ErrorPage {
    fn new(
        locale: Locale,
        status: StatusCode,
        message: impl Into<String>,
        session: Option<&LoggedIn>,
    ) -> Self {
        let t = i18n::texts(locale);
        ErrorPage { frame: Frame::new(locale, t.error_heading, session), message: message.into(), status }
    }

    /// The page for a domain error: its status, and its message unless it is the server's
    /// fault (then only that it failed; the cause is logged).
    fn of(locale: Locale, e: AppError, session: Option<&LoggedIn>) -> Self {
        let t = i18n::texts(locale);
        let message = match &e {
            AppError::NotFound => t.not_found.to_owned(),
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "dashboard page failed");
                return ErrorPage::new(locale, StatusCode::INTERNAL_SERVER_ERROR, t.error_server, session);
            }
            AppError::Refused { code, .. } => code.message(locale).to_owned(),
            other => other.to_string(),
        };
        ErrorPage::new(locale, e.into_response().status(), message, session)
    }

    fn forbidden(locale: Locale, session: &LoggedIn) -> Self {
        ErrorPage::new(locale, StatusCode::FORBIDDEN, i18n::texts(locale).forbidden, Some(session))
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let status = self.status;
        (status, render(&self)).into_response()
    }
}

/// A login its rate limit refused (`[limits] login_per_ip`): the error page in the request's
/// language, `429` and `Retry-After` kept, instead of the API's JSON a browser would show raw.
pub async fn login_limited(Lang(locale): Lang, response: Response) -> Response {
    if response.status() != StatusCode::TOO_MANY_REQUESTS {
        return response;
    }
    let retry = response.headers().get(axum::http::header::RETRY_AFTER).cloned();
    let seconds = retry.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("60").to_owned();
    let message = format!("{} {seconds}", i18n::texts(locale).login_too_many);
    let mut page = ErrorPage::new(locale, StatusCode::TOO_MANY_REQUESTS, message, None).into_response();
    if let Some(v) = retry {
        page.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    page
}

/// A template rendered, or the server's error.
fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a dashboard page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

type PageResult = Result<Response, ErrorPage>;

/// Every POST's first step: the form's CSRF token must be the session's
/// ([`super::session::Session::csrf_ok`]), else the forbidden page and nothing done.
fn require_csrf(locale: Locale, me: &LoggedIn, token: &str) -> Result<(), ErrorPage> {
    if me.session.csrf_ok(token) { Ok(()) } else { Err(ErrorPage::forbidden(locale, me)) }
}

/// Unix seconds as `2026-12-07 19:04` (UTC).
fn utc(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// An RFC 3339 time of the API's views, shown as [`utc`] does.
fn utc_text(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| utc(t.unix_timestamp()))
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// A customer's number as merchant-facing pages show it: masked, never whole.
pub fn masked_phone(phone: Option<&str>) -> String {
    match phone {
        Some(p) => PhoneNumber::parse_e164(p).map(|n| n.masked()).unwrap_or_else(|_| "•••".to_owned()),
        None => String::new(),
    }
}

/// An amount in minor units of `currency`, as the merchant reads it.
fn amount(minor: u64, currency: Currency, locale: Locale) -> String {
    Money::new(minor, currency)
        .map(|m| m.display(locale))
        .unwrap_or_else(|_| format!("{minor} {}", currency.code()))
}

/// A provider's name as its brand writes it.
pub fn provider_name(p: Provider) -> &'static str {
    match p {
        Provider::NovaSend => "NovaSend",
        Provider::CaurisFlux => "CaurisFlux",
        Provider::MyPvit => "MyPVit",
        Provider::Scalapay => "Scalapay",
    }
}

// ---- Login ----

#[derive(Debug, Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    frame: Frame,
    error: String,
}

/// `GET /dashboard/login`.
pub async fn login_page(Lang(locale): Lang) -> Response {
    let t = i18n::texts(locale);
    render(&LoginPage { frame: Frame::new(locale, t.login_heading, None), error: String::new() })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    key: String,
}

/// `POST /dashboard/login`: the key checked as the merchant API checks it; a session cookie
/// when it is accepted, the form again (401) when not.
pub async fn login(
    Lang(locale): Lang,
    State(state): State<AppState>,
    Extension(sessions): Extension<Sessions>,
    Extension(Https(https)): Extension<Https>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let t = i18n::texts(locale);
    let key = form.key.trim();
    match state.merchant_keys.authenticate(key).await {
        Ok(true) => {
            let id = sessions.open(key);
            tracing::info!("dashboard login");
            (jar.add(session::cookie(id, https)), Redirect::to("/dashboard")).into_response()
        }
        Ok(false) => {
            tracing::info!("dashboard login refused");
            let page =
                LoginPage { frame: Frame::new(locale, t.login_heading, None), error: t.login_refused.into() };
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
        Err(e) => ErrorPage::of(locale, AppError::Internal(anyhow::Error::new(e)), None).into_response(),
    }
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/logout`: ends the session (here, not only in the browser).
pub async fn logout(
    Lang(locale): Lang,
    me: LoggedIn,
    Extension(sessions): Extension<Sessions>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    sessions.close(&me.id);
    Ok((jar.remove(session::removal()), Redirect::to("/dashboard/login")).into_response())
}

// ---- Overview ----

/// One chart with the table that says the same.
#[derive(Debug)]
struct ChartView {
    id: &'static str,
    title: &'static str,
    svg: String,
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

#[derive(Debug, Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    frame: Frame,
    charts: Vec<ChartView>,
    median: String,
}

/// `GET /dashboard`: the last [`OVERVIEW_DAYS`] UTC days at a glance.
pub async fn overview(Lang(locale): Lang, me: LoggedIn, State(state): State<AppState>) -> PageResult {
    let t = i18n::texts(locale);
    let window = Window::last_days(crate::checkouts::now(), OVERVIEW_DAYS);
    let read = state.checkouts.store().overview(window).await;
    let o = read.map_err(|e| ErrorPage::of(locale, e.into(), Some(&me)))?;
    let charts =
        overview_charts(&o, locale).map_err(|e| ErrorPage::of(locale, AppError::Internal(e), Some(&me)))?;
    let median = o.median_seconds_to_pay.map_or_else(|| t.none.to_owned(), |s| format!("{s} {}", t.seconds));
    Ok(render(&OverviewPage { frame: Frame::new(locale, t.overview_heading, Some(&me)), charts, median }))
}

/// The overview's charts and tables.
fn overview_charts(o: &Overview, locale: Locale) -> anyhow::Result<Vec<ChartView>> {
    let t = i18n::texts(locale);
    let days: Vec<i64> = o.window.days().collect();
    let labels: Vec<String> =
        days.iter().map(|d| utc(*d).get(5..10).unwrap_or_default().to_owned()).collect();
    let per_day = |f: &dyn Fn(&DayTotals) -> u64, currency: Option<Currency>| -> Vec<u64> {
        days.iter()
            .map(|day| {
                o.days
                    .iter()
                    .filter(|d| d.day == *day && currency.is_none_or(|c| d.currency == c))
                    .map(f)
                    .sum()
            })
            .collect()
    };
    let mut out = Vec::new();
    // Volume per day, every currency.
    let created = per_day(&|d: &DayTotals| d.checkouts, None);
    let paid = per_day(&|d: &DayTotals| d.paid, None);
    out.push(ChartView {
        id: "volume",
        title: t.chart_volume,
        svg: charts::daily_bars(&labels, &created, &paid, t.col_checkouts, t.col_paid)?.svg,
        head: vec![t.col_day, t.col_checkouts, t.col_paid],
        rows: days
            .iter()
            .zip(created.iter().zip(&paid))
            .filter(|(_, (c, _))| **c > 0)
            .map(|(d, (c, p))| {
                vec![utc(*d).get(..10).unwrap_or_default().to_owned(), c.to_string(), p.to_string()]
            })
            .collect(),
    });
    // Amounts per day, one chart per currency seen (most merchants have one).
    let mut currencies: Vec<Currency> = o.days.iter().map(|d| d.currency).collect();
    currencies.sort_by_key(|c| c.code());
    currencies.dedup();
    for currency in currencies {
        let paid = per_day(&|d: &DayTotals| d.paid_minor, Some(currency));
        let refunded = per_day(&|d: &DayTotals| d.refunded_minor, Some(currency));
        out.push(ChartView {
            id: match currency {
                Currency::Xof => "amount-xof",
                Currency::Xaf => "amount-xaf",
                Currency::Eur => "amount-eur",
            },
            title: t.chart_amount,
            svg: charts::daily_bars(&labels, &paid, &refunded, t.col_paid_amount, t.col_refunded)?.svg,
            head: vec![t.col_day, t.col_paid_amount, t.col_refunded],
            rows: days
                .iter()
                .zip(paid.iter().zip(&refunded))
                .filter(|(_, (p, r))| **p > 0 || **r > 0)
                .map(|(d, (p, r))| {
                    vec![
                        utc(*d).get(..10).unwrap_or_default().to_owned(),
                        amount(*p, currency, locale),
                        amount(*r, currency, locale),
                    ]
                })
                .collect(),
        });
    }
    let rate = |succeeded: u64, attempts: u64| {
        if attempts == 0 { 0.0 } else { succeeded as f64 * 100.0 / attempts as f64 }
    };
    let rate_rows = |name: String, attempts: u64, succeeded: u64| {
        vec![name, attempts.to_string(), succeeded.to_string(), format!("{:.0} %", rate(succeeded, attempts))]
    };
    let names: Vec<String> = o.providers.iter().map(|p| provider_name(p.key).to_owned()).collect();
    let values: Vec<f64> = o.providers.iter().map(|p| rate(p.succeeded, p.attempts)).collect();
    out.push(ChartView {
        id: "providers",
        title: t.chart_providers,
        svg: charts::horizontal_bars(&names, &values, 100.0, " %")?.svg,
        head: vec![t.col_provider, t.col_attempts, t.col_succeeded, t.col_rate],
        rows: o.providers.iter().zip(names).map(|(p, n)| rate_rows(n, p.attempts, p.succeeded)).collect(),
    });
    let names: Vec<String> = o.methods.iter().map(|m| m.key.label(locale).to_owned()).collect();
    let values: Vec<f64> = o.methods.iter().map(|m| rate(m.succeeded, m.attempts)).collect();
    out.push(ChartView {
        id: "methods",
        title: t.chart_methods,
        svg: charts::horizontal_bars(&names, &values, 100.0, " %")?.svg,
        head: vec![t.col_method, t.col_attempts, t.col_succeeded, t.col_rate],
        rows: o.methods.iter().zip(names).map(|(m, n)| rate_rows(n, m.attempts, m.succeeded)).collect(),
    });
    let names: Vec<String> = o
        .failures
        .iter()
        .map(|f| f.failure.map_or_else(|| t.no_failure_code.to_owned(), |c| c.as_str().to_owned()))
        .collect();
    let values: Vec<f64> = o.failures.iter().map(|f| f.count as f64).collect();
    let most = values.iter().copied().fold(0.0, f64::max);
    out.push(ChartView {
        id: "failures",
        title: t.chart_failures,
        svg: charts::horizontal_bars(&names, &values, most.max(1.0), "")?.svg,
        head: vec![t.col_failure, t.col_reason, t.col_count],
        rows: o
            .failures
            .iter()
            .zip(names)
            .map(|(f, n)| {
                vec![
                    n,
                    f.failure.map(|c| c.message(locale).to_owned()).unwrap_or_default(),
                    f.count.to_string(),
                ]
            })
            .collect(),
    });
    Ok(out)
}

// ---- Payments ----

/// One row of the payments table.
#[derive(Debug)]
struct PaymentRow {
    id: String,
    reference: String,
    amount: String,
    customer: String,
    provider: &'static str,
    method: &'static str,
    status: &'static str,
    time: String,
}

/// A choice of a filter's `<select>`.
#[derive(Debug)]
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Debug, Template)]
#[template(path = "dashboard/payments.html")]
struct PaymentsPage {
    frame: Frame,
    q: String,
    statuses: Vec<Choice>,
    providers: Vec<Choice>,
    methods: Vec<Choice>,
    rows: Vec<PaymentRow>,
    next: String,
}

/// The payments table's query: a search, filters, and where the page starts.
#[derive(Debug, Default, Deserialize)]
pub struct PaymentsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    method: String,
    /// `<created_at>.<id>` of the previous page's last row.
    #[serde(default)]
    after: String,
}

/// Rows per page.
pub const PAGE_ROWS: u32 = 25;

/// What the search box holds: a phone number (E.164, or national in one of the supported
/// countries) searches by the customer's number, anything else by the exact reference.
fn search(q: &str) -> (Option<String>, Option<String>) {
    let q = q.trim();
    if q.is_empty() {
        return (None, None);
    }
    let digits: String = q.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    let phone = PhoneNumber::parse_e164(&digits)
        .ok()
        .or_else(|| shared::phone::Country::ALL.iter().find_map(|c| PhoneNumber::parse(&digits, *c).ok()));
    match phone {
        Some(p) if digits.bytes().all(|b| b.is_ascii_digit() || b == b'+') => {
            (None, Some(p.as_e164().to_owned()))
        }
        _ => (Some(q.to_owned()), None),
    }
}

/// The payments page with `query`'s search and filters (not its page cursor).
fn filters_path(query: &PaymentsQuery) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in
        [("q", &query.q), ("status", &query.status), ("provider", &query.provider), ("method", &query.method)]
    {
        if !value.is_empty() {
            url.append_pair(name, value);
        }
    }
    let query = url.finish();
    if query.is_empty() { "/dashboard/payments".to_owned() } else { format!("/dashboard/payments?{query}") }
}

/// `GET /dashboard/payments`: the checkouts, newest first, searchable and filtered, a page at a
/// time (the next page continues after the last row shown).
pub async fn payments(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Query(query): Query<PaymentsQuery>,
) -> PageResult {
    use shared::{method::PaymentMethod, status::CheckoutStatus};
    let t = i18n::texts(locale);
    let (reference, phone) = search(&query.q);
    let after = query.after.split_once('.').and_then(|(at, id)| {
        Some(crate::store::query::ListCursor { created_at: at.parse().ok()?, id: id.to_owned() })
    });
    let status = CheckoutStatus::parse(&query.status);
    let provider = Provider::parse(&query.provider);
    let method = PaymentMethod::parse(&query.method);
    let list = crate::store::query::CheckoutQuery {
        status,
        provider,
        method,
        reference,
        phone,
        after,
        limit: PAGE_ROWS + 1,
        ..Default::default()
    };
    let mut found = state
        .checkouts
        .store()
        .list_checkouts(&list)
        .await
        .map_err(|e| ErrorPage::of(locale, e.into(), Some(&me)))?;
    let more = found.len() > PAGE_ROWS as usize;
    found.truncate(PAGE_ROWS as usize);
    let next = match (more, found.last()) {
        (true, Some((c, _))) => {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("after", &format!("{}.{}", c.created_at, c.id));
            let filters = filters_path(&query);
            match filters.split_once('?') {
                Some((_, rest)) => format!("?{}&{rest}", url.finish()),
                None => format!("?{}", url.finish()),
            }
        }
        _ => String::new(),
    };
    let rows = found
        .iter()
        .map(|(c, a)| PaymentRow {
            id: c.id.clone(),
            reference: c.reference.clone(),
            amount: c.money.display(locale),
            customer: masked_phone(a.as_ref().and_then(|a| a.phone.as_deref())),
            provider: a.as_ref().map_or("", |a| provider_name(a.provider)),
            method: a.as_ref().map_or("", |a| a.method.label(locale)),
            status: i18n::status(locale, c.status.as_str()),
            time: utc(c.created_at),
        })
        .collect();
    let choices = |all: Vec<(&'static str, String)>, picked: &str| {
        all.into_iter().map(|(value, label)| Choice { value, selected: value == picked, label }).collect()
    };
    Ok(render(&PaymentsPage {
        frame: Frame::new(locale, t.payments_heading, Some(&me)).switch_at(&filters_path(&query)),
        q: query.q.clone(),
        statuses: choices(
            CheckoutStatus::ALL
                .iter()
                .map(|s| (s.as_str(), i18n::status(locale, s.as_str()).to_owned()))
                .collect(),
            &query.status,
        ),
        providers: choices(
            Provider::ALL.iter().map(|p| (p.as_str(), provider_name(*p).to_owned())).collect(),
            &query.provider,
        ),
        methods: choices(
            [
                PaymentMethod::MobileMoney,
                PaymentMethod::OrangeMoney,
                PaymentMethod::MtnMomo,
                PaymentMethod::MoovMoney,
                PaymentMethod::Wave,
                PaymentMethod::AirtelMoney,
                PaymentMethod::Card,
            ]
            .iter()
            .map(|m| (m.as_str(), m.label(locale).to_owned()))
            .collect(),
            &query.method,
        ),
        rows,
        next,
    }))
}

// ---- A checkout ----

#[derive(Debug)]
struct AttemptView {
    id: String,
    provider: &'static str,
    method: &'static str,
    customer: String,
    status: &'static str,
    failure: String,
    created: String,
}

#[derive(Debug)]
struct ChangeView {
    at: String,
    subject: String,
    from: &'static str,
    to: &'static str,
    cause: &'static str,
    detail: String,
}

#[derive(Debug)]
struct RefundView {
    id: String,
    amount: String,
    status: &'static str,
    reason: String,
    failure: String,
    created: String,
}

#[derive(Debug)]
struct EventView {
    id: String,
    kind: &'static str,
    created: String,
    delivery: &'static str,
    attempts: u32,
    last_answer: String,
    next: String,
}

#[derive(Debug, Template)]
#[template(path = "dashboard/checkout.html")]
struct CheckoutPage {
    frame: Frame,
    id: String,
    reference: String,
    short_reference: String,
    amount: String,
    status: &'static str,
    created: String,
    expires: String,
    description: String,
    done: String,
    refundable: bool,
    /// Open: nobody is paying it yet, the merchant may cancel it.
    cancellable: bool,
    attempts: Vec<AttemptView>,
    timeline: Vec<ChangeView>,
    refunds: Vec<RefundView>,
    events: Vec<EventView>,
}

/// `?done=` after an action: which one, to say it was done.
#[derive(Debug, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /dashboard/payments/{id}`: a checkout, its timeline, attempts, refunds and events.
pub async fn checkout(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> PageResult {
    let t = i18n::texts(locale);
    let fail = |e: AppError| ErrorPage::of(locale, e, Some(&me));
    let c = state.checkouts.merchant_view(&id).await.map_err(fail)?;
    let history = state.checkouts.history(&id).await.map_err(fail)?;
    let refunds = state.checkouts.refunds(&id).await.map_err(fail)?;
    let events = Outbox::new(state.checkouts.store().clone()).events_of(&id).await.map_err(fail)?;
    let status = |s: &str| i18n::status(locale, s);
    let page = CheckoutPage {
        frame: Frame::new(locale, format!("{} {}", t.checkout_heading, c.reference), Some(&me)),
        id: c.id.clone(),
        reference: c.reference.clone(),
        short_reference: c.short_reference.clone(),
        amount: amount(c.amount, c.currency, locale),
        status: status(c.status.as_str()),
        created: utc_text(&c.created_at),
        expires: utc_text(&c.expires_at),
        description: c.description.clone().unwrap_or_default(),
        done: match done.done.as_deref() {
            Some("refund") => t.refund_done.to_owned(),
            Some("redeliver") => t.redeliver_done.to_owned(),
            Some("cancel") => t.cancel_done.to_owned(),
            _ => String::new(),
        },
        cancellable: c.status == shared::status::CheckoutStatus::Open,
        refundable: matches!(
            c.status,
            shared::status::CheckoutStatus::Succeeded | shared::status::CheckoutStatus::PartiallyRefunded
        ),
        attempts: c
            .attempts
            .iter()
            .map(|a| AttemptView {
                id: a.id.clone(),
                provider: provider_name(a.provider),
                method: a.method.label(locale),
                customer: masked_phone(a.phone.as_deref()),
                status: status(a.status.as_str()),
                failure: a.failure.map(|f| f.message(locale).to_owned()).unwrap_or_default(),
                created: utc_text(&a.created_at),
            })
            .collect(),
        timeline: history
            .iter()
            .map(|h| {
                let (cause, detail) = i18n::cause(locale, &h.cause);
                ChangeView {
                    at: utc(h.at),
                    subject: h.attempt_id.clone().unwrap_or_else(|| t.checkout_word.to_owned()),
                    from: h.from.as_deref().map_or("", status),
                    to: status(&h.to),
                    cause,
                    detail,
                }
            })
            .collect(),
        refunds: refunds
            .iter()
            .map(|r| RefundView {
                id: r.id.clone(),
                amount: amount(r.amount, r.currency, locale),
                status: status(r.status.as_str()),
                reason: r.reason.clone().unwrap_or_default(),
                failure: r.failure.map(|f| f.message(locale).to_owned()).unwrap_or_default(),
                created: utc_text(&r.created_at),
            })
            .collect(),
        events: events
            .iter()
            .map(|e| EventView {
                id: e.id.clone(),
                kind: e.kind.as_str(),
                created: utc_text(&e.created_at),
                delivery: status(e.delivery.as_str()),
                attempts: e.attempts,
                last_answer: match (&e.last_status, &e.last_error) {
                    (Some(s), _) => format!("HTTP {s}"),
                    (None, Some(err)) => shared::phone::mask_phone_numbers(err).into_owned(),
                    (None, None) => String::new(),
                },
                next: e.next_attempt_at.as_deref().map(utc_text).unwrap_or_default(),
            })
            .collect(),
    };
    Ok(render(&page))
}

// ---- Refund ----

/// The refund form of a checkout's page.
#[derive(Debug, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    csrf: String,
    /// In major units as the merchant types it (`2500`, `12.50`); empty: all that is left.
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Template)]
#[template(path = "dashboard/refund_confirm.html")]
struct RefundConfirmPage {
    frame: Frame,
    id: String,
    reference: String,
    paid: String,
    amount_shown: String,
    amount_minor: String,
    reason: String,
    token: String,
}

/// `POST /dashboard/payments/{id}/refund/confirm`: what the refund will be, to confirm;
/// changes nothing.
pub async fn refund_confirm(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    let t = i18n::texts(locale);
    let c = state.checkouts.merchant_view(&id).await.map_err(|e| ErrorPage::of(locale, e, Some(&me)))?;
    let typed = form.amount.trim().replace(',', ".").replace([' ', '\u{a0}', '\u{202f}'], "");
    let (amount_shown, amount_minor) = if typed.is_empty() {
        (t.refund_all.to_owned(), String::new())
    } else {
        let money = Money::from_decimal_str(&typed, c.currency).map_err(|e| {
            ErrorPage::of(locale, AppError::invalid("amount", format!("{}: {e}", t.refund_amount)), Some(&me))
        })?;
        (money.display(locale), money.minor().to_string())
    };
    Ok(render(&RefundConfirmPage {
        frame: Frame::new(locale, t.refund_confirm_heading, Some(&me))
            .switch_at(&format!("/dashboard/payments/{}", c.id)),
        id: c.id,
        reference: c.reference,
        paid: amount(c.amount, c.currency, locale),
        amount_shown,
        amount_minor,
        reason: form.reason.trim().to_owned(),
        token: uuid::Uuid::new_v4().simple().to_string(),
    }))
}

/// The confirmed refund.
#[derive(Debug, Deserialize)]
pub struct RefundConfirmed {
    #[serde(default)]
    csrf: String,
    /// Minor units; empty: all that is left.
    #[serde(default)]
    amount_minor: String,
    #[serde(default)]
    reason: String,
    /// The confirmation page's own idempotency key: a second submit of the same page finds the
    /// same refund instead of making another.
    #[serde(default)]
    token: String,
}

/// `POST /dashboard/payments/{id}/refund`: the refund, through the merchant API's domain
/// function, then back to the checkout's page.
pub async fn refund(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<RefundConfirmed>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    let fail = |e: AppError| ErrorPage::of(locale, e, Some(&me));
    let amount = match form.amount_minor.trim() {
        "" => None,
        minor => Some(minor.parse::<u64>().map_err(|_| fail(AppError::invalid("amount", "not an amount")))?),
    };
    let reason = Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty());
    let key = Some(format!("dashboard-{}", form.token.trim())).filter(|_| !form.token.trim().is_empty());
    let done = state
        .checkouts
        .refund(&id, CreateRefund { amount, reason, attempt_id: None }, key.as_deref())
        .await
        .map_err(fail)?;
    Ok(Redirect::to(&format!("/dashboard/payments/{}?done=refund", done.checkout_id)).into_response())
}

// ---- Cancel ----

#[derive(Debug, Template)]
#[template(path = "dashboard/cancel_confirm.html")]
struct CancelConfirmPage {
    frame: Frame,
    id: String,
    reference: String,
    amount: String,
}

/// `POST /dashboard/payments/{id}/cancel/confirm`: the checkout to cancel, to confirm;
/// changes nothing.
pub async fn cancel_confirm(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    let t = i18n::texts(locale);
    let c = state.checkouts.merchant_view(&id).await.map_err(|e| ErrorPage::of(locale, e, Some(&me)))?;
    Ok(render(&CancelConfirmPage {
        frame: Frame::new(locale, t.cancel_confirm_heading, Some(&me))
            .switch_at(&format!("/dashboard/payments/{}", c.id)),
        id: c.id,
        reference: c.reference,
        amount: amount(c.amount, c.currency, locale),
    }))
}

/// `POST /dashboard/payments/{id}/cancel`: cancels the checkout through the merchant API's
/// domain function (only an open one; a second submit finds it cancelled and does no harm),
/// then back to its page.
pub async fn cancel(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    let done = state.checkouts.merchant_cancel(&id).await.map_err(|e| ErrorPage::of(locale, e, Some(&me)))?;
    Ok(Redirect::to(&format!("/dashboard/payments/{}?done=cancel", done.id)).into_response())
}

// ---- Redeliver ----

#[derive(Debug, Template)]
#[template(path = "dashboard/redeliver_confirm.html")]
struct RedeliverConfirmPage {
    frame: Frame,
    id: String,
    kind: &'static str,
    checkout_id: String,
}

/// `POST /dashboard/events/{id}/redeliver/confirm`: the event to send again, to confirm;
/// changes nothing.
pub async fn redeliver_confirm(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    let t = i18n::texts(locale);
    let fail = |e: AppError| ErrorPage::of(locale, e, Some(&me));
    let event = state
        .checkouts
        .store()
        .event(&id)
        .await
        .map_err(|e| fail(e.into()))?
        .ok_or_else(|| fail(AppError::NotFound))?;
    Ok(render(&RedeliverConfirmPage {
        frame: Frame::new(locale, t.redeliver_confirm_heading, Some(&me))
            .switch_at(&format!("/dashboard/payments/{}", event.checkout_id)),
        id: event.id,
        kind: event.kind.as_str(),
        checkout_id: event.checkout_id,
    }))
}

/// `POST /dashboard/events/{id}/redeliver`: queues the event again, then back to its
/// checkout's page.
pub async fn redeliver(
    Lang(locale): Lang,
    me: LoggedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    require_csrf(locale, &me, &form.csrf)?;
    let fail = |e: AppError| ErrorPage::of(locale, e, Some(&me));
    let store = state.checkouts.store().clone();
    let event =
        store.event(&id).await.map_err(|e| fail(e.into()))?.ok_or_else(|| fail(AppError::NotFound))?;
    Outbox::new(store).redeliver(&event.id).await.map_err(fail)?;
    Ok(Redirect::to(&format!("/dashboard/payments/{}?done=redeliver", event.checkout_id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_and_times_are_utc() {
        let shown = masked_phone(Some("+2250707123456"));
        assert!(shown.contains('•') && !shown.contains("0707123456"), "{shown}");
        assert_eq!(masked_phone(Some("not a number")), "•••");
        assert_eq!(masked_phone(None), "");
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text("1970-01-01T00:01:00Z"), "1970-01-01 00:01:00");
    }
}
