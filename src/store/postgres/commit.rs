//! What a commit announces and how other instances hear it: each changed
//! feed's version bumped in the write's transaction, `NOTIFY` sent with it
//! (delivered only on commit), and a listener that forwards them.

use super::{ACQUIRE_TIMEOUT, CHANNEL, LISTEN_BACKOFF_MAX, LISTEN_BACKOFF_MIN, MAX_PAYLOAD};
use crate::model::FeedId;
use crate::store::{Change, Result};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPoolOptions};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::mpsc;

/// The server process ids (`pg_backend_pid()`) of one store's pooled
/// sessions, taken as each connects. A notification that one of them sent
/// is the store's own write, which its caller marked for rendering already.
/// An id is kept after its session closes: should the server reuse it for
/// another instance's session, that instance's changes are seen by the
/// follower's periodic version check instead (within half a second).
#[derive(Clone, Default)]
pub(super) struct Sessions(Arc<Mutex<HashSet<u32>>>);

impl Sessions {
    /// `options` that record each new session's process id.
    pub(super) fn record(&self, options: PgPoolOptions) -> PgPoolOptions {
        let sessions = self.clone();
        options.after_connect(move |conn, _| {
            let sessions = sessions.clone();
            Box::pin(async move {
                let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
                    .fetch_one(&mut *conn)
                    .await?;
                crate::lock::lock(&sessions.0).insert(pid as u32);
                Ok(())
            })
        })
    }

    fn contains(&self, pid: u32) -> bool {
        crate::lock::lock(&self.0).contains(&pid)
    }
}

