//! The merchant's list of checkouts (`GET /v1/checkouts`): its query parameters read into a
//! typed [`CheckoutQuery`] (a bad value is a 400 naming its parameter), the opaque cursor of
//! the next page, and the page as the API answers it ([`api::CheckoutList`]).
//!
//! The page's shape follows Stripe's lists (`data`, `has_more`,
//! <https://docs.stripe.com/api/pagination>), with the next page's cursor given rather than
//! built by the client from the last id: it carries the last row's creation time and id, the
//! store's keyset ([`crate::store::query`]), base64url-encoded so that clients treat it as a
//! token.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use shared::{
    api,
    method::{PaymentMethod, Provider},
    phone::{Country, PhoneError, PhoneNumber},
    status::CheckoutStatus,
};

use crate::{
    error::AppError,
    store::{CheckoutQuery, ListCursor, query::MAX_LIMIT},
};

/// Rows of a page when the request names no `limit`.
pub(super) const DEFAULT_LIMIT: u32 = 20;

/// The query parameters of `GET /v1/checkouts`, as sent: every filter given must hold. Read
/// as text, then each into its type ([`ListParams::query`]), so that a bad value is answered
/// with the parameter's name.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only checkouts in this state.
    #[param(value_type = Option<CheckoutStatus>)]
    pub status: Option<String>,
    /// Only checkouts with an attempt carried by this provider.
    #[param(value_type = Option<Provider>)]
    pub provider: Option<String>,
    /// Only checkouts with an attempt of this method.
    #[param(value_type = Option<PaymentMethod>)]
    pub method: Option<String>,
    /// Only checkouts created at or after this time (RFC 3339, e.g. `2026-01-31T00:00:00Z`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_from: Option<String>,
    /// Only checkouts created before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_before: Option<String>,
    /// Only the checkout with this merchant reference (exact).
    pub reference: Option<String>,
    /// Only checkouts with an attempt from this phone number: international (`+225…`) or as
    /// the customer types it in `country`.
    pub phone: Option<String>,
    /// The country of a `phone` typed without its country code (default: the verifier's
    /// `default_country`).
    #[param(value_type = Option<Country>)]
    pub country: Option<String>,
    /// The `next_cursor` of the previous page: the page after it.
    pub cursor: Option<String>,
    /// Checkouts per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl ListParams {
    /// The store's query for these parameters, of the checkouts of one mode (`livemode`), a
    /// national `phone` read in `default_country` unless `country` says otherwise; the limit
    /// is one more than the page, so that the answer knows whether another page follows.
    pub fn query(&self, livemode: bool, default_country: Country) -> Result<(CheckoutQuery, u32), AppError> {
        let status = parsed(&self.status, "status", CheckoutStatus::parse)?;
        let provider = parsed(&self.provider, "provider", Provider::parse)?;
        let method = parsed(&self.method, "method", PaymentMethod::parse)?;
        let country = parsed(&self.country, "country", Country::parse)?.unwrap_or(default_country);
        let created_from = self.created_from.as_deref().map(|t| unix_time(t, "created_from")).transpose()?;
        let created_before =
            self.created_before.as_deref().map(|t| unix_time(t, "created_before")).transpose()?;
        let phone = self.phone.as_deref().map(|p| filter_phone(p, country)).transpose()?;
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| AppError::invalid("limit", format!("limit must be 1 to {MAX_LIMIT}")))?,
        };
        let query = CheckoutQuery {
            status,
            provider,
            method,
            created_from,
            created_before,
            reference: self.reference.clone(),
            phone,
            livemode: Some(livemode),
            after,
            limit: limit + 1,
        };
        Ok((query, limit))
    }
}

/// The E.164 form of a phone filter: typed as a customer would in `country`, or with the
/// country code of any supported country (a number is not only looked for in one country).
/// The error never repeats the number.
fn filter_phone(text: &str, country: Country) -> Result<String, AppError> {
    let number = match PhoneNumber::parse(text, country) {
        Err(PhoneError::WrongCountry { actual }) => PhoneNumber::parse(text, actual),
        other => other,
    };
    number.map(|n| n.as_e164().to_owned()).map_err(|e| AppError::invalid("phone", format!("phone: {e}")))
}

/// `value` read by `parse`, or a 400 naming `field` and the values it takes.
fn parsed<T>(
    value: &Option<String>,
    field: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, AppError> {
    match value.as_deref() {
        None => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, format!("{field}: unknown value {v:?}"))),
    }
}

/// Unix seconds of an RFC 3339 time, or a 400 naming `field`.
fn unix_time(text: &str, field: &'static str) -> Result<i64, AppError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .map_err(|_| {
            AppError::invalid(field, format!("{field} must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"))
        })
}

/// The cursor after `row`: base64url of `<created_at>:<id>`.
pub(super) fn encode_cursor(row: &ListCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", row.created_at, row.id))
}

/// Reads a cursor [`encode_cursor`] made; anything else is a 400 on `cursor`.
pub(super) fn decode_cursor(text: &str) -> Result<ListCursor, AppError> {
    let invalid = || AppError::invalid("cursor", "cursor is not a next_cursor this API gave");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (created_at, id) = text.split_once(':').ok_or_else(invalid)?;
    let created_at = created_at.parse::<i64>().map_err(|_| invalid())?;
    let id_ok = id.len() <= 64
        && id
            .strip_prefix("co_")
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !id_ok {
        return Err(invalid());
    }
    Ok(ListCursor { created_at, id: id.to_owned() })
}

