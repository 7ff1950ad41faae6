//! The SQL of RFC 5005 archives both backends run alike: each feed's log in
//! arrival order, timelines' logs taken forward from their members', closed
//! pages cut from the front, a page's items and tombstones.

macro_rules! archives_sql {
    ($Conn:ty, $Pool:ty) => {

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
                insert_page(conn, &key, page, last_seq).await?;
            }
            Ok(())
        }

        /// A closed page's bound; one closed before stays as it is.
        async fn insert_page(conn: &mut $Conn, feed: &str, page: i64, last_seq: i64) -> Result<()> {
            sqlx::query(
                "INSERT INTO archive_pages (feed, page, last_seq) VALUES ($1, $2, $3)
                 ON CONFLICT (feed, page) DO NOTHING",
            )
            .bind(feed)
            .bind(page)
            .bind(last_seq)
            .execute(&mut *conn)
            .await?;
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
            // Whether an entry is still in the feed is asked of its document
            // once read ([`Members`]), not of `item_feeds` row by row.
            // The page's documents in no order: SQLite sorted the rows
            // whole, documents included, in a temporary b-tree; their items
            // sort in microseconds. SQLite joins them in one value (one row
            // through sqlx's SQLite worker, where 500 cost twice SQLite's
            // own read); PostgreSQL sends rows as it reads them, decoded in
            // batches while the rest arrive (joined there, the page waited
            // for the whole read before its first byte: 2-4 ms slower).
            let mut rows = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(format!(
                "SELECT {PAGE_DOCS} FROM feed_log l JOIN items i ON i.id = l.item_id
                 WHERE l.feed = $1 AND l.seq > $2 AND l.seq <= $3"
            )))
            .bind($crate::store::log_key(feed))
            .bind(after)
            .bind(upto)
            .fetch(&mut *conn);
            let mut decoding = $crate::store::Decoding::new();
            while let Some(docs) = futures_util::TryStreamExt::try_next(&mut rows).await? {
                if let Some(docs) = docs {
                    decoding.push(docs);
                }
            }
            drop(rows);
            let mut items = decoding.finish().await?;
            let members = $crate::store::Members::new(members);
            items.retain(|item| members.hold(item));
            items.sort_by(|a, b| (b.published, &b.id).cmp(&(a.published, &a.id)));
            Ok(items)
        }

        /// The ids of a feed's log after `after` that are still in the feed
        /// (in one of `members`), with their documents' hashes, in no
        /// order: [`logged_items`] without their documents.
        async fn logged_heads(
            conn: &mut $Conn,
            feed: &FeedId,
            members: &[FeedId],
            after: i64,
        ) -> Result<Vec<(String, String)>> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT i.id, i.hash FROM feed_log l JOIN items i ON i.id = l.item_id
                 WHERE l.feed = $2 AND l.seq > $3
                   AND EXISTS (SELECT 1 FROM item_feeds f
                               WHERE f.item_id = l.item_id AND (f.feed || '') IN ({FEEDS_IN}))"
            )))
            .bind($crate::store::feed_keys(members))
            .bind($crate::store::log_key(feed))
            .bind(after)
            .fetch_all(&mut *conn)
            .await?)
        }

        /// The newest `n` items of a feed, or of several feeds by date each
        /// once, as ids with their documents' hashes.
        async fn newest_heads(
            conn: &mut $Conn,
            members: &[FeedId],
            n: usize,
        ) -> Result<Vec<(String, String)>> {
            let query = match members {
                // One feed's newest, read in its index's order.
                [only] => sqlx::query_as(
                    "SELECT i.id, i.hash FROM
                       (SELECT item_id FROM item_feeds WHERE feed = $1
                        ORDER BY published DESC, item_id DESC LIMIT $2) f
                     JOIN items i ON i.id = f.item_id",
                )
                .bind(only.key()),
                _ => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT i.id, i.hash FROM
                       (SELECT item_id, max(published) AS published FROM item_feeds
                        WHERE feed IN ({FEEDS_IN}) GROUP BY item_id
                        ORDER BY published DESC, item_id DESC LIMIT $2) f
                     JOIN items i ON i.id = f.item_id"
                )))
                .bind($crate::store::feed_keys(members)),
            };
            Ok(query.bind(limit(n)).fetch_all(&mut *conn).await?)
        }

        /// The items of `heads` (ids with their documents' hashes), in no
        /// order: those decoded before from `decoded`, the others read and
        /// decoded now, and kept there.
        async fn items_of(
            conn: &mut $Conn,
            decoded: &$crate::store::Decoded,
            heads: &[(String, String)],
        ) -> Result<Vec<Item>> {
            let mut items = Vec::with_capacity(heads.len());
            let mut missing = Vec::new();
            for (id, hash) in heads {
                match decoded.get(id, hash) {
                    Some(item) => items.push(item),
                    None => missing.push(id.as_str()),
                }
            }
            if missing.is_empty() {
                return Ok(items);
            }
            let rows: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, hash, doc FROM items WHERE id IN ({FEEDS_IN})"
            )))
            .bind(serde_json::to_string(&missing).expect("ids serialize"))
            .fetch_all(&mut *conn)
            .await?;
            for (id, hash, doc) in rows {
                let item = decode(&id, &doc)?;
                decoded.put(&item, hash, doc.len());
                items.push(item);
            }
            Ok(items)
        }

        /// What follows a feed's newest closed page (see
        /// [`crate::store::Store::window`]).
        pub(super) async fn window(
            conn: &mut $Conn,
            decoded: &$crate::store::Decoded,
            feed: &FeedId,
            members: &[FeedId],
            size: usize,
        ) -> Result<$crate::store::Window> {
            let (pages, last) = last_page(conn, feed).await?;
            // The newest `size` by date, and whatever no closed page holds
            // yet (an entry older than those, just arrived), each once: ids
            // and hashes first, then the documents of those not decoded
            // before. Under a stream of writes each pass re-read its
            // feeds whole, decoding the open log twice; those reads were a
            // tenth of the writer's CPU.
            let mut heads = newest_heads(conn, members, size).await?;
            let mut seen: std::collections::HashSet<String> =
                heads.iter().map(|(id, _)| id.clone()).collect();
            for head in logged_heads(conn, feed, members, last).await? {
                if seen.insert(head.0.clone()) {
                    heads.push(head);
                }
            }
            let mut items = items_of(conn, decoded, &heads).await?;
            items.sort_by(|a, b| (b.published, &b.id).cmp(&(a.published, &a.id)));
            Ok($crate::store::Window {
                pages: u64::try_from(pages).unwrap_or(0),
                items,
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
            // The edition read first: rows read after a withdrawal with
            // the edition before it are refused at their keep, never the
            // other way round.
            let bounds: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT page, last_seq, edition FROM archive_pages
                 WHERE feed = $1 AND page IN ($2, $3)",
            )
            .bind($crate::store::log_key(feed))
            .bind(page)
            .bind(page - 1)
            .fetch_all(&mut *conn)
            .await?;
            let Some(&(_, upto, edition)) = bounds.iter().find(|b| b.0 == page) else {
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
                edition,
            }))
        }

        /// The statement that appends to feeds' logs the items new to them,
        /// numbered after each feed's last, oldest published first (an item
        /// already in a feed's log keeps its place; its number goes unused);
        /// its rows ([`log_new_rows`]) the parameter numbered `param`. The
        /// caller holds the feeds' `feed_versions` rows (`lock_feeds` on
        /// PostgreSQL; SQLite has one writer), so no other writer numbers
        /// those feeds until this one commits: a feed's numbers commit in
        /// order. No anti-join: PostgreSQL plans a prepared statement once,
        /// while the table is small, and a first poll then scanned the log at
        /// every write.
        fn log_new_statement(param: usize) -> String {
            format!("WITH {} {LOG_NEW_INSERT}", log_new_with(param))
        }

        /// [`log_new_statement`]'s common table expressions (`r`, the rows;
        /// `top`, each feed's last number), for a statement that appends
        /// with [`LOG_NEW_INSERT`] among other writes.
        fn log_new_with(param: usize) -> String {
            format!(
                "r AS ({}),
                 top AS MATERIALIZED (
                   SELECT f.feed, (SELECT coalesce(max(m.seq), 0) FROM feed_log m
                                   WHERE m.feed = f.feed) AS top
                   FROM (SELECT DISTINCT feed FROM r) AS f)",
                log_new_in(param)
            )
        }

        /// The insert of [`log_new_statement`], after [`log_new_with`].
        const LOG_NEW_INSERT: &str = "INSERT INTO feed_log (feed, item_id, seq)
            SELECT r.feed, r.item_id, top.top + r.n FROM r JOIN top ON top.feed = r.feed
            WHERE true
            ON CONFLICT (feed, item_id) DO NOTHING";

        /// Items new to feeds (`(feed, item id, published)`) as the JSON
        /// array `log_new_in` reads: each row's place among its feed's new
        /// rows, oldest published first; the feed's last number is added in
        /// SQL, read once per feed before any insert.
        fn log_new_rows<S: AsRef<str>>(rows: &[(String, S, i64)]) -> String {
            let mut rows: Vec<(&str, &str, i64)> =
                rows.iter().map(|(f, id, p)| (f.as_str(), id.as_ref(), *p)).collect();
            rows.sort_by(|a, b| (a.0, a.2, a.1).cmp(&(b.0, b.2, b.1)));
            let mut ranked: Vec<(&str, &str, i64)> = Vec::with_capacity(rows.len());
            for (f, id, _) in rows {
                let n = match ranked.last() {
                    Some((last, _, n)) if *last == f => n + 1,
                    _ => 1,
                };
                ranked.push((f, id, n));
            }
            serde_json::to_string(&ranked).expect("rows serialize")
        }

        /// Withdrawn items that came back (`(feed, id)` of their tombstones):
        /// their log rows are no longer tombstones, and the pages that
        /// showed their tombstones are made again.
        async fn revive_logs(conn: &mut $Conn, revived: &[(String, String)]) -> Result<()> {
            let ids: BTreeSet<&str> = revived.iter().map(|(_, id)| id.as_str()).collect();
            for id in ids {
                forget_pages_of(conn, id).await?;
                sqlx::query("UPDATE feed_log SET deleted = NULL, link = NULL WHERE item_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
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
                insert_page(conn, feed, *page, *last_seq).await?;
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
    };
}

pub(crate) use archives_sql;
