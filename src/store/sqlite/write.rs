//! How SQLite writes: a group commit's transaction ([`upsert_group`], with
//! the stored rows read and the writes sent in two requests to sqlx's SQLite
//! thread), a batch inside a caller's transaction ([`upsert_batch`]), and
//! the feeds' version bump ([`finish`]).

use super::*;

/// A group's upserts (of one ownership) in one transaction, each caller
/// with its own outcomes (SQLite's one writer needs no row locks).
pub(super) async fn upsert_group(
    write: &SqlitePool,
    group: &mut [UpsertJob],
) -> Result<Vec<Written>> {
    // The group's items as one batch, as PostgreSQL writes a group
    // (`postgres/group.rs`): a few statements for the whole group, where a
    // batch per caller was a few statements each, every one a round trip to
    // sqlx's SQLite thread. An id two callers send is planned in their order.
    let merged = Merged::take(group);
    let batch = crate::store::Batch {
        items: &merged.items,
        docs: Some(&merged.docs),
        ownership: group[0].ownership,
    };
    let mut changed = BTreeSet::new();
    let written = match write.acquire().await {
        Ok(mut conn) => match write_batch(&mut conn, batch, &mut changed, Framing::Own).await {
            Ok(outcomes) => Ok(merged.split(outcomes, &changed)),
            Err(e) => {
                abandon(conn).await;
                Err(e)
            }
        },
        Err(e) => Err(e.into()),
    };
    merged.give_back(group);
    written
}

/// The database's clock in whole seconds, as unix milliseconds.
const DB_NOW: &str = "(CAST(strftime('%s', 'now') AS INTEGER) * 1000)";

/// Bumps the version and Last-Modified of every changed feed in one statement
/// (`jsonb_each` expands the list); see [`FeedState::modified`] for the rule.
pub(super) async fn finish(
    conn: &mut SqliteConnection,
    feeds: &BTreeSet<FeedId>,
    dates: &BTreeMap<String, i64>,
) -> Result<()> {
    if feeds.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(&**FINISH))
        .bind(feed_changes(feeds, dates))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`finish`]'s statement, its `[feed, date]` rows the parameter numbered
/// `param`.
fn finish_statement(param: usize) -> String {
    format!(
        "INSERT INTO feed_versions (feed, version, modified)
         SELECT value ->> 0, 1,
                CASE WHEN value ->> 1 > 0
                     THEN min(value ->> 1, {DB_NOW}) ELSE {DB_NOW} END
         FROM jsonb_each(${param}) WHERE true
         ON CONFLICT (feed) DO UPDATE SET version = version + 1,
           modified = max(CASE WHEN excluded.modified > feed_versions.modified
                               THEN excluded.modified ELSE {DB_NOW} END,
                          feed_versions.modified + 1000)"
    )
}

static FINISH: LazyLock<String> = LazyLock::new(|| finish_statement(1));

/// A batch's writes, as one request to sqlx's SQLite thread (its
/// statements share one argument list): first its rows of `items`,
/// `rows` of them (a power of two, at most [`ROWS_AT_ONCE`]; a new row's
/// `seen` is written with it, see `carried_since`, a row that exists keeps
/// its own); then, numbered after the rows' values, the replaced rows' old
/// feeds dropped (`+1`), the rows' feeds (`+2`) and their places in the
/// feeds' logs (`+3`), the changed feeds' versions bumped ([`finish`]'s
/// statement, `+5`), and the tombstones of the ids created (`+4`) ended,
/// returned: a withdrawn item that comes back is no longer deleted. Empty
/// arrays make no-ops. With `commit`, the transaction's COMMIT last.
fn write_sql(rows: usize, commit: bool) -> &'static str {
    static SIZED: LazyLock<Vec<[String; 2]>> = LazyLock::new(|| {
        (0..=ROWS_AT_ONCE.trailing_zeros())
            .map(|bits| {
                let rows = 1 << bits;
                let after = rows * ROW_VALUES;
                let sql = format!(
                    "{}
                     DELETE FROM item_feeds WHERE item_id IN (SELECT value FROM json_each(${}));
                     INSERT INTO item_feeds (feed, item_id, kind, published)
                     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3
                     FROM jsonb_each(${});
                     {};
                     {};
                     DELETE FROM tombstones WHERE item_id IN (SELECT value FROM json_each(${}))
                     RETURNING feed, item_id",
                    insert_rows(rows),
                    after + 1,
                    after + 2,
                    log_new_statement(after + 3),
                    finish_statement(after + 5),
                    after + 4,
                );
                let committed = format!("{sql};\nCOMMIT");
                [sql, committed]
            })
            .collect()
    });
    &SIZED[rows
        .clamp(1, ROWS_AT_ONCE)
        .next_power_of_two()
        .trailing_zeros() as usize][usize::from(commit)]
}

