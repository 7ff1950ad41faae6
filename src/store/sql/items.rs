//! The SQL of items both backends run alike: reading feeds, withdrawing
//! with tombstones, syncing a scope, import and export, expiry.

macro_rules! items_sql {
    ($Conn:ty, $Pool:ty) => {
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
            let query = sqlx::query_as(match kind {
                None => LIST,
                Some(_) => LIST_KIND,
            })
            .bind(feed.key())
            .bind(kind.map(kind_str).unwrap_or(""))
            .bind(limit(n));
            fetch_items(conn, query).await
        }

        pub(super) async fn list_between(
            conn: &mut $Conn,
            feed: &FeedId,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            n: usize,
        ) -> Result<Vec<Item>> {
            let query = sqlx::query_as(
                "SELECT i.id, i.doc FROM
                   (SELECT item_id, published FROM item_feeds
                    WHERE feed = $1 AND published >= $2 AND published < $3
                    ORDER BY published DESC, item_id DESC LIMIT $4) f
                 JOIN items i ON i.id = f.item_id ORDER BY f.published DESC, f.item_id DESC",
            )
            .bind(feed.key())
            .bind(millis(from))
            .bind(millis(to))
            .bind(limit(n));
            fetch_items(conn, query).await
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
            delete_keeping(conn, id, at, changed, false).await
        }

        /// [`delete_one`]; with `keep_pages`, the closed pages that show the
        /// item keep the bytes they were served with (a source deleted),
        /// else they are made again with its tombstone (a withdrawal).
        async fn delete_keeping(
            conn: &mut $Conn,
            id: &str,
            at: DateTime<Utc>,
            changed: &mut BTreeSet<FeedId>,
            keep_pages: bool,
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
            if !keep_pages {
                forget_pages_of(conn, id).await?;
            }
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

        /// Starts a new edition of the closed pages that hold the item (in
        /// each feed's log, the first page closed after its place) and drops
        /// their kept documents. The editions first: that locks the pages'
        /// rows, which a keep of their documents locks too
        /// ([`keep_archive_documents_tx`]), so a keep of rows read before
        /// this cannot land after it.
        async fn forget_pages_of(conn: &mut $Conn, id: &str) -> Result<()> {
            // The first page closed after the item's place, in each log.
            const PAGES: &str = "SELECT l.feed, min(p.page) FROM feed_log l
                 JOIN archive_pages p ON p.feed = l.feed AND p.last_seq >= l.seq
                 WHERE l.item_id = $1 GROUP BY l.feed";
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE archive_pages SET edition = edition + 1 WHERE (feed, page) IN ({PAGES})"
            )))
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM archive_documents WHERE (feed, page) IN ({PAGES})"
            )))
            .bind(id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Withdraws every item of exactly this source, with tombstones in
        /// the documents that showed them; closed pages keep their bytes.
        pub(super) async fn withdraw_source_tx(
            pool: &$Pool,
            source: &Source,
        ) -> Result<Written> {
            let mut tx = pool.begin().await?;
            let ids: Vec<(String,)> =
                sqlx::query_as("SELECT id FROM items WHERE source = $1 ORDER BY id")
                    .bind(source.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
            let mut written = Written::default();
            let now = Utc::now();
            for (id,) in ids {
                if delete_keeping(&mut tx, &id, now, &mut written.changed, true).await? {
                    written.outcomes.push(Outcome::Deleted);
                }
            }
            finish(&mut tx, &written.changed, &BTreeMap::new()).await?;
            tx.commit().await?;
            Ok(written)
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
            let outcomes = upsert_batch(conn, $crate::store::Batch { items, docs: None, ownership: $crate::store::Ownership::Respect }, &mut changed).await?;
            let dates = data_dates(items, &outcomes);
            let mut written = Written { outcomes, changed };
            // The scope's items as a range of `items_source`; a scope with
            // no end (which no caller has) is read row by row.
            let present: Vec<(String, String)> = match $crate::store::prefix_end(scope) {
                Some(end) => sqlx::query_as(
                    "SELECT id, source FROM items WHERE source >= $1 AND source < $2 ORDER BY id",
                )
                .bind(scope)
                .bind(end),
                None => sqlx::query_as(
                    "SELECT id, source FROM items WHERE substr(source, 1, length($1)) = $1 ORDER BY id",
                )
                .bind(scope),
            }
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

        /// An export written as is (same ids, dates, tombstones, archives),
        /// idempotently.
        pub(super) async fn import_in(conn: &mut $Conn, data: &Export) -> Result<Written> {
            import_archive(conn, &data.archive).await?;
            let mut changed = BTreeSet::new();
            let outcomes =
                upsert_batch(conn, $crate::store::Batch { items: &data.items, docs: None, ownership: $crate::store::Ownership::Take }, &mut changed).await?;
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

        pub(super) async fn carried(
            pool: &$Pool,
            source: &Source,
            ids: &[String],
            at: DateTime<Utc>,
        ) -> Result<()> {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE items SET seen = $3
                 WHERE source = $2 AND id IN ({FEEDS_IN}) AND (seen IS NULL OR seen <> $3)"
            )))
            .bind(serde_json::to_string(ids).expect("strings serialize"))
            .bind(source.to_string())
            .bind(millis(at))
            .execute(pool)
            .await?;
            Ok(())
        }

        /// See [`crate::store::Store::prune`]: the current document's items
        /// are those with the source's newest `seen`.
        pub(super) async fn prune_tx(
            pool: &$Pool,
            source: &Source,
            prune: &$crate::store::Prune,
        ) -> Result<Written> {
            let mut tx = pool.begin().await?;
            let gone = to_prune(&mut tx, source, prune).await?;
            let mut written = Written::default();
            let now = Utc::now();
            for id in gone {
                if delete_one(&mut tx, &id, now, &mut written.changed).await? {
                    written.outcomes.push(Outcome::Deleted);
                }
            }
            finish(&mut tx, &written.changed, &BTreeMap::new()).await?;
            tx.commit().await?;
            Ok(written)
        }

        /// The ids [`prune_tx`] lets go of, read on `conn`: nothing while
        /// the source has no item.
        pub(super) async fn to_prune(
            conn: &mut $Conn,
            source: &Source,
            prune: &$crate::store::Prune,
        ) -> Result<Vec<String>> {
            let source = source.to_string();
            let (current,): (Option<i64>,) = sqlx::query_as(
                "SELECT max(seen) FROM items WHERE source = $1",
            )
            .bind(&source)
            .fetch_one(&mut *conn)
            .await?;
            let Some(current) = current else {
                return Ok(Vec::new());
            };
            let (carried,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM items WHERE source = $1 AND seen >= $2")
                    .bind(&source)
                    .bind(current)
                    .fetch_one(&mut *conn)
                    .await?;
            // Of the items out of the document, the newest `room` stay, and
            // only while they were carried within the retention.
            let room = i64::try_from(prune.max_items)
                .unwrap_or(i64::MAX)
                .saturating_sub(carried)
                .max(0);
            let gone: Vec<(String,)> = sqlx::query_as(
                "SELECT id FROM (
                   SELECT id, seen, row_number() OVER (ORDER BY published DESC, id DESC) AS n
                   FROM items WHERE source = $1 AND seen < $2) AS o
                 WHERE n > $3 OR seen < $4",
            )
            .bind(&source)
            .bind(current)
            .bind(room)
            .bind(millis(prune.unseen_before))
            .fetch_all(&mut *conn)
            .await?;
            Ok(gone.into_iter().map(|(id,)| id).collect())
        }

        /// The write operations as whole transactions on a pool. (Upserts
        /// are each backend's own: they commit in groups.)
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
    };
}

pub(crate) use items_sql;
