//! Writing a batch of items on a database other instances write too: rows
//! read and locked in id order, planned in memory, written with `UNNEST`;
//! row by row from a savepoint when another instance creates an id meanwhile.

use super::*;
use std::sync::LazyLock;

/// Upserts a batch with a few statements for the whole batch, as SQLite does:
/// the stored rows read and locked at once (in id order, as every batch locks,
/// so two batches never wait on each other in a cycle), each item planned in
/// memory in input order (an id repeated in the batch sees its earlier
/// version), then the new rows, the changed rows, their feeds and any revived
/// tombstones written through `UNNEST`. A new id that another transaction
/// creates meanwhile makes the batch start over row by row
/// ([`upsert_rows`]), which waits for and compares each row. Outcomes come back
/// in input order.
pub(super) async fn upsert_batch(
    conn: &mut PgConnection,
    batch: crate::store::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
) -> Result<Vec<Outcome>> {
    let mut logged = Vec::new();
    let outcomes = write_batch(conn, batch, changed, &mut logged, Locks::Now).await?;
    log_new(conn, &logged).await?;
    Ok(outcomes)
}

/// Items new to feeds, `(feed, item id, published)`, that a batch's writes
/// leave to be appended to the feeds' logs ([`log_new`], or in a group's
/// end: [`super::functions::finish`]).
pub(super) type Logged = Vec<(String, String, i64)>;

/// When a batch's writes take their feeds' `feed_versions` locks, which
/// number the feeds' logs one transaction at a time.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Locks {
    /// With the feeds' rows ([`index_and_lock`]): the caller appends to
    /// their logs next ([`log_new`]).
    Now,
    /// In the group's end ([`super::functions::finish`]), which takes them
    /// with the logs and the versions, so that they are held for a round
    /// trip less; a revived item's feeds are locked before its logs are
    /// mended.
    AtFinish,
}

/// [`upsert_batch`] but for the feeds' logs, whose new rows go to `logged`
/// (a group's end appends them), and for the feeds' locks (`locks`).
pub(super) async fn write_batch(
    conn: &mut PgConnection,
    batch: crate::store::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
    logged: &mut Logged,
    locks: Locks,
) -> Result<Vec<Outcome>> {
    let items = batch.items;
    if items.len() < 2 {
        return upsert_rows(conn, batch, changed, logged, locks).await;
    }
    let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query("SAVEPOINT upsert_batch")
        .execute(&mut *conn)
        .await?;
    let stored: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, source, hash, doc FROM items WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let crate::store::BatchPlan {
        outcomes,
        writes,
        existed,
        mut touched,
    } = crate::store::plan_batch(&batch, stored)?;
    let (created, replaced): (Vec<_>, Vec<_>) =
        writes.iter().partition(|(id, _)| !existed.contains(*id));
    let inserted = write_rows(
        conn,
        "INSERT INTO items (id, source, kind, published, hash, doc, seen)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[],
           $7::int8[])
         ON CONFLICT (id) DO NOTHING",
        &created,
    )
    .await?;
    if inserted < created.len() as u64 {
        // Created meanwhile by another transaction: compare row by row.
        sqlx::query("ROLLBACK TO SAVEPOINT upsert_batch")
            .execute(&mut *conn)
            .await?;
        return upsert_rows(conn, batch, changed, logged, locks).await;
    }
    write_rows(
        conn,
        "UPDATE items SET source = u.source, kind = u.kind, published = u.published,
           hash = u.hash, doc = u.doc
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[],
           $7::int8[])
           AS u(id, source, kind, published, hash, doc, seen)
         WHERE items.id = u.id",
        &replaced,
    )
    .await?;
    let replaced_ids: Vec<&str> = replaced.iter().map(|(id, _)| id.as_str()).collect();
    sqlx::query("DELETE FROM item_feeds WHERE item_id = ANY($1)")
        .bind(&replaced_ids)
        .execute(&mut *conn)
        .await?;
    let mut feeds: (Vec<String>, Vec<&str>, Vec<&str>, Vec<i64>) = Default::default();
    for (id, (item, ..)) in &writes {
        for feed in crate::catalog::item_feeds(item) {
            feeds.0.push(feed.key().into_owned());
            feeds.1.push(id);
            feeds.2.push(kind_str(item.kind));
            feeds.3.push(millis(item.published));
        }
    }
    let created_ids: Vec<&str> = created.iter().map(|(id, _)| id.as_str()).collect();
    let revived = index_and_lock(conn, &feeds, &created_ids, locks).await?;
    logged.extend(
        feeds
            .0
            .iter()
            .zip(&feeds.1)
            .zip(&feeds.3)
            .map(|((feed, id), published)| (feed.clone(), (*id).to_owned(), *published)),
    );
    revive_logs(conn, &revived).await?;
    touched.extend(revived.into_iter().map(|(f, _)| FeedId::from_key(&f)));
    sqlx::query("RELEASE SAVEPOINT upsert_batch")
        .execute(&mut *conn)
        .await?;
    changed.extend(touched);
    Ok(outcomes)
}

