//! Reading the PostgreSQL store's rows into the store's records: every column read with
//! `try_get` (a column of an unexpected type is a store error, never a panic), every stored
//! text parsed back into its type.

use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::Country,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};
use sqlx::{Row, postgres::PgRow};

use crate::store::{
    AttemptRecord, AttemptUpdate, CheckoutRecord, MerchantKeyRecord, NotificationRecord, NotificationState,
    RefundRecord, Reported, StatusChange, StoreError,
};

/// A database failure as a store error (a server fault).
pub(super) fn other(e: sqlx::Error) -> StoreError {
    StoreError::Other(anyhow::Error::new(e))
}

/// A stored value that does not read back as its type.
pub(super) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unreadable {what} in the database: {value:?}"))
}

/// One column, typed.
pub(super) fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(other)
}

/// A BIGINT amount as minor units of `currency`.
fn money(amount: i64, currency: Currency, what: &str) -> Result<Money, StoreError> {
    u64::try_from(amount)
        .ok()
        .and_then(|a| Money::new(a, currency).ok())
        .ok_or_else(|| corrupt(what, &amount.to_string()))
}

/// A stored count (never negative) as `u32`.
pub(super) fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

pub(super) fn failure(f: Option<String>) -> Result<Option<ErrorCode>, StoreError> {
    f.map(|f| ErrorCode::parse(&f).ok_or_else(|| corrupt("failure", &f))).transpose()
}

pub(super) fn currency(code: &str) -> Result<Currency, StoreError> {
    Currency::parse(code).map_err(|_| corrupt("currency", code))
}

pub(super) fn checkout(row: &PgRow) -> Result<CheckoutRecord, StoreError> {
    let currency = currency(&get::<String>(row, "currency")?)?;
    let country: String = get(row, "country")?;
    let status: String = get(row, "status")?;
    Ok(CheckoutRecord {
        id: get(row, "id")?,
        reference: get(row, "reference")?,
        money: money(get(row, "amount")?, currency, "amount")?,
        country: Country::parse(&country).ok_or_else(|| corrupt("country", &country))?,
        description: get(row, "description")?,
        return_url: get(row, "return_url")?,
        customer: match get::<Option<String>>(row, "customer_json")? {
            Some(json) => Some(serde_json::from_str(&json).map_err(|_| corrupt("customer", &json))?),
            None => None,
        },
        status: CheckoutStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        livemode: get(row, "livemode")?,
        client_secret_hash: get(row, "client_secret_hash")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// The column `name` under the prefix `p`.
fn col(p: &str, name: &str) -> String {
    format!("{p}{name}")
}

pub(super) fn attempt(row: &PgRow) -> Result<AttemptRecord, StoreError> {
    attempt_as(row, "")
}

/// An attempt from columns named with a prefix (`a_id`, `a_status`, …) beside others.
pub(super) fn attempt_as(row: &PgRow, p: &str) -> Result<AttemptRecord, StoreError> {
    let provider: String = get(row, &col(p, "provider"))?;
    let method: String = get(row, &col(p, "method"))?;
    let status: String = get(row, &col(p, "status"))?;
    Ok(AttemptRecord {
        id: get(row, &col(p, "id"))?,
        checkout_id: get(row, &col(p, "checkout_id"))?,
        provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
        method: PaymentMethod::parse(&method).ok_or_else(|| corrupt("method", &method))?,
        phone: get(row, &col(p, "phone"))?,
        status: AttemptStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        failure: failure(get(row, &col(p, "failure"))?)?,
        idempotency_key: get(row, &col(p, "idempotency_key"))?,
        provider_reference: get(row, &col(p, "provider_reference"))?,
        payment_url: get(row, &col(p, "payment_url"))?,
        reported: reported_as(row, p)?,
        created_at: get(row, &col(p, "created_at"))?,
        updated_at: get(row, &col(p, "updated_at"))?,
    })
}

/// The `reported_*` columns of an attempt row (under the prefix `p`), if any is set.
fn reported_as(row: &PgRow, p: &str) -> Result<Option<Reported>, StoreError> {
    let unsigned = |v: Option<i64>, what: &str| {
        v.map(|a| u64::try_from(a).map_err(|_| corrupt(what, &a.to_string()))).transpose()
    };
    let reported = Reported {
        amount: unsigned(get(row, &col(p, "reported_amount"))?, "reported amount")?,
        unreadable_amount: get(row, &col(p, "reported_amount_text"))?,
        currency: get(row, &col(p, "reported_currency"))?,
        reference: get(row, &col(p, "reported_reference"))?,
        charged: unsigned(get(row, &col(p, "reported_charged"))?, "charged amount")?,
    };
    Ok((!reported.is_empty()).then_some(reported))
}

/// A refund row read with its checkout's currency (column `checkout_currency`).
pub(super) fn refund(row: &PgRow) -> Result<RefundRecord, StoreError> {
    let currency = currency(&get::<String>(row, "checkout_currency")?)?;
    let status: String = get(row, "status")?;
    Ok(RefundRecord {
        id: get(row, "id")?,
        checkout_id: get(row, "checkout_id")?,
        attempt_id: get(row, "attempt_id")?,
        amount: money(get(row, "amount")?, currency, "refund amount")?,
        status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refund status", &status))?,
        reason: get(row, "reason")?,
        failure: failure(get(row, "failure")?)?,
        provider_reference: get(row, "provider_reference")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) fn notification(row: &PgRow) -> Result<NotificationRecord, StoreError> {
    let provider: String = get(row, "provider")?;
    let state: String = get(row, "state")?;
    let update = match get::<Option<String>>(row, "update_status")? {
        Some(s) => Some(AttemptUpdate {
            status: AttemptStatus::parse(&s).ok_or_else(|| corrupt("notification status", &s))?,
            failure: failure(get(row, "update_failure")?)?,
            provider_reference: get(row, "update_provider_reference")?,
            payment_url: get(row, "update_payment_url")?,
            reported: match get::<Option<String>>(row, "update_reported")? {
                Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("reported", &json))?,
                None => Reported::default(),
            },
        }),
        None => None,
    };
    Ok(NotificationRecord {
        id: get(row, "id")?,
        provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
        dedup_key: get(row, "dedup_key")?,
        verified: get(row, "verified")?,
        state: NotificationState::parse(&state).ok_or_else(|| corrupt("notification state", &state))?,
        duplicate_of: get(row, "duplicate_of")?,
        reference: get(row, "reference")?,
        update,
        body: get(row, "body")?,
        attempts: count(get(row, "attempts")?),
        last_error: get(row, "last_error")?,
        outcome: get(row, "outcome")?,
        received_at_ms: get(row, "received_at_ms")?,
        processed_at_ms: get(row, "processed_at_ms")?,
    })
}

pub(super) fn status_change(row: &PgRow) -> Result<StatusChange, StoreError> {
    Ok(StatusChange {
        at: get(row, "created_at")?,
        attempt_id: get(row, "attempt_id")?,
        from: get(row, "from_status")?,
        to: get(row, "to_status")?,
        cause: get(row, "cause")?,
    })
}

pub(super) fn merchant_key(row: &PgRow) -> Result<MerchantKeyRecord, StoreError> {
    let mode: String = get(row, "mode")?;
    Ok(MerchantKeyRecord {
        id: get(row, "id")?,
        mode: match mode.as_str() {
            "test" => crate::config::Mode::Test,
            "live" => crate::config::Mode::Live,
            _ => return Err(corrupt("key mode", &mode)),
        },
        hint: get(row, "hint")?,
        hash: get(row, "hash")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// Whether a failed statement broke a unique index.
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
