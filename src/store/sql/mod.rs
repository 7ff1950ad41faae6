//! The SQL and the write steps both backends run alike, written once, one
//! file per concern: [`items`], [`archives`], [`kept`], [`sources`],
//! [`catalog`], [`websub`].
//!
//! sqlx's query functions are generic in a way that makes a generic function over
//! "any database" need a dozen trait bounds per query; instead, each backend
//! expands [`shared_sql!`] over its own connection type. The SQL uses `$N`
//! placeholders, which both read by their number (SQLite sees named parameters;
//! sqlx binds each `$N` to the N-th value, so the claim statements may name
//! `$5` before `$4`). What really differs stays in the backends: how a batch of items is
//! written (`upsert_batch`: row by row, each row locked, on PostgreSQL; a few
//! statements for the whole batch on SQLite, whose one writer needs no locks),
//! and what a commit announces (`finish`: a version bump, plus `NOTIFY` on
//! PostgreSQL). The expansion calls those two by name, so each backend defines
//! them; both decide per item through [`crate::store::plan`].

mod archives;
mod catalog;
mod items;
mod kept;
mod sources;
mod websub;

pub(crate) use archives::archives_sql;
pub(crate) use catalog::catalog_sql;
pub(crate) use items::items_sql;
pub(crate) use kept::kept_sql;
pub(crate) use sources::sources_sql;
pub(crate) use websub::websub_sql;

/// Registering a source (a row of name, url, origin, next_fetch) that is
/// already known: nothing, unless its configured URL (`origin`) changed, which
/// starts it again at the new one, due at once, its validators, failures and
/// lease dropped (a fetch under way then saves nothing). `url` itself moves
/// with permanent redirects, so it is not what is compared.
pub(crate) const SOURCE_REGISTERED: &str = "ON CONFLICT (name) DO UPDATE SET url = excluded.url,
    origin = excluded.origin, etag = NULL, last_modified = NULL, body_hash = NULL,
    failures = 0, next_fetch = excluded.next_fetch, lease_owner = NULL, lease_until = NULL
    WHERE sources.origin IS DISTINCT FROM excluded.origin";

/// Expands every concern's SQL over a backend's connection and pool types,
/// with the imports and helpers they share.
macro_rules! shared_sql {
    ($Conn:ty, $Pool:ty) => {
        use chrono::{DateTime, Utc};
        use std::collections::{BTreeMap, BTreeSet};
        use $crate::model::{FeedId, Item, ItemKind, Source, Tombstone};
        use $crate::store::{
            Export, FeedState, Outcome, Result, StoreError, TOMBSTONES_KEPT, Written, data_dates,
            decode, feed_states, from_millis, kind_str, millis, to_withdraw,
        };

        /// Items from their `(id, doc)` rows.
        fn decode_all(rows: &[(String, String)]) -> Result<Vec<Item>> {
            rows.iter().map(|(id, doc)| decode(id, doc)).collect()
        }

        /// The items a query of `(id, doc)` rows gives, in its order.
        async fn fetch_items<'q>(
            conn: &mut $Conn,
            query: sqlx::query::QueryAs<
                'q,
                <$Conn as sqlx::Connection>::Database,
                (String, String),
                <<$Conn as sqlx::Connection>::Database as sqlx::Database>::Arguments,
            >,
        ) -> Result<Vec<Item>> {
            let rows = query.fetch_all(&mut *conn).await?;
            decode_all(&rows)
        }

        fn limit(n: usize) -> i64 {
            i64::try_from(n).unwrap_or(i64::MAX)
        }

        fn tombstone((id, link, deleted): (String, Option<String>, i64)) -> Tombstone {
            Tombstone {
                id,
                link,
                deleted: from_millis(deleted),
            }
        }

        $crate::store::sql::items_sql!($Conn, $Pool);
        $crate::store::sql::archives_sql!($Conn, $Pool);
        $crate::store::sql::kept_sql!($Conn, $Pool);
        $crate::store::sql::sources_sql!($Conn, $Pool);
        $crate::store::sql::catalog_sql!($Conn, $Pool);
        $crate::store::sql::websub_sql!($Conn, $Pool);
    };
}

pub(crate) use shared_sql;
