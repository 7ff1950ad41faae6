//! Third-party content in (Miniflux's `reader/` split): `fetch` is the HTTP
//! client every external source goes through. Parsing, scraping and the poller
//! that shares the work through the store's leases come next.

pub mod fetch;
