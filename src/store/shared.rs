//! The SQL and the write steps both backends run alike, written once.
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

macro_rules! shared_sql {
    ($Conn:ty, $Pool:ty) => {
        use $crate::model::{FeedId, Item, ItemKind, Source, Tombstone};
        use $crate::store::{
            Export, Outcome, Result, StoreError, TOMBSTONES_KEPT, Written, data_dates, decode,
            feed_states, from_millis, kind_str, millis, to_withdraw, FeedState,
        };
        use chrono::{DateTime, Utc};
        use std::collections::{BTreeMap, BTreeSet};

        /// A feed's newest items: the LIMIT applies to an ordered scan of
        /// `item_feeds_order` before the join, on both backends. (`LIST` binds
        /// the kind too, as `''`, so both statements bind alike.)
        const LIST: &str = "SELECT i.id, i.doc FROM
              (SELECT item_id, published FROM item_feeds WHERE feed = $1 AND $2 = ''
               ORDER BY published DESC, item_id DESC LIMIT $3) f
            JOIN items i ON i.id = f.item_id ORDER BY f.published DESC, f.item_id DESC";
        const LIST_KIND: &str = "SELECT i.id, i.doc FROM
              (SELECT item_id, published FROM item_feeds WHERE feed = $1 AND kind = $2
               ORDER BY published DESC, item_id DESC LIMIT $3) f
            JOIN items i ON i.id = f.item_id ORDER BY f.published DESC, f.item_id DESC";

        fn limit(n: usize) -> i64 {
            i64::try_from(n).unwrap_or(i64::MAX)
        }

        pub(super) async fn get(conn: &mut $Conn, id: &str) -> Result<Option<Item>> {
            let row: Option<(String,)> = sqlx::query_as("SELECT doc FROM items WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            row.map(|(doc,)| decode(id, &doc)).transpose()
        }

        pub(super) async fn list(
            conn: &mut $Conn,
            feed: &FeedId,
            kind: Option<ItemKind>,
            n: usize,
        ) -> Result<Vec<Item>> {
            let rows: Vec<(String, String)> = sqlx::query_as(match kind {
                None => LIST,
                Some(_) => LIST_KIND,
            })
            .bind(feed.key())
            .bind(kind.map(kind_str).unwrap_or(""))
            .bind(limit(n))
            .fetch_all(&mut *conn)
            .await?;
            rows.iter().map(|(id, doc)| decode(id, doc)).collect()
        }

        pub(super) async fn list_between(
            conn: &mut $Conn,
            feed: &FeedId,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            n: usize,
        ) -> Result<Vec<Item>> {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT i.id, i.doc FROM
                   (SELECT item_id, published FROM item_feeds
                    WHERE feed = $1 AND published >= $2 AND published < $3
                    ORDER BY published DESC, item_id DESC LIMIT $4) f
                 JOIN items i ON i.id = f.item_id ORDER BY f.published DESC, f.item_id DESC",
            )
            .bind(feed.key())
            .bind(millis(from))
            .bind(millis(to))
            .bind(limit(n))
            .fetch_all(&mut *conn)
            .await?;
            rows.iter().map(|(id, doc)| decode(id, doc)).collect()
        }

        /// RFC 5005: takes a timeline's log forward and closes the pages due
        /// (see [`crate::store::Store::window`]), in one transaction.
        pub(super) async fn archive_tx(
            pool: &$Pool,
            feed: &FeedId,
            members: &[FeedId],
            size: usize,
        ) -> Result<()> {
            let mut tx = pool.begin().await?;
            if !$crate::store::is_own_log(feed, members) {
                extend_log(&mut tx, feed, members).await?;
            }
            close_pages(&mut tx, feed, size).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Whether [`archive_tx`] has work: a member's log past the timeline's
        /// cursor into it, or more than `size` entries after the last page. A
        /// read, so that a render pass with nothing to archive writes nothing.
        pub(super) async fn archive_due(
            conn: &mut $Conn,
            feed: &FeedId,
            members: &[FeedId],
            size: usize,
        ) -> Result<bool> {
            if !$crate::store::is_own_log(feed, members) {
                let cursors = cursors(conn, feed, members).await?;
                let ahead: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT l.seq FROM ({CURSORS_IN}) AS c
                     JOIN feed_log l ON l.feed = c.member AND l.seq > c.seq LIMIT 1"
                )))
                .bind(cursors)
                .fetch_optional(&mut *conn)
                .await?;
                if ahead.is_some() {
                    return Ok(true);
                }
            }
            let (_, last) = last_page(conn, feed).await?;
            let (open,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM feed_log WHERE feed = $1 AND seq > $2")
                    .bind($crate::store::log_key(feed))
                    .bind(last)
                    .fetch_one(&mut *conn)
                    .await?;
            Ok(usize::try_from(open).unwrap_or(0) > size)
        }

        /// A timeline's cursors into its members' logs, as the JSON
        /// `[[member, seq], ...]` that `CURSORS_IN` reads (0: nothing read yet).
        async fn cursors(conn: &mut $Conn, feed: &FeedId, members: &[FeedId]) -> Result<String> {
            let read: Vec<(String, i64)> =
                sqlx::query_as("SELECT member, seq FROM archive_cursors WHERE feed = $1")
                    .bind($crate::store::log_key(feed))
                    .fetch_all(&mut *conn)
                    .await?;
            let read: BTreeMap<String, i64> = read.into_iter().collect();
            let cursors: Vec<(std::borrow::Cow<str>, i64)> = members
                .iter()
                .map(|m| {
                    let at = read.get(m.key().as_ref()).copied().unwrap_or(0);
                    (m.key(), at)
                })
                .collect();
            Ok(serde_json::to_string(&cursors).expect("strings and numbers serialize"))
        }

        /// Members whose new entries one statement takes into a timeline's log.
        const EXTEND_MEMBERS: usize = 64;

        /// Appends to a timeline's log what its members' logs gained since it
        /// last read them: each item once (one already there keeps its place),
        /// oldest published first, withdrawn ones with their tombstones; then
        /// moves its cursors. In SQL, a few members at a time. Under a lock,
        /// so that of instances rendering the timeline at once one appends.
        async fn extend_log(conn: &mut $Conn, feed: &FeedId, members: &[FeedId]) -> Result<()> {
            let key = $crate::store::log_key(feed);
            sqlx::query(TIMELINE_LOCK)
                .bind(&key)
                .execute(&mut *conn)
                .await?;
            let cursors = cursors(conn, feed, members).await?;
            // How far each member's log goes now: one snapshot's worth, the
            // same for the rows taken and the cursors moved.
            let tops: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT c.member, max(l.seq) FROM ({CURSORS_IN}) AS c
                 JOIN feed_log l ON l.feed = c.member AND l.seq > c.seq
                 GROUP BY c.member"
            )))
            .bind(&cursors)
            .fetch_all(&mut *conn)
            .await?;
            if tops.is_empty() {
                return Ok(());
            }
            let from: Vec<(String, i64)> =
                serde_json::from_str(&cursors).expect("the JSON cursors() wrote");
            let from: std::collections::HashMap<String, i64> = from.into_iter().collect();
            // A few members at a time: a timeline over 1,000 sources after a
            // first poll takes in 59,000 entries, which one statement would
            // sort and group in memory at once. (An item already in the log,
            // or taken in by an earlier group, keeps its place: its number
            // goes unused.)
            for group in tops.chunks(EXTEND_MEMBERS) {
                let ranges: Vec<(&str, i64, i64)> = group
                    .iter()
                    .map(|(m, top)| (m.as_str(), from.get(m).copied().unwrap_or(0), *top))
                    .collect();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "WITH fresh AS (
                       SELECT l.item_id, min(coalesce(i.published, 0)) AS published,
                              max(l.deleted) AS deleted, max(l.link) AS link
                       FROM ({RANGES_IN}) AS r
                       JOIN feed_log l ON l.feed = r.member AND l.seq > r.lo AND l.seq <= r.hi
                       LEFT JOIN items i ON i.id = l.item_id
                       GROUP BY l.item_id),
                     top AS MATERIALIZED (
                       SELECT coalesce(max(seq), 0) AS top FROM feed_log WHERE feed = $2)
                     INSERT INTO feed_log (feed, item_id, seq, deleted, link)
                     SELECT $2, fresh.item_id,
                            top.top + row_number() OVER (ORDER BY fresh.published, fresh.item_id),
                            fresh.deleted, fresh.link
                     FROM fresh, top WHERE true
                     ON CONFLICT (feed, item_id) DO NOTHING"
                )))
                .bind(serde_json::to_string(&ranges).expect("rows serialize"))
                .bind(&key)
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO archive_cursors (feed, member, seq)
                 SELECT $2, c.member, c.seq FROM ({CURSORS_IN}) AS c WHERE true
                 ON CONFLICT (feed, member) DO UPDATE SET seq = excluded.seq"
            )))
            .bind(serde_json::to_string(&tops).expect("rows serialize"))
            .bind(&key)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// The newest closed page of a feed and its last seq; `(0, 0)` for none.
        async fn last_page(conn: &mut $Conn, feed: &FeedId) -> Result<(i64, i64)> {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT page, last_seq FROM archive_pages WHERE feed = $1
                 ORDER BY page DESC LIMIT 1",
            )
            .bind($crate::store::log_key(feed))
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.unwrap_or((0, 0)))
        }

        /// Closes the pages [`crate::store::archive_bounds`] says are due. Pages
        /// are cut from the front of an append-only log, so instances closing
        /// at once cut the same pages, and the second write of one is a no-op.
        async fn close_pages(conn: &mut $Conn, feed: &FeedId, size: usize) -> Result<()> {
            let (page, last) = last_page(conn, feed).await?;
            let key = $crate::store::log_key(feed);
            let (open,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM feed_log WHERE feed = $1 AND seq > $2")
                    .bind(&key)
                    .bind(last)
                    .fetch_one(&mut *conn)
                    .await?;
            let (pages, per_page) = $crate::store::pages_due(usize::try_from(open).unwrap_or(0), size);
            if pages == 0 {
                return Ok(());
            }
            // Only the last seq of each page due is read, however long the
            // log grew since the last pass (a first poll of 1,000 feeds).
            let bounds: Vec<(i64,)> = sqlx::query_as(
                "SELECT seq FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n
                                  FROM feed_log WHERE feed = $1 AND seq > $2) AS o
                 WHERE n % $3 = 0 AND n <= $4 ORDER BY seq",
            )
            .bind(&key)
            .bind(last)
            .bind(i64::try_from(per_page).unwrap_or(i64::MAX))
            .bind(i64::try_from(pages * per_page).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await?;
            for (page, (last_seq,)) in (page + 1..).zip(bounds) {
                sqlx::query(
                    "INSERT INTO archive_pages (feed, page, last_seq) VALUES ($1, $2, $3)
                     ON CONFLICT (feed, page) DO NOTHING",
                )
                .bind($crate::store::log_key(feed))
                .bind(page)
                .bind(last_seq)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }

        /// The items of a feed's log in `(after, upto]` that are still in the
        /// feed (in one of `members`), newest first.
        async fn logged_items(
            conn: &mut $Conn,
            feed: &FeedId,
            members: &[FeedId],
            after: i64,
            upto: i64,
        ) -> Result<Vec<Item>> {
            let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT i.id, i.doc FROM feed_log l JOIN items i ON i.id = l.item_id
                 WHERE l.feed = $2 AND l.seq > $3 AND l.seq <= $4
                   AND EXISTS (SELECT 1 FROM item_feeds f
                               WHERE f.item_id = l.item_id AND f.feed IN ({FEEDS_IN}))
                 ORDER BY i.published DESC, i.id DESC"
            )))
            .bind($crate::store::feed_keys(members))
            .bind($crate::store::log_key(feed))
            .bind(after)
            .bind(upto)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter().map(|(id, doc)| decode(id, doc)).collect()
        }

        /// What follows a feed's newest closed page (see
        /// [`crate::store::Store::window`]).
        pub(super) async fn window(
            conn: &mut $Conn,
            feed: &FeedId,
            members: &[FeedId],
        ) -> Result<$crate::store::Window> {
            let (pages, last) = last_page(conn, feed).await?;
            Ok($crate::store::Window {
                pages: u64::try_from(pages).unwrap_or(0),
                items: logged_items(conn, feed, members, last, i64::MAX).await?,
            })
        }

        /// A closed page: its items and the tombstones of those withdrawn.
        pub(super) async fn archive_page(
            conn: &mut $Conn,
            feed: &FeedId,
            members: &[FeedId],
            page: u64,
        ) -> Result<Option<$crate::store::ArchivePage>> {
            let Ok(page) = i64::try_from(page) else {
                return Ok(None);
            };
            let bounds: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT page, last_seq FROM archive_pages WHERE feed = $1 AND page IN ($2, $3)",
            )
            .bind($crate::store::log_key(feed))
            .bind(page)
            .bind(page - 1)
            .fetch_all(&mut *conn)
            .await?;
            let Some(&(_, upto)) = bounds.iter().find(|b| b.0 == page) else {
                return Ok(None);
            };
            let after = bounds.iter().find(|b| b.0 == page - 1).map_or(0, |b| b.1);
            let items = logged_items(conn, feed, members, after, upto).await?;
            let stones: Vec<(String, Option<String>, i64)> = sqlx::query_as(
                "SELECT item_id, link, deleted FROM feed_log
                 WHERE feed = $1 AND seq > $2 AND seq <= $3 AND deleted IS NOT NULL
                 ORDER BY deleted DESC, item_id DESC",
            )
            .bind($crate::store::log_key(feed))
            .bind(after)
            .bind(upto)
            .fetch_all(&mut *conn)
            .await?;
            Ok(Some($crate::store::ArchivePage {
                items,
                tombstones: stones.into_iter().map(tombstone).collect(),
            }))
        }

        /// Appends to feeds' logs the items new to them (`(feed, item id,
        /// published)`), numbered after each feed's last, oldest published
        /// first (an item already in a feed's log keeps its place; its number
        /// goes unused). The caller holds the feeds' `feed_versions` rows
        /// (`lock_feeds`), so no other writer numbers those feeds until this
        /// one commits: a feed's numbers commit in order. No anti-join:
        /// PostgreSQL plans a prepared statement once, while the table is
        /// small, and a first poll then scanned the log at every write.
        async fn log_new(conn: &mut $Conn, rows: &[(String, &str, i64)]) -> Result<()> {
            if rows.is_empty() {
                return Ok(());
            }
            let mut rows: Vec<&(String, &str, i64)> = rows.iter().collect();
            rows.sort_by(|a, b| (&a.0, a.2, a.1).cmp(&(&b.0, b.2, b.1)));
            // Each row's place among the feed's new rows; the feed's last
            // number is added in SQL, read once per feed before any insert.
            let mut ranked: Vec<(&str, &str, i64)> = Vec::with_capacity(rows.len());
            for (f, id, _) in rows {
                let n = match ranked.last() {
                    Some((last, _, n)) if *last == f.as_str() => n + 1,
                    _ => 1,
                };
                ranked.push((f.as_str(), id, n));
            }
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH r AS ({LOG_NEW_IN}),
                 top AS MATERIALIZED (
                   SELECT f.feed, (SELECT coalesce(max(m.seq), 0) FROM feed_log m
                                   WHERE m.feed = f.feed) AS top
                   FROM (SELECT DISTINCT feed FROM r) AS f)
                 INSERT INTO feed_log (feed, item_id, seq)
                 SELECT r.feed, r.item_id, top.top + r.n FROM r JOIN top ON top.feed = r.feed
                 WHERE true
                 ON CONFLICT (feed, item_id) DO NOTHING"
            )))
            .bind(serde_json::to_string(&ranked).expect("rows serialize"))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Withdrawn items that came back (`(feed, id)` of their tombstones):
        /// their log rows are no longer tombstones.
        async fn revive_logs(conn: &mut $Conn, revived: &[(String, String)]) -> Result<()> {
            let ids: BTreeSet<&str> = revived.iter().map(|(_, id)| id.as_str()).collect();
            for id in ids {
                sqlx::query("UPDATE feed_log SET deleted = NULL, link = NULL WHERE item_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }

        fn tombstone((id, link, deleted): (String, Option<String>, i64)) -> Tombstone {
            Tombstone {
                id,
                link,
                deleted: from_millis(deleted),
            }
        }

        pub(super) async fn tombstones(
            conn: &mut $Conn,
            feed: &FeedId,
            n: usize,
        ) -> Result<Vec<Tombstone>> {
            let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
                "SELECT item_id, link, deleted FROM tombstones WHERE feed = $1
                 ORDER BY deleted DESC, item_id DESC LIMIT $2",
            )
            .bind(feed.key())
            .bind(limit(n))
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows.into_iter().map(tombstone).collect())
        }

        pub(super) async fn versions(
            conn: &mut $Conn,
        ) -> Result<BTreeMap<FeedId, FeedState>> {
            let rows: Vec<(String, i64, i64)> =
                sqlx::query_as("SELECT feed, version, modified FROM feed_versions")
                    .fetch_all(&mut *conn)
                    .await?;
            Ok(feed_states(rows))
        }

        /// Everything, read in one transaction of the caller's.
        pub(super) async fn export(conn: &mut $Conn) -> Result<Export> {
            let items: Vec<(String, String)> =
                sqlx::query_as("SELECT id, doc FROM items ORDER BY id")
                    .fetch_all(&mut *conn)
                    .await?;
            let stones: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
                "SELECT feed, item_id, link, deleted FROM tombstones ORDER BY feed, item_id",
            )
            .fetch_all(&mut *conn)
            .await?;
            let archive = $crate::store::ArchiveExport {
                log: sqlx::query_as(
                    "SELECT feed, item_id, seq, deleted, link FROM feed_log
                     ORDER BY feed, seq",
                )
                .fetch_all(&mut *conn)
                .await?,
                pages: sqlx::query_as(
                    "SELECT feed, page, last_seq FROM archive_pages ORDER BY feed, page",
                )
                .fetch_all(&mut *conn)
                .await?,
                cursors: sqlx::query_as(
                    "SELECT feed, member, seq FROM archive_cursors ORDER BY feed, member",
                )
                .fetch_all(&mut *conn)
                .await?,
            };
            Ok(Export {
                items: items
                    .iter()
                    .map(|(id, doc)| decode(id, doc))
                    .collect::<Result<_, _>>()?,
                tombstones: stones
                    .into_iter()
                    .map(|(feed, id, link, deleted)| (FeedId::from_key(&feed), tombstone((id, link, deleted))))
                    .collect(),
                archive,
            })
        }

        /// Withdraws an item: its row (its `item_feeds` rows go with it, ON DELETE
        /// CASCADE) and a tombstone in each feed it was in. DELETE locks the row,
        /// so of two concurrent withdrawals one finds nothing and says `false`.
        async fn delete_one(
            conn: &mut $Conn,
            id: &str,
            at: DateTime<Utc>,
            changed: &mut BTreeSet<FeedId>,
        ) -> Result<bool> {
            let Some((doc,)): Option<(String,)> =
                sqlx::query_as("DELETE FROM items WHERE id = $1 RETURNING doc")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
            else {
                return Ok(false);
            };
            let item = decode(id, &doc)?;
            // Its slot in each feed's log (and archive page) becomes its tombstone.
            sqlx::query("UPDATE feed_log SET deleted = $2, link = $3 WHERE item_id = $1")
                .bind(id)
                .bind(millis(at))
                .bind(&item.link)
                .execute(&mut *conn)
                .await?;
            for feed in $crate::catalog::item_feeds(&item) {
                let stone = Tombstone {
                    id: id.to_owned(),
                    link: item.link.clone(),
                    deleted: at,
                };
                insert_tombstone(conn, &feed, &stone).await?;
                changed.insert(feed);
            }
            Ok(true)
        }

        /// Records a tombstone and keeps only the feed's newest [`TOMBSTONES_KEPT`].
        async fn insert_tombstone(
            conn: &mut $Conn,
            feed: &FeedId,
            t: &Tombstone,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO tombstones (feed, item_id, link, deleted) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (feed, item_id) DO UPDATE SET link = excluded.link, deleted = excluded.deleted",
            )
            .bind(feed.key())
            .bind(&t.id)
            .bind(&t.link)
            .bind(millis(t.deleted))
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "DELETE FROM tombstones WHERE feed = $1 AND item_id NOT IN
                   (SELECT item_id FROM tombstones WHERE feed = $1
                    ORDER BY deleted DESC, item_id DESC LIMIT $2)",
            )
            .bind(feed.key())
            .bind(limit(TOMBSTONES_KEPT))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// An upsert of a batch, in the caller's transaction. (SQLite commits
        /// upserts in groups instead, calling `upsert_batch` and `finish` itself.)
        #[allow(dead_code)]
        pub(super) async fn upsert_in(
            conn: &mut $Conn,
            items: &[Item],
            ownership: $crate::store::Ownership,
        ) -> Result<Written> {
            let mut changed = BTreeSet::new();
            let outcomes = upsert_batch(conn, $crate::store::Batch { items, ownership }, &mut changed).await?;
            finish(conn, &changed, &data_dates(items, &outcomes)).await?;
            Ok(Written { outcomes, changed })
        }

        /// A sync of a scope, in the caller's transaction: upserts, then withdraws
        /// what the scope no longer lists (ordered by id, as upserts lock, so
        /// concurrent syncs lock rows alike).
        pub(super) async fn sync_in(
            conn: &mut $Conn,
            scope: &str,
            items: &[Item],
            keep: &[Source],
        ) -> Result<Written> {
            let mut changed = BTreeSet::new();
            let outcomes = upsert_batch(conn, $crate::store::Batch { items, ownership: $crate::store::Ownership::Respect }, &mut changed).await?;
            let dates = data_dates(items, &outcomes);
            let mut written = Written { outcomes, changed };
            let present: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, source FROM items WHERE substr(source, 1, length($1)) = $1 ORDER BY id",
            )
            .bind(scope)
            .fetch_all(&mut *conn)
            .await?;
            let now = Utc::now();
            for id in to_withdraw(present, items, keep) {
                if delete_one(conn, &id, now, &mut written.changed).await? {
                    written.outcomes.push(Outcome::Deleted);
                }
            }
            finish(conn, &written.changed, &dates).await?;
            Ok(written)
        }

        /// A withdrawal, in the caller's transaction; `None` if the id is unknown.
        pub(super) async fn delete_in(
            conn: &mut $Conn,
            id: &str,
            at: DateTime<Utc>,
        ) -> Result<Option<Written>> {
            let mut written = Written::default();
            if !delete_one(conn, id, at, &mut written.changed).await? {
                return Ok(None);
            }
            written.outcomes.push(Outcome::Deleted);
            finish(conn, &written.changed, &BTreeMap::new()).await?;
            Ok(Some(written))
        }

        /// An export's archives written as they were: before its items, so
        /// that the items find their places in the logs taken.
        async fn import_archive(
            conn: &mut $Conn,
            archive: &$crate::store::ArchiveExport,
        ) -> Result<()> {
            for chunk in archive.log.chunks(5_000) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO feed_log (feed, item_id, seq, deleted, link) {LOG_ROWS_IN}
                     ON CONFLICT (feed, item_id) DO UPDATE SET seq = excluded.seq,
                       deleted = excluded.deleted, link = excluded.link"
                )))
                .bind(serde_json::to_string(chunk).expect("rows serialize"))
                .execute(&mut *conn)
                .await?;
            }
            for (feed, page, last_seq) in &archive.pages {
                sqlx::query(
                    "INSERT INTO archive_pages (feed, page, last_seq) VALUES ($1, $2, $3)
                     ON CONFLICT (feed, page) DO NOTHING",
                )
                .bind(feed)
                .bind(page)
                .bind(last_seq)
                .execute(&mut *conn)
                .await?;
            }
            for (feed, member, seq) in &archive.cursors {
                sqlx::query(
                    "INSERT INTO archive_cursors (feed, member, seq) VALUES ($1, $2, $3)
                     ON CONFLICT (feed, member) DO UPDATE SET seq = excluded.seq",
                )
                .bind(feed)
                .bind(member)
                .bind(seq)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }

        /// An export written as is (same ids, dates, tombstones, archives),
        /// idempotently.
        pub(super) async fn import_in(conn: &mut $Conn, data: &Export) -> Result<Written> {
            import_archive(conn, &data.archive).await?;
            let mut changed = BTreeSet::new();
            let outcomes =
                upsert_batch(conn, $crate::store::Batch { items: &data.items, ownership: $crate::store::Ownership::Take }, &mut changed).await?;
            let dates = data_dates(&data.items, &outcomes);
            let mut written = Written { outcomes, changed };
            for (feed, t) in &data.tombstones {
                let exists: Option<(i64,)> = sqlx::query_as(
                    "SELECT deleted FROM tombstones WHERE feed = $1 AND item_id = $2",
                )
                .bind(feed.key())
                .bind(&t.id)
                .fetch_optional(&mut *conn)
                .await?;
                if exists.map(|(d,)| d) != Some(millis(t.deleted)) {
                    insert_tombstone(conn, feed, t).await?;
                    written.changed.insert(feed.clone());
                }
            }
            finish(conn, &written.changed, &dates).await?;
            Ok(written)
        }

        pub(super) async fn expire_tx(
            pool: &$Pool,
            source: &Source,
            before: DateTime<Utc>,
        ) -> Result<Written> {
            let mut tx = pool.begin().await?;
            let gone: Vec<(String, String)> = sqlx::query_as(
                "DELETE FROM items WHERE source = $1 AND published < $2 RETURNING id, doc",
            )
            .bind(source.to_string())
            .bind(millis(before))
            .fetch_all(&mut *tx)
            .await?;
            let mut written = Written::default();
            for (id, doc) in &gone {
                written.changed.extend($crate::catalog::item_feeds(&decode(id, doc)?));
                written.outcomes.push(Outcome::Deleted);
            }
            finish(&mut tx, &written.changed, &BTreeMap::new()).await?;
            tx.commit().await?;
            Ok(written)
        }

        /// The write operations as whole transactions on a pool.
        #[allow(dead_code)]
        pub(super) async fn upsert_tx(
            pool: &$Pool,
            items: &[Item],
            ownership: $crate::store::Ownership,
        ) -> Result<Written> {
            let mut tx = pool.begin().await?;
            let written = upsert_in(&mut tx, items, ownership).await?;
            tx.commit().await?;
            Ok(written)
        }

        pub(super) async fn sync_tx(
            pool: &$Pool,
            scope: &str,
            items: &[Item],
            keep: &[Source],
        ) -> Result<Written> {
            let mut tx = pool.begin().await?;
            let written = sync_in(&mut tx, scope, items, keep).await?;
            tx.commit().await?;
            Ok(written)
        }

        pub(super) async fn delete_tx(
            pool: &$Pool,
            id: &str,
            at: DateTime<Utc>,
        ) -> Result<Option<Written>> {
            let mut tx = pool.begin().await?;
            let written = delete_in(&mut tx, id, at).await?;
            tx.commit().await?;
            Ok(written)
        }

        pub(super) async fn import_tx(pool: &$Pool, data: &Export) -> Result<Written> {
            let mut tx = pool.begin().await?;
            let written = import_in(&mut tx, data).await?;
            tx.commit().await?;
            Ok(written)
        }

        pub(super) async fn add_sources_tx(
            pool: &$Pool,
            sources: &[$crate::model::FetchState],
        ) -> Result<()> {
            let mut tx = pool.begin().await?;
            for s in sources {
                sqlx::query(
                    "INSERT INTO sources (name, url, next_fetch) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(&s.source)
                .bind(&s.url)
                .bind(millis(s.next_fetch))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn fetch_states(
            conn: &mut $Conn,
        ) -> Result<Vec<$crate::model::FetchState>> {
            let rows: Vec<$crate::store::SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM sources ORDER BY name",
                $crate::store::SOURCE_COLUMNS
            )))
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows.into_iter().map($crate::store::fetch_state).collect())
        }

        /// Saves states in one statement (the backend's `SAVE_STATES`), its
        /// own transaction: one round trip and one commit for a round of
        /// fetches. Each is written where the source is still leased to
        /// `owner` (or to no one); per state, whether it was. (A source twice
        /// in one batch: its last.)
        pub(super) async fn save_fetch_states_tx(
            pool: &$Pool,
            states: &[$crate::model::FetchState],
            owner: &str,
        ) -> Result<Vec<bool>> {
            let mut last = BTreeMap::new();
            for s in states {
                last.insert(s.source.as_str(), s);
            }
            let rows: Vec<serde_json::Value> = last
                .values()
                .map(|s| {
                    serde_json::json!({
                        "name": s.source,
                        "url": s.url,
                        "etag": s.etag,
                        "last_modified": s.last_modified,
                        "last_status": s.last_status,
                        "last_error": s.last_error,
                        "failures": s.failures,
                        "last_fetch": s.last_fetch.map(millis),
                        "next_fetch": millis(s.next_fetch),
                        "body_hash": s.body_hash,
                        "items": i64::try_from(s.items).unwrap_or(i64::MAX),
                    })
                })
                .collect();
            let written: Vec<(String,)> = sqlx::query_as(SAVE_STATES)
                .bind(serde_json::Value::Array(rows).to_string())
                .bind(owner)
                .fetch_all(pool)
                .await?;
            let written: BTreeSet<String> = written.into_iter().map(|(n,)| n).collect();
            Ok(states.iter().map(|s| written.contains(&s.source)).collect())
        }

        /// Claims due sources with the backend's `CLAIM` statement.
        pub(super) async fn claim_due(
            conn: &mut $Conn,
            claim: &$crate::store::Claim<'_>,
        ) -> Result<Vec<$crate::model::FetchState>> {
            let rows: Vec<$crate::store::SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{CLAIM} RETURNING {}",
                $crate::store::SOURCE_COLUMNS
            )))
            .bind(claim.owner)
            .bind(millis(claim.until))
            .bind(millis(claim.now))
            .bind(limit(claim.limit))
            .bind(claim.only.map(|names| {
                serde_json::to_string(names).expect("strings serialize")
            }))
            .fetch_all(&mut *conn)
            .await?;
            let mut states: Vec<_> = rows.into_iter().map($crate::store::fetch_state).collect();
            states.sort_by(|a, b| (a.next_fetch, &a.source).cmp(&(b.next_fetch, &b.source)));
            Ok(states)
        }

        pub(super) async fn websub_subscribe(
            pool: &$Pool,
            sub: &$crate::websub::Subscription,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO websub_subscriptions (topic, callback, secret, lease_until)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (topic, callback)
                 DO UPDATE SET secret = excluded.secret, lease_until = excluded.lease_until",
            )
            .bind(&sub.topic)
            .bind(&sub.callback)
            .bind(&sub.secret)
            .bind(millis(sub.lease_until))
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn websub_unsubscribe(
            pool: &$Pool,
            topic: &str,
            callback: &str,
        ) -> Result<bool> {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM websub_outbox WHERE topic = $1 AND callback = $2 AND delivered IS NULL",
            )
            .bind(topic)
            .bind(callback)
            .execute(&mut *tx)
            .await?;
            let gone = sqlx::query("DELETE FROM websub_subscriptions WHERE topic = $1 AND callback = $2")
                .bind(topic)
                .bind(callback)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(gone > 0)
        }

        pub(super) async fn websub_subscriptions(
            conn: &mut $Conn,
        ) -> Result<Vec<$crate::websub::Subscription>> {
            let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
                "SELECT topic, callback, secret, lease_until FROM websub_subscriptions
                 ORDER BY topic, callback",
            )
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(topic, callback, secret, lease)| $crate::websub::Subscription {
                    topic,
                    callback,
                    secret,
                    lease_until: from_millis(lease),
                })
                .collect())
        }

        /// With the backend's `WEBSUB_ENQUEUE`: the changes as a JSON array
        /// of `{topic, etag}` (`$1`), at `$2`.
        pub(super) async fn websub_enqueue(
            pool: &$Pool,
            changes: &[(String, String)],
            now: DateTime<Utc>,
        ) -> Result<usize> {
            let rows: Vec<serde_json::Value> = changes
                .iter()
                .map(|(topic, etag)| serde_json::json!({"topic": topic, "etag": etag}))
                .collect();
            let queued = sqlx::query(WEBSUB_ENQUEUE)
                .bind(serde_json::Value::Array(rows).to_string())
                .bind(millis(now))
                .execute(pool)
                .await?
                .rows_affected();
            Ok(usize::try_from(queued).unwrap_or(usize::MAX))
        }

        /// Claims (rows locked as the backend's `ROW_LOCK` says) under a token
        /// of this claim's own, then reads what it claimed: each with its
        /// subscriber's secret, superseded when a later change of the same
        /// topic is queued for it or the subscription is gone.
        pub(super) async fn websub_claim(
            pool: &$Pool,
            owner: &str,
            now: DateTime<Utc>,
            until: DateTime<Utc>,
            count: usize,
        ) -> Result<Vec<$crate::websub::Delivery>> {
            static CLAIMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let token = format!(
                "{owner}#{}",
                CLAIMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let mut tx = pool.begin().await?;
            // Due rows, not claimed or whose claim ran out, oldest first, each
            // counted as an attempt.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE websub_outbox
                 SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM websub_outbox
                              WHERE delivered IS NULL AND next_attempt <= $3
                                AND (claimed_until IS NULL OR claimed_until <= $3)
                              ORDER BY id LIMIT $4{ROW_LOCK})"
            )))
                .bind(&token)
                .bind(millis(until))
                .bind(millis(now))
                .bind(limit(count))
                .execute(&mut *tx)
                .await?;
            let rows: Vec<(i64, String, String, String, i64, Option<String>, bool, bool)> =
                sqlx::query_as(
                    "SELECT o.id, o.topic, o.callback, o.etag, o.attempts, s.secret,
                            EXISTS (SELECT 1 FROM websub_outbox n
                                    WHERE n.topic = o.topic AND n.callback = o.callback
                                      AND n.id > o.id),
                            s.callback IS NULL
                     FROM websub_outbox o
                     LEFT JOIN websub_subscriptions s
                       ON s.topic = o.topic AND s.callback = o.callback
                     WHERE o.claimed_by = $1 AND o.delivered IS NULL
                     ORDER BY o.id",
                )
                .bind(&token)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows
                .into_iter()
                .map(
                    |(id, topic, callback, etag, attempts, secret, later, gone)| {
                        $crate::websub::Delivery {
                            id,
                            topic,
                            callback,
                            etag,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                            secret,
                            superseded: later || gone,
                        }
                    },
                )
                .collect())
        }

        pub(super) async fn websub_settle(
            pool: &$Pool,
            settled: &[$crate::websub::Settled],
            now: DateTime<Utc>,
        ) -> Result<()> {
            use $crate::websub::Settled;
            let mut tx = pool.begin().await?;
            for s in settled {
                match s {
                    Settled::Done { id } => {
                        sqlx::query(
                            "UPDATE websub_outbox SET delivered = $2, claimed_by = NULL,
                               claimed_until = NULL WHERE id = $1",
                        )
                        .bind(id)
                        .bind(millis(now))
                        .execute(&mut *tx)
                        .await?;
                    }
                    Settled::Retry { id, next, error } => {
                        sqlx::query(
                            "UPDATE websub_outbox SET next_attempt = $2, last_error = $3,
                               claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                        )
                        .bind(id)
                        .bind(millis(*next))
                        .bind(error)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn websub_expire(pool: &$Pool, now: DateTime<Utc>) -> Result<usize> {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM websub_outbox WHERE delivered IS NOT NULL AND delivered < $1")
                .bind(millis(now - chrono::Duration::days(1)))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM websub_outbox WHERE NOT EXISTS (
                   SELECT 1 FROM websub_subscriptions s
                   WHERE s.topic = websub_outbox.topic AND s.callback = websub_outbox.callback
                     AND s.lease_until > $1)",
            )
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            let gone = sqlx::query("DELETE FROM websub_subscriptions WHERE lease_until <= $1")
                .bind(millis(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(usize::try_from(gone).unwrap_or(usize::MAX))
        }

        pub(super) async fn websub_remote(
            conn: &mut $Conn,
            source: &str,
        ) -> Result<Option<$crate::websub::Remote>> {
            let row: Option<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as(
                "SELECT source, hub, topic, secret, requested, lease_until
                 FROM websub_remote WHERE source = $1",
            )
            .bind(source)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.map(|(source, hub, topic, secret, requested, lease)| {
                $crate::websub::Remote {
                    source,
                    hub,
                    topic,
                    secret,
                    requested: from_millis(requested),
                    lease_until: lease.map(from_millis),
                }
            }))
        }

        pub(super) async fn websub_remote_save(
            pool: &$Pool,
            r: &$crate::websub::Remote,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO websub_remote (source, hub, topic, secret, requested, lease_until)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (source) DO UPDATE SET hub = excluded.hub, topic = excluded.topic,
                   secret = excluded.secret, requested = excluded.requested,
                   lease_until = excluded.lease_until",
            )
            .bind(&r.source)
            .bind(&r.hub)
            .bind(&r.topic)
            .bind(&r.secret)
            .bind(millis(r.requested))
            .bind(r.lease_until.map(millis))
            .execute(pool)
            .await?;
            Ok(())
        }

        /// After an item row is written (PostgreSQL; SQLite indexes a batch at
        /// once): its feeds (replacing the old version's),
        /// and the end of any tombstones of a withdrawn item that comes back.
        #[allow(dead_code)]
        async fn index_item(
            conn: &mut $Conn,
            item: &Item,
            changed: &mut BTreeSet<FeedId>,
        ) -> Result<()> {
            sqlx::query("DELETE FROM item_feeds WHERE item_id = $1")
                .bind(&item.id)
                .execute(&mut *conn)
                .await?;
            for feed in $crate::catalog::item_feeds(&item) {
                sqlx::query(
                    "INSERT INTO item_feeds (feed, item_id, kind, published) VALUES ($1, $2, $3, $4)",
                )
                .bind(feed.key())
                .bind(&item.id)
                .bind(kind_str(item.kind))
                .bind(millis(item.published))
                .execute(&mut *conn)
                .await?;
                changed.insert(feed);
            }
            let feeds: BTreeSet<FeedId> = $crate::catalog::item_feeds(&item).into_iter().collect();
            lock_feeds(conn, &feeds).await?;
            let rows: Vec<(String, &str, i64)> = feeds
                .iter()
                .map(|f| (f.key().into_owned(), item.id.as_str(), millis(item.published)))
                .collect();
            log_new(conn, &rows).await?;
            let revived: Vec<(String, String)> = sqlx::query_as(
                "DELETE FROM tombstones WHERE item_id = $1 RETURNING feed, item_id",
            )
            .bind(&item.id)
            .fetch_all(&mut *conn)
            .await?;
            revive_logs(conn, &revived).await?;
            changed.extend(revived.into_iter().map(|(f, _)| FeedId::from_key(&f)));
            Ok(())
        }
    };
}

pub(crate) use shared_sql;
