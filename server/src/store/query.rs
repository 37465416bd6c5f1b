//! What the merchant's list of checkouts asks the store ([`CheckoutQuery`], read by
//! [`super::Store::list_checkouts`]), and the statement it makes, written once for every
//! backend ([`CheckoutQuery::statement`]): each backend gives its `SELECT` (how it pairs a
//! checkout with its latest attempt), and the filters, the order and the limit follow, the
//! values bound with the backend's own placeholders.
//!
//! The order is `created_at DESC, id DESC`, a total order, so that a page continues exactly
//! after the row a cursor names ([`ListCursor`]), however many checkouts share one second: the
//! "keyset" pagination the PostgreSQL and SQLite manuals describe for row values
//! (<https://www.postgresql.org/docs/current/functions-comparisons.html#ROW-WISE-COMPARISON>,
//! <https://www.sqlite.org/rowvalue.html#scrolling_window_queries>).

use shared::{
    method::{PaymentMethod, Provider},
    status::CheckoutStatus,
};

/// The most rows one page holds; a store reads at most one more ([`CheckoutQuery::limit`]).
pub const MAX_LIMIT: u32 = 100;

/// A page of the merchant's checkouts, newest first: every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckoutQuery {
    /// The checkout's current state.
    pub status: Option<CheckoutStatus>,
    /// Any attempt of the checkout carried by it.
    pub provider: Option<Provider>,
    /// Any attempt with that method.
    pub method: Option<PaymentMethod>,
    /// Unix seconds, inclusive.
    pub created_from: Option<i64>,
    /// Unix seconds, exclusive.
    pub created_before: Option<i64>,
    /// The merchant's reference, exact.
    pub reference: Option<String>,
    /// E.164, any attempt's phone, exact.
    pub phone: Option<String>,
    /// Created by a verifier in live mode (`true`) or test mode (`false`).
    pub livemode: Option<bool>,
    /// Continue after this row (newest-first order).
    pub after: Option<ListCursor>,
    /// How many rows at most: `1..=`[`MAX_LIMIT`], callers clamp. A store reads at least one
    /// and at most `MAX_LIMIT + 1` whatever it is given: a caller showing pages of
    /// [`MAX_LIMIT`] asks for one more row to know whether another page follows.
    pub limit: u32,
}

/// Where a page ended: the last row's creation time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    /// Unix seconds.
    pub created_at: i64,
    /// `co_…`.
    pub id: String,
}

/// A piece of a query's `WHERE`: SQL text, or a value a backend binds in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// SQL text, written as is.
    Sql(&'static str),
    /// A text value to bind.
    Text(String),
    /// An integer value to bind.
    Int(i64),
}

impl CheckoutQuery {
    /// [`CheckoutQuery::limit`] within `1..=MAX_LIMIT + 1`.
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, MAX_LIMIT + 1)
    }

    /// The `WHERE` of the list over `checkouts c` (always starting `WHERE TRUE`), each filter
    /// given one condition; the attempt filters ask whether any attempt of the checkout
    /// matches. Every backend writes the same conditions.
    fn conditions(&self) -> Vec<Piece> {
        let mut w = vec![Piece::Sql(" WHERE 1 = 1")];
        if let Some(status) = self.status {
            w.extend([Piece::Sql(" AND c.status = "), Piece::Text(status.as_str().to_owned())]);
        }
        if let Some(reference) = &self.reference {
            w.extend([Piece::Sql(" AND c.reference = "), Piece::Text(reference.clone())]);
        }
        if let Some(livemode) = self.livemode {
            // A literal, not a bound value: SQLite stores the flag as 0/1, PostgreSQL as a boolean.
            w.push(Piece::Sql(if livemode { " AND c.livemode = TRUE" } else { " AND c.livemode = FALSE" }));
        }
        if let Some(from) = self.created_from {
            w.extend([Piece::Sql(" AND c.created_at >= "), Piece::Int(from)]);
        }
        if let Some(before) = self.created_before {
            w.extend([Piece::Sql(" AND c.created_at < "), Piece::Int(before)]);
        }
        if let Some(provider) = self.provider {
            w.extend([
                Piece::Sql(
                    " AND EXISTS (SELECT 1 FROM attempts x WHERE x.checkout_id = c.id AND x.provider = ",
                ),
                Piece::Text(provider.as_str().to_owned()),
                Piece::Sql(")"),
            ]);
        }
        if let Some(method) = self.method {
            w.extend([
                Piece::Sql(
                    " AND EXISTS (SELECT 1 FROM attempts x WHERE x.checkout_id = c.id AND x.method = ",
                ),
                Piece::Text(method.as_str().to_owned()),
                Piece::Sql(")"),
            ]);
        }
        if let Some(phone) = &self.phone {
            // Driven by the phone's index: the few checkouts one number paid for.
            w.extend([
                Piece::Sql(" AND c.id IN (SELECT x.checkout_id FROM attempts x WHERE x.phone = "),
                Piece::Text(phone.clone()),
                Piece::Sql(")"),
            ]);
        }
        if let Some(after) = &self.after {
            w.extend([
                Piece::Sql(" AND (c.created_at, c.id) < ("),
                Piece::Int(after.created_at),
                Piece::Sql(", "),
                Piece::Text(after.id.clone()),
                Piece::Sql(")"),
            ]);
        }
        w
    }
}

/// The order of the list: newest first, then by id (a total order, which the cursor needs).
const LIST_ORDER: &str = " ORDER BY c.created_at DESC, c.id DESC LIMIT ";

impl CheckoutQuery {
    /// The statement of the list on backend `DB`: `head` (its `SELECT … FROM checkouts c …`)
    /// with [`CheckoutQuery::conditions`], the order and [`CheckoutQuery::clamped_limit`], the
    /// values bound with `DB`'s placeholders.
    pub(crate) fn statement<DB>(&self, head: impl Into<String>) -> sqlx::QueryBuilder<'static, DB>
    where
        DB: sqlx::Database,
        DB::Arguments<'static>: Default,
        String: sqlx::Encode<'static, DB> + sqlx::Type<DB>,
        i64: sqlx::Encode<'static, DB> + sqlx::Type<DB>,
    {
        let mut query = sqlx::QueryBuilder::new(head);
        for piece in self.conditions() {
            match piece {
                Piece::Sql(sql) => query.push(sql),
                Piece::Text(text) => query.push_bind(text),
                Piece::Int(int) => query.push_bind(int),
            };
        }
        query.push(LIST_ORDER).push_bind(i64::from(self.clamped_limit()));
        query
    }
}
