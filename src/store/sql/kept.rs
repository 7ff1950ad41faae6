//! The SQL of kept archive documents both backends run alike: a closed
//! page's bytes as first served (and their compressed forms), so that a page
//! keeps them on every instance, after its sources go, and across
//! `newswire migrate`.

macro_rules! kept_sql {
    ($Conn:ty, $Pool:ty) => {
        /// A closed page's document as first served: its body,
        /// Last-Modified and compressed bodies if kept.
        pub(super) async fn archive_document(
            conn: &mut $Conn,
            feed: &FeedId,
            page: u64,
            format: &str,
        ) -> Result<Option<$crate::store::ArchiveDocument>> {
            type Row = (Option<Vec<u8>>, Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>, i64);
            let row: Option<Row> = sqlx::query_as(
                "SELECT d.body, d.modified, d.gzip, d.br, p.edition
                 FROM archive_documents d JOIN archive_pages p ON p.feed = d.feed AND p.page = d.page
                 WHERE d.feed = $1 AND d.page = $2 AND d.format = $3",
            )
            .bind($crate::store::log_key(feed))
            .bind(i64::try_from(page).unwrap_or(i64::MAX))
            .bind(format)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((body, modified, gzip, br, edition)) = row else {
                return Ok(None);
            };
            let body = match body {
                Some(body) => body,
                // Unzipped off the async workers: 1.4 MB for a page of a
                // large timeline.
                None => {
                    let at = format!("{}/{page}.{format}", $crate::store::log_key(feed));
                    let gz = gzip.clone();
                    tokio::task::spawn_blocking(move || {
                        $crate::store::kept_bytes(&at, None, gz.as_deref())
                    })
                    .await
                    .expect("unzipping does not panic")?
                }
            };
            Ok(Some($crate::store::ArchiveDocument {
                body,
                modified: modified.map(from_millis),
                compressed: gzip.zip(br),
                edition,
            }))
        }

        /// Keeps a closed page's documents in one transaction (one commit
        /// for its formats, written after the first answer); the first kept of a format stays,
        /// and gains compressed bodies made from its own bytes. A document
        /// with its compressed bodies is kept compressed only: its bytes
        /// are its gzip's (a page of a large timeline is 1.4 MB a format,
        /// its gzip and brotli a twentieth of that). Only while
        /// `edition` is the page's: the page's row is locked first (a
        /// withdrawal's [`forget_pages_of`] locks it before it drops the
        /// kept documents), so either the withdrawal waits for this commit
        /// and then drops what it kept, or this waits for the withdrawal's
        /// and sees the new edition.
        pub(super) async fn keep_archive_documents_tx(
            pool: &$Pool,
            feed: &FeedId,
            page: u64,
            edition: i64,
            documents: &[$crate::store::KeptDocument<'_>],
        ) -> Result<bool> {
            let mut tx = pool.begin().await?;
            let current = sqlx::query(
                "UPDATE archive_pages SET edition = edition
                 WHERE feed = $1 AND page = $2 AND edition = $3",
            )
            .bind($crate::store::log_key(feed))
            .bind(i64::try_from(page).unwrap_or(i64::MAX))
            .bind(edition)
            .execute(&mut *tx)
            .await?;
            if current.rows_affected() == 0 {
                return Ok(false);
            }
            for d in documents {
                sqlx::query(
                    "INSERT INTO archive_documents (feed, page, format, body, modified, gzip, br)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (feed, page, format) DO UPDATE
                       SET body = NULL, gzip = excluded.gzip, br = excluded.br
                       WHERE archive_documents.gzip IS NULL AND excluded.gzip IS NOT NULL
                         AND archive_documents.body = $8",
                )
                .bind($crate::store::log_key(feed))
                .bind(i64::try_from(page).unwrap_or(i64::MAX))
                .bind(d.format)
                .bind(d.compressed.is_none().then_some(d.body))
                .bind(d.modified.map(millis))
                .bind(d.compressed.map(|c| c.0))
                .bind(d.compressed.map(|c| c.1))
                // The bytes to compare with a kept body: sent only with
                // compressed bodies, the one case where the update can
                // apply. A page's other formats, kept with their bytes,
                // sent them twice (3.3 MB more a page of a large timeline).
                .bind(d.compressed.is_some().then_some(d.body))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        /// Kept documents after `after` in (feed, page, format) order, at
        /// most `n`: `newswire migrate` copies them a few at a time.
        pub(super) async fn kept_documents(
            conn: &mut $Conn,
            after: Option<&$crate::store::KeptAt>,
            n: usize,
        ) -> Result<Vec<$crate::store::KeptRow>> {
            type Row = (String, i64, String, Option<Vec<u8>>, Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>);
            let (feed, page, format) =
                after.map_or(("", i64::MIN, ""), |a| (a.feed.as_str(), a.page, a.format.as_str()));
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT feed, page, format, body, modified, gzip, br FROM archive_documents
                 WHERE (feed, page, format) > ($1, $2, $3)
                 ORDER BY feed, page, format LIMIT $4",
            )
            .bind(feed)
            .bind(page)
            .bind(format)
            .bind(limit(n))
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter()
                .map(|(feed, page, format, body, modified, gzip, br)| {
                    let body = $crate::store::kept_bytes(
                        &format!("{feed}/{page}.{format}"),
                        body,
                        gzip.as_deref(),
                    )?;
                    Ok($crate::store::KeptRow {
                        at: $crate::store::KeptAt { feed, page, format },
                        body,
                        modified: modified.map(from_millis),
                        compressed: gzip.zip(br),
                    })
                })
                .collect()
        }

        /// Writes documents another store kept, in one transaction: each
        /// where its page is closed here and nothing of its format is kept
        /// yet, compressed only where it has its compressed bodies. How
        /// many were written.
        pub(super) async fn import_kept_documents_tx(
            pool: &$Pool,
            rows: &[$crate::store::KeptRow],
        ) -> Result<usize> {
            let mut tx = pool.begin().await?;
            let mut written = 0;
            for r in rows {
                let done = sqlx::query(
                    "INSERT INTO archive_documents (feed, page, format, body, modified, gzip, br)
                     SELECT $1, $2, $3, $4, $5, $6, $7
                     WHERE EXISTS (SELECT 1 FROM archive_pages WHERE feed = $1 AND page = $2)
                     ON CONFLICT (feed, page, format) DO NOTHING",
                )
                .bind(&r.at.feed)
                .bind(r.at.page)
                .bind(&r.at.format)
                .bind(r.compressed.is_none().then_some(&r.body))
                .bind(r.modified.map(millis))
                .bind(r.compressed.as_ref().map(|c| &c.0))
                .bind(r.compressed.as_ref().map(|c| &c.1))
                .execute(&mut *tx)
                .await?;
                written += usize::try_from(done.rows_affected()).unwrap_or(0);
            }
            tx.commit().await?;
            Ok(written)
        }
    };
}

pub(crate) use kept_sql;