/// Bumps the changed feeds' versions and queues the notification; both take effect
/// at commit, together with the write. One statement (one round trip): a
/// data-modifying `WITH` runs to completion whatever the outer query reads.
/// (A group of upserts ends in [`super::functions::finish`], which appends
/// to the feeds' logs too.)
pub(super) async fn finish(
    conn: &mut PgConnection,
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> Result<()> {
    if feeds.is_empty() {
        return Ok(());
    }
    let (keys, data) = keys_and_dates(feeds, dates);
    sqlx::query(sqlx::AssertSqlSafe(FINISH.as_str()))
        .bind(&keys)
        .bind(&data)
        .bind(CHANNEL)
        .bind(payloads(feeds))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The feeds' versions bumped and Last-Modified set: keys `$1`, their data's
/// dates `$2` (see [`FeedState::modified`](crate::store::FeedState)).
pub(super) fn bump_statement() -> String {
    // The database's clock in whole seconds, as unix milliseconds.
    const DB_NOW: &str = "(floor(extract(epoch from clock_timestamp())) * 1000)::bigint";
    format!(
        "INSERT INTO feed_versions (feed, version, modified)
         SELECT f, 1, CASE WHEN d > 0 THEN least(d, {DB_NOW}) ELSE {DB_NOW} END
         FROM UNNEST($1::text[], $2::int8[]) AS u(f, d) ORDER BY f COLLATE \"C\"
         ON CONFLICT (feed) DO UPDATE SET version = feed_versions.version + 1,
           modified = greatest(CASE WHEN excluded.modified > feed_versions.modified
                                    THEN excluded.modified ELSE {DB_NOW} END,
                               feed_versions.modified + 1000)"
    )
}

/// The notification of the changed feeds, on channel `$3`, one per payload
/// of `$4`; delivered at commit.
pub(super) const NOTIFY: &str = "SELECT pg_notify($3, p) FROM UNNEST($4::text[]) AS p";

/// The changed feeds' keys, in order, and their data's dates (0 for none)
/// as a version bump binds them (`$1`, `$2`).
pub(super) fn keys_and_dates(
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> (Vec<String>, Vec<i64>) {
    let keys: Vec<String> = feeds.iter().map(|f| f.key().into_owned()).collect();
    let data = keys
        .iter()
        .map(|k| dates.get(k).copied().unwrap_or(0))
        .collect();
    (keys, data)
}

/// [`finish`]'s statement. Rows taken in key order (byte order, as
/// BTreeSet orders them), as `lock_feeds` takes them: concurrent
/// transactions lock feed_versions alike.
static FINISH: LazyLock<String> =
    LazyLock::new(|| format!("WITH bumped AS ({} RETURNING 1) {NOTIFY}", bump_statement()));

/// The payload that says the catalog changed: no feed's key starts with
/// `!` (keys are slugs, or `source:` and a slug).
const CATALOG: &str = "!catalog";

/// Queues the notification that the catalog changed, delivered at commit.
pub(super) async fn announce_catalog(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(CATALOG)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The statement that takes the feeds' `feed_versions` rows (making those missing), in the
/// order `finish` takes them, before their logs are numbered: a feed's
/// numbers are then given by one transaction at a time, and commit in order.
/// A statement that also read the logs would read them as they were
/// before it waited for another writer's lock: this one is part of one
/// that only writes (`upsert::index_and_lock`), its keys the text array
/// `$param`.
pub(super) fn lock_feeds(param: usize) -> String {
    format!(
        "INSERT INTO feed_versions (feed, version, modified)
         SELECT f, 0, 0 FROM UNNEST(${param}::text[]) AS f ORDER BY f COLLATE \"C\"
         ON CONFLICT (feed) DO UPDATE SET version = feed_versions.version"
    )
}

/// Comma-separated feed slugs, split so that no payload exceeds [`MAX_PAYLOAD`].
pub(super) fn payloads(feeds: &BTreeSet<FeedId>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for feed in feeds {
        if !current.is_empty() && current.len() + 1 + feed.key().len() > MAX_PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&feed.key());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

pub(super) fn parse_payload(payload: &str) -> Change {
    if payload == CATALOG {
        return Change::Catalog;
    }
    Change::Feeds(
        payload
            .split(',')
            .filter(|s| !s.is_empty())
            .map(FeedId::from_key)
            .collect(),
    )
}

/// A listener on [`CHANNEL`] over its own connection (LISTEN belongs to a session).
pub(super) async fn listen(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone().application_name("newswire-listener"))
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // Report a lost connection at once; `follow` reconnects with its own backoff.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forwards notifications until the receiver is dropped, reconnecting with
/// exponential backoff whenever the connection is lost or cannot be made.
pub(super) async fn follow(
    options: PgConnectOptions,
    mut listener: Option<PgListener>,
    tx: mpsc::Sender<Change>,
    own: Sessions,
) {
    let mut backoff = LISTEN_BACKOFF_MIN;
    loop {
        let mut current = match listener.take() {
            Some(l) => l,
            None => match listen(&options).await {
                Ok(l) => {
                    tracing::info!("listening for other instances' changes again");
                    backoff = LISTEN_BACKOFF_MIN;
                    l
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot listen for other instances' changes, retrying in {backoff:?}: {e}"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {},
                        () = tx.closed() => return,
                    }
                    backoff = (backoff * 2).min(LISTEN_BACKOFF_MAX);
                    continue;
                }
            },
        };
        loop {
            let received = tokio::select! {
                r = current.try_recv() => r,
                () = tx.closed() => return,
            };
            match received {
                Ok(Some(n)) => {
                    let change = parse_payload(n.payload());
                    // The catalog's own changes are passed on: the follower
                    // applies the catalog, not the writer.
                    let heard = match &change {
                        Change::Feeds(feeds) => !feeds.is_empty() && !own.contains(n.process_id()),
                        Change::Catalog => true,
                    };
                    if heard && tx.send(change).await.is_err() {
                        return;
                    }
                }
                // Notifications sent until the next connection are lost; the
                // follower's periodic version check picks those changes up.
                Ok(None) => {
                    tracing::warn!("lost the notification connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!("notification connection failed, reconnecting: {e}");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<FeedId> {
        names.iter().map(|n| FeedId::named(n)).collect()
    }

    fn feeds(change: Change) -> Vec<FeedId> {
        match change {
            Change::Feeds(f) => f,
            Change::Catalog => panic!("a feed payload read as the catalog's"),
        }
    }

    #[test]
    fn the_catalog_payload_is_no_feed() {
        assert_eq!(parse_payload(CATALOG), Change::Catalog);
        assert_eq!(feeds(parse_payload("source:catalog")).len(), 1);
    }

    #[test]
    fn payloads_round_trip_and_stay_under_the_limit() {
        let wanted = set(&["all", "world", "breaking"]);
        let p = payloads(&wanted);
        assert_eq!(p, ["all,breaking,world"]);
        assert_eq!(
            feeds(parse_payload(&p[0]))
                .into_iter()
                .collect::<BTreeSet<_>>(),
            wanted
        );
        assert!(payloads(&BTreeSet::new()).is_empty());

        let many: BTreeSet<FeedId> = (0..2000)
            .map(|n| FeedId::named(&format!("feed-{n:05}")))
            .collect();
        let p = payloads(&many);
        assert!(p.len() > 1);
        assert!(p.iter().all(|s| s.len() <= MAX_PAYLOAD));
        let back: BTreeSet<FeedId> = p.iter().flat_map(|s| feeds(parse_payload(s))).collect();
        assert_eq!(back, many);
    }
}
