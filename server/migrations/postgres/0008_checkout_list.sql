-- The merchant's list of checkouts (`GET /v1/checkouts`, the dashboard), newest first
-- (`created_at DESC, id DESC`, continued after a cursor with a row comparison): read in the
-- order of an index, so a page reads its rows and stops, however many checkouts the shop has
-- (https://www.postgresql.org/docs/current/indexes-ordering.html).
CREATE INDEX checkouts_created ON checkouts (created_at DESC, id DESC);
-- The same list filtered by state (the dashboard's "succeeded", "open" tabs).
CREATE INDEX checkouts_status_created ON checkouts (status, created_at DESC, id DESC);