/// Runs `sql`, an INSERT or UPDATE of item rows from seven `UNNEST`ed arrays
/// (id, source, kind, published, hash, doc, and the `seen` a new row starts
/// with: [`crate::store::carried_since`]); returns how many rows it wrote.
async fn write_rows(
    conn: &mut PgConnection,
    sql: &'static str,
    rows: &[(&String, &(Item, String, String))],
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let sources: Vec<String> = rows
        .iter()
        .map(|(_, (it, ..))| it.source.to_string())
        .collect();
    let kinds: Vec<&str> = rows.iter().map(|(_, (it, ..))| kind_str(it.kind)).collect();
    let published: Vec<i64> = rows
        .iter()
        .map(|(_, (it, ..))| millis(it.published))
        .collect();
    let hashes: Vec<&str> = rows.iter().map(|(_, (_, h, _))| h.as_str()).collect();
    let docs: Vec<&str> = rows.iter().map(|(_, (_, _, d))| d.as_str()).collect();
    let seen: Vec<Option<i64>> = rows
        .iter()
        .map(|(_, (it, ..))| crate::store::carried_since(it))
        .collect();
    Ok(sqlx::query(sql)
        .bind(&ids)
        .bind(&sources)
        .bind(&kinds)
        .bind(&published)
        .bind(&hashes)
        .bind(&docs)
        .bind(&seen)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Upserts a batch one item at a time in id order (stable, so repeated ids
/// keep their order): each row is locked as it goes, and a row another
/// transaction is creating is waited for and compared.
async fn upsert_rows(
    conn: &mut PgConnection,
    batch: crate::store::Batch<'_>,
    changed: &mut BTreeSet<FeedId>,
    logged: &mut Logged,
    locks: Locks,
) -> Result<Vec<Outcome>> {
    let crate::store::Batch {
        items,
        docs,
        ownership,
    } = batch;
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| items[a].id.cmp(&items[b].id));
    let mut outcomes = vec![Outcome::Unchanged; items.len()];
    for i in order {
        let stored = docs.map(|d| &d[i]);
        outcomes[i] =
            upsert_one(conn, &items[i], stored, ownership, changed, logged, locks).await?;
    }
    Ok(outcomes)
}

/// One item's upsert; `encoded` is its document and hash when the caller
/// made them.
async fn upsert_one(
    conn: &mut PgConnection,
    item: &Item,
    encoded: Option<&(String, String)>,
    ownership: Ownership,
    changed: &mut BTreeSet<FeedId>,
    logged: &mut Logged,
    locks: Locks,
) -> Result<Outcome> {
    let (doc, hash) = encoded
        .cloned()
        .unwrap_or_else(|| crate::store::encode(item));
    let old = stored_row(conn, item, &hash, &doc).await?;
    let w = match crate::store::plan(item, doc, hash, old.as_ref(), ownership)? {
        crate::store::Plan::Keep(outcome) => return Ok(outcome),
        crate::store::Plan::Write(w) => w,
    };
    let item = w.kept.as_ref().unwrap_or(item);
    changed.extend(w.old_feeds);
    // A created row was inserted, and locked, by `stored_row`.
    if w.outcome == Outcome::Updated {
        write_row(
            conn,
            "UPDATE items SET source = $2, kind = $3, published = $4, hash = $5, doc = $6
             WHERE id = $1",
            item,
            &w.hash,
            &w.doc,
        )
        .await?;
    }
    index_item(
        conn,
        item,
        w.outcome == Outcome::Created,
        changed,
        logged,
        locks,
    )
    .await?;
    Ok(w.outcome)
}

/// After an item row is written: its feeds (replacing the old version's;
/// a row just created has none), its place in their logs (to `logged`),
/// and the end of any tombstones of a withdrawn item that comes back. A
/// statement each, whatever the number of feeds: a sequential writer waits
/// for every round trip.
async fn index_item(
    conn: &mut PgConnection,
    item: &Item,
    created: bool,
    changed: &mut BTreeSet<FeedId>,
    logged: &mut Logged,
    locks: Locks,
) -> Result<()> {
    if !created {
        sqlx::query("DELETE FROM item_feeds WHERE item_id = $1")
            .bind(&item.id)
            .execute(&mut *conn)
            .await?;
    }
    let feeds: BTreeSet<FeedId> = crate::catalog::item_feeds(item).into_iter().collect();
    let keys: Vec<String> = feeds.iter().map(|f| f.key().into_owned()).collect();
    let n = keys.len();
    let (published, kind) = (millis(item.published), kind_str(item.kind));
    let rows = (
        keys,
        vec![item.id.as_str(); n],
        vec![kind; n],
        vec![published; n],
    );
    let ids: &[&str] = if created { &[item.id.as_str()] } else { &[] };
    let revived = index_and_lock(conn, &rows, ids, locks).await?;
    logged.extend(rows.0.into_iter().map(|k| (k, item.id.clone(), published)));
    changed.extend(feeds);
    revive_logs(conn, &revived).await?;
    changed.extend(revived.into_iter().map(|(f, _)| FeedId::from_key(&f)));
    Ok(())
}

/// Appends the items new to feeds (`(feed, item id, published)`) to their
/// logs ([`log_new_statement`]). A statement of its own: it must read the
/// logs after [`index_and_lock`] took the feeds' locks.
async fn log_new(conn: &mut PgConnection, rows: &Logged) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(log_new_statement(1)))
        .bind(log_new_rows(rows))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A batch's rows of `item_feeds`: feed keys, item ids, kinds, dates.
type FeedRows<'a> = (Vec<String>, Vec<&'a str>, Vec<&'a str>, Vec<i64>);

/// Puts written items in their feeds (`rows`), takes those feeds'
/// `feed_versions` rows in key order ([`lock_feeds`]: before their logs
/// are numbered), and ends the tombstones of the ids `created` (a withdrawn
/// item that comes back is no longer deleted), returning them. One
/// statement: a sequential writer waits for each round trip, and these
/// three only write. The rows they touch are the written items' own, whose
/// `items` rows this transaction holds, and feed versions taken in the one
/// order every writer takes them.
async fn index_and_lock(
    conn: &mut PgConnection,
    rows: &FeedRows<'_>,
    created: &[&str],
    locks: Locks,
) -> Result<Vec<(String, String)>> {
    let mut keys: Vec<&str> = rows.0.iter().map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    let query = |statement: &'static str| {
        sqlx::query_as(sqlx::AssertSqlSafe(statement))
            .bind(&rows.0)
            .bind(&rows.1)
            .bind(&rows.2)
            .bind(&rows.3)
    };
    let locked = locks == Locks::Now;
    let revived: Vec<(String, String)> = if locked {
        query(&INDEX_AND_LOCK).bind(&keys).bind(created)
    } else {
        query(&INDEX).bind(created)
    }
    .fetch_all(&mut *conn)
    .await?;
    if !revived.is_empty() && !locked {
        // The revived items' logs are mended next, under the locks of their
        // feeds, the new and those their tombstones were in.
        let keys: BTreeSet<&str> = keys
            .into_iter()
            .chain(revived.iter().map(|(feed, _)| feed.as_str()))
            .collect();
        sqlx::query(sqlx::AssertSqlSafe(lock_feeds(1)))
            .bind(keys.into_iter().collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
    }
    Ok(revived)
}

/// [`index_and_lock`]'s statement: the rows, the locks (`$5`), the ended
/// tombstones (`$6`).
static INDEX_AND_LOCK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH indexed AS ({INDEX_ROWS}), locked AS ({})
         DELETE FROM tombstones WHERE item_id = ANY($6) RETURNING feed, item_id",
        lock_feeds(5)
    )
});