/// The page the API answers: the first `limit` of `rows` (read with one more, which says
/// whether another page follows), each with its latest attempt.
pub(super) fn page(
    mut rows: Vec<(crate::store::CheckoutRecord, Option<crate::store::AttemptRecord>)>,
    limit: u32,
) -> api::CheckoutList {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|(c, _)| encode_cursor(&ListCursor { created_at: c.created_at, id: c.id.clone() }))
    } else {
        None
    };
    let data = rows
        .into_iter()
        .map(|(c, latest)| api::CheckoutSummary {
            short_reference: crate::ids::short_reference(&c.id),
            id: c.id,
            amount: c.money.minor(),
            currency: c.money.currency(),
            reference: c.reference,
            description: c.description,
            country: c.country,
            status: c.status,
            livemode: c.livemode,
            created_at: super::rfc3339(c.created_at),
            expires_at: super::rfc3339(c.expires_at),
            latest_attempt: latest.map(super::attempt_view),
        })
        .collect();
    api::CheckoutList { data, has_more, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Result<ListParams, String> {
        let text = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let uri: axum::http::Uri = format!("/v1/checkouts?{text}").parse().unwrap();
        axum::extract::Query::<ListParams>::try_from_uri(&uri).map(|q| q.0).map_err(|e| e.body_text())
    }

    fn field_of(e: AppError) -> Option<&'static str> {
        match e {
            AppError::InvalidRequest { field, .. } => field,
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[test]
    fn each_parameter_is_read_into_its_type() {
        let cursor = encode_cursor(&ListCursor { created_at: 1_767_225_600, id: "co_abc123".into() });
        let p = params(&[
            ("status", "succeeded"),
            ("provider", "nova_send"),
            ("method", "orange_money"),
            ("created_from", "2026-01-01T00:00:00Z"),
            ("created_before", "2026-01-02T00:00:00%2B01:00"),
            ("reference", "order-42"),
            ("phone", "07%2000%2000%2000%2001"),
            ("country", "CI"),
            ("cursor", &cursor),
            ("limit", "50"),
        ])
        .unwrap();
        let (q, limit) = p.query(false, Country::Sn).unwrap();
        assert_eq!(limit, 50);
        assert_eq!(q.limit, 51, "one more, to know whether another page follows");
        assert_eq!(q.status, Some(CheckoutStatus::Succeeded));
        assert_eq!(q.provider, Some(Provider::NovaSend));
        assert_eq!(q.method, Some(PaymentMethod::OrangeMoney));
        assert_eq!(q.created_from, Some(1_767_225_600));
        assert_eq!(q.created_before, Some(1_767_225_600 + 86_400 - 3600));
        assert_eq!(q.reference.as_deref(), Some("order-42"));
        assert_eq!(q.phone.as_deref(), Some("+2250700000001"));
        assert_eq!(q.livemode, Some(false));
        assert_eq!(q.after, Some(ListCursor { created_at: 1_767_225_600, id: "co_abc123".into() }));

        let (q, limit) = ListParams::default().query(true, Country::Ci).unwrap();
        assert_eq!((limit, q.limit, q.livemode), (DEFAULT_LIMIT, DEFAULT_LIMIT + 1, Some(true)));
        assert_eq!(q, CheckoutQuery { livemode: Some(true), limit: DEFAULT_LIMIT + 1, ..Default::default() });
        // A national number is read in the default country; an international one as it is.
        let national = ListParams { phone: Some("0700000001".into()), ..Default::default() };
        assert_eq!(national.query(false, Country::Ci).unwrap().0.phone.as_deref(), Some("+2250700000001"));
        let international = ListParams { phone: Some("+225 07 00 00 00 01".into()), ..Default::default() };
        assert_eq!(
            international.query(false, Country::Sn).unwrap().0.phone.as_deref(),
            Some("+2250700000001")
        );
    }

    #[test]
    fn a_bad_value_is_a_400_naming_its_parameter() {
        for (name, value) in [
            ("status", "paid"),
            ("provider", "stripe"),
            ("method", "cash"),
            ("created_from", "yesterday"),
            ("created_before", "1767225600"),
            ("phone", "12"),
            ("country", "FR"),
            ("cursor", "bm9wZQ"),
            ("cursor", "!!"),
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "ten"),
        ] {
            let p = params(&[(name, value)]).unwrap();
            let e = p.query(false, Country::Ci).expect_err(name);
            assert_eq!(field_of(e), Some(name), "{name}={value}");
        }
        let unknown = params(&[("statut", "open")]).expect_err("an unknown parameter");
        assert!(unknown.contains("statut"), "{unknown}");
    }

    #[test]
    fn a_cursor_reads_back_what_it_was_made_of_and_nothing_else() {
        let row = ListCursor { created_at: -5, id: "co_Zz9".into() };
        assert_eq!(decode_cursor(&encode_cursor(&row)).unwrap(), row);
        for forged in [
            "",
            "Y29f",
            &URL_SAFE_NO_PAD.encode("12:at_x"),
            &URL_SAFE_NO_PAD.encode("x:co_a"),
            &URL_SAFE_NO_PAD.encode("1:co_a'--"),
        ] {
            assert!(decode_cursor(forged).is_err(), "{forged:?}");
        }
    }
}