/// The values of an `items` row, bound in this order.
const ROW_VALUES: usize = 7;

/// Rows one statement writes at most.
const ROWS_AT_ONCE: usize = 1024;

/// [`ROWS_AT_ONCE`] rows of a batch that has more, written ahead of the
/// rest in a request of their own (an import is one batch): SQLite refuses
/// a request of over a million bytes.
static ROWS_AHEAD: LazyLock<String> = LazyLock::new(|| insert_rows(ROWS_AT_ONCE));

/// The statement that writes `rows` rows of `items`, its values bound one
/// by one, not as a JSON array (SQLite parsed the array and unescaped each
/// document out of it again), and by position, not by number (sqlx looks
/// each numbered parameter's name up, and SQLite finds a name by reading
/// the statement's list of them: a batch's hundreds of values cost more
/// than the JSON did). Rows past a batch's are NULL and skipped, so that a
/// dozen statements are prepared, not one per batch size.
fn insert_rows(rows: usize) -> String {
    let row = format!("({})", ["?"; ROW_VALUES].join(", "));
    format!(
        "INSERT INTO items (id, source, kind, published, hash, doc, seen)
         SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, kind = excluded.kind,
           published = excluded.published, hash = excluded.hash, doc = excluded.doc;",
        vec![row; rows].join(", ")
    )
}

/// Binds rows of `items` in [`insert_rows`]' order, then NULL rows up to
/// `padded`.
fn bind_rows<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    rows: &[(&'q String, &'q (Item, String, String))],
    padded: usize,
) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
    for (id, (it, hash, doc)) in rows {
        query = query
            .bind(id.as_str())
            .bind(it.source.to_string())
            .bind(kind_str(it.kind))
            .bind(millis(it.published))
            .bind(hash.as_str())
            .bind(doc.as_str())
            .bind(crate::store::carried_since(it));
    }
    for _ in rows.len() * ROW_VALUES..padded * ROW_VALUES {
        query = query.bind(None::<&str>);
    }
    query
}

/// Upserts a batch with two requests for the whole batch: the stored rows
/// read at once, each item planned in memory (in order, so an id repeated in the
/// batch sees its earlier version), then the rows, their feeds and any revived
/// tombstones written at once ([`write_sql`]). SQLite's one writer needs no
/// row locks, and requests are what costs here: each is a round trip to
/// sqlx's SQLite thread (about 0.1 ms on two cores, a thread woken each
/// way), which one statement per item made most of an import's time and
/// five per batch most of a sequential writer's.
pub(super) async fn upsert_batch(
    conn: &mut SqliteConnection,
    batch: crate::store::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Vec<Outcome>> {
    write_batch(conn, batch, changed, Framing::Inside).await
}

/// Where a batch's writes sit.
#[derive(Clone, Copy, PartialEq)]
enum Framing {
    /// In a transaction the caller opened, commits and finishes (a sync,
    /// an import).
    Inside,
    /// In a transaction of their own, a group commit's: opened in the same
    /// request as the stored rows' read and, unless a tombstone may be
    /// revived, finished and committed in the same request as the writes.
    /// Two requests to sqlx's SQLite thread for a write, not four, without
    /// sqlx's own transaction (which sends BEGIN and COMMIT alone); a
    /// failure anywhere is [`abandon`]ed. The committer runs as a task of
    /// its own, so no caller's cancellation stops it between the two.
    Own,
}

/// The stored rows of a batch's ids (`$1`), and in [`Framing::Own`] the ids
/// among them with tombstones (a row of NULLs but the id): a revived item's
/// logs and feeds need more statements after the writes, so that batch
/// commits on its own.
const STORED: &str =
    "SELECT id, source, hash, doc FROM items WHERE id IN (SELECT value FROM json_each($1))";
static STORED_OWN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "BEGIN IMMEDIATE;
         {STORED}
         UNION ALL
         SELECT DISTINCT item_id, NULL, NULL, NULL FROM tombstones
         WHERE item_id IN (SELECT value FROM json_each($1))"
    )
});
/// A row of [`STORED_OWN`]: id, then source, hash and doc, all NULL for an
/// id with tombstones.
type StoredOrTombstoned = (String, Option<String>, Option<String>, Option<String>);