/// [`INDEX_AND_LOCK`] without the locks: the ended tombstones are `$5`.
static INDEX: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH indexed AS ({INDEX_ROWS})
         DELETE FROM tombstones WHERE item_id = ANY($5) RETURNING feed, item_id"
    )
});

/// The rows of `item_feeds` written, `$1` to `$4`.
const INDEX_ROWS: &str = "INSERT INTO item_feeds (feed, item_id, kind, published)
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[])";

/// Runs `sql`, an INSERT or UPDATE of an item row, with the row's six values
/// bound as `$1`..`$6` (id, source, kind, published, hash, doc); returns how many
/// rows it wrote.
async fn write_row(
    conn: &mut PgConnection,
    sql: &'static str,
    item: &Item,
    hash: &str,
    doc: &str,
) -> Result<u64> {
    Ok(sqlx::query(sql)
        .bind(&item.id)
        .bind(item.source.to_string())
        .bind(kind_str(item.kind))
        .bind(millis(item.published))
        .bind(hash)
        .bind(doc)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// The stored row of `id`, locked for this transaction; `None` once this
/// transaction has created it from `item` (then it is locked too). The
/// insert comes first: a single upsert is most often a new article, which
/// then costs one round trip, not two.
async fn stored_row(
    conn: &mut PgConnection,
    item: &Item,
    hash: &str,
    doc: &str,
) -> Result<Option<(String, String, String)>> {
    // Each round ends only when another transaction created the id and a third
    // deleted it in between; a few rounds mean heavy churn on one id.
    for _ in 0..8 {
        // Waits for a concurrent creator of the same id; if it commits, nothing is
        // inserted and its row is locked and compared below.
        let inserted = write_row(
            conn,
            "INSERT INTO items (id, source, kind, published, hash, doc)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            item,
            hash,
            doc,
        )
        .await?;
        if inserted == 1 {
            return Ok(None);
        }
        let old: Option<(String, String, String)> =
            sqlx::query_as("SELECT source, hash, doc FROM items WHERE id = $1 FOR UPDATE")
                .bind(&item.id)
                .fetch_optional(&mut *conn)
                .await?;
        if old.is_some() {
            return Ok(old);
        }
    }
    Err(StoreError::Unavailable(format!(
        "item {:?} is being created and deleted concurrently; retry",
        item.id
    )))
}
