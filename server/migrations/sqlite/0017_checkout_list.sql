-- The merchant's list of checkouts (`GET /v1/checkouts`, the dashboard), newest first
-- (`created_at DESC, id DESC`, continued after a cursor): read in the order of an index, so a
-- page reads its rows and stops, however many checkouts the shop has. SQLite walks an index
-- backwards for a descending order (https://www.sqlite.org/queryplanner.html#sorting).
CREATE INDEX checkouts_created ON checkouts (created_at, id);
-- The same list filtered by state (the dashboard's "succeeded", "open" tabs).
CREATE INDEX checkouts_status_created ON checkouts (status, created_at, id);