/// A write transaction of our own that failed: rolled back, or where even
/// that fails (the BEGIN that failed left none) the connection closed, so
/// that none goes back to the pool inside a transaction.
async fn abandon(mut conn: sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
        let _ = conn.close().await;
    }
}

async fn commit(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query("COMMIT").execute(conn).await?;
    Ok(())
}

/// [`upsert_batch`], or in [`Framing::Own`] a group commit's whole
/// transaction: what [`finish`] does and the commit in the same request as
/// the writes.
async fn write_batch(
    conn: &mut SqliteConnection,
    batch: crate::store::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
    framing: Framing,
) -> Result<Vec<Outcome>> {
    let own = framing == Framing::Own;
    let ids: Vec<&str> = batch.items.iter().map(|i| i.id.as_str()).collect();
    let items = batch.items;
    let rows: Vec<StoredOrTombstoned> = sqlx::query_as(sqlx::AssertSqlSafe(if own {
        &**STORED_OWN
    } else {
        STORED
    }))
    .bind(json(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let mut tombstoned = false;
    let stored: Vec<(String, String, String, String)> = rows
        .into_iter()
        .filter_map(|row| match row {
            (id, Some(source), Some(hash), Some(doc)) => Some((id, source, hash, doc)),
            _ => {
                tombstoned = true;
                None
            }
        })
        .collect();
    let crate::store::BatchPlan {
        outcomes,
        writes,
        existed,
        touched,
    } = crate::store::plan_batch(&batch, stored)?;
    let dates = data_dates(items, &outcomes);
    if writes.is_empty() {
        if own {
            finish(conn, &touched, &dates).await?;
            commit(conn).await?;
        }
        changed.extend(touched);
        return Ok(outcomes);
    }
    let replaced: Vec<&str> = writes
        .keys()
        .map(String::as_str)
        .filter(|id| existed.contains(*id))
        .collect();
    let feeds: Vec<(String, &str, &str, i64)> = writes
        .iter()
        .flat_map(|(id, (it, ..))| {
            crate::catalog::item_feeds(it).into_iter().map(move |f| {
                (
                    f.key().into_owned(),
                    id.as_str(),
                    kind_str(it.kind),
                    millis(it.published),
                )
            })
        })
        .collect();
    let logged: Vec<(String, &str, i64)> = feeds
        .iter()
        .map(|(feed, id, _, published)| (feed.clone(), *id, *published))
        .collect();
    let created: Vec<&str> = writes
        .keys()
        .map(String::as_str)
        .filter(|id| !existed.contains(*id))
        .collect();
    // Committed with the writes unless a tombstone may be revived (its
    // logs and feeds come after, in the same transaction).
    let committing = own && !tombstoned;
    let rows: Vec<_> = writes.iter().collect();
    let last = (rows.len() - 1) / ROWS_AT_ONCE * ROWS_AT_ONCE;
    for ahead in rows[..last].chunks(ROWS_AT_ONCE) {
        let query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(&**ROWS_AHEAD));
        bind_rows(query, ahead, ROWS_AT_ONCE)
            .fetch_all(&mut *conn)
            .await?;
    }
    let rows = &rows[last..];
    let padded = rows.len().next_power_of_two();
    let query = sqlx::query_as(sqlx::AssertSqlSafe(write_sql(rows.len(), committing)));
    let revived: Vec<(String, String)> = bind_rows(query, rows, padded)
        .bind(json(&replaced))
        .bind(json(&feeds))
        .bind(log_new_rows(&logged))
        .bind(json(&created))
        .bind(if own {
            feed_changes(&touched, &dates)
        } else {
            "[]".into()
        })
        .fetch_all(&mut *conn)
        .await?;
    revive_logs(conn, &revived).await?;
    // Feeds of ended tombstones that the item is no longer in: the finish
    // above did not know them.
    let late: BTreeSet<FeedId> = revived
        .into_iter()
        .map(|(f, _)| FeedId::from_key(&f))
        .filter(|f| !touched.contains(f))
        .collect();
    if own {
        finish(conn, &late, &dates).await?;
        if !committing {
            commit(conn).await?;
        }
    }
    changed.extend(touched);
    changed.extend(late);
    Ok(outcomes)
}
