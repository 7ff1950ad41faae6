//! The SQL of the catalog both backends run alike: its entries, and the
//! version every change bumps in the same transaction (announced on
//! PostgreSQL by `announce_catalog`, which each backend defines).

macro_rules! catalog_sql {
    ($Conn:ty, $Pool:ty) => {
        type CatalogRow = (String, String, String, bool);

        fn catalog_entry(
            (kind, name, body, declared): CatalogRow,
        ) -> Result<$crate::model::CatalogEntry> {
            let kind = $crate::model::EntryKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt {
                    id: name.clone(),
                    message: format!("catalog kind {kind:?}"),
                })?;
            let body = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt {
                    id: name.clone(),
                    message: format!("catalog entry: {e}"),
                })?;
            Ok($crate::model::CatalogEntry {
                kind,
                name,
                body,
                declared,
            })
        }

        pub(super) async fn catalog(conn: &mut $Conn) -> Result<$crate::model::Catalog> {
            let version = catalog_version(&mut *conn).await?;
            let rows: Vec<CatalogRow> = sqlx::query_as(
                "SELECT kind, name, body, declared FROM catalog ORDER BY created_at, space, name",
            )
            .fetch_all(&mut *conn)
            .await?;
            let entries = rows.into_iter().map(catalog_entry).collect::<Result<_>>()?;
            Ok($crate::model::Catalog { version, entries })
        }

        pub(super) async fn catalog_version(conn: &mut $Conn) -> Result<i64> {
            let (v,): (i64,) = sqlx::query_as("SELECT version FROM catalog_version WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
            Ok(v)
        }

        async fn bump_catalog(conn: &mut $Conn) -> Result<()> {
            sqlx::query("UPDATE catalog_version SET version = version + 1 WHERE id = 1")
                .execute(&mut *conn)
                .await?;
            announce_catalog(&mut *conn).await
        }

        /// A source's fetch state as its entry has it: made due at `due`, or
        /// started again (due then, validators dropped) when its URL changed
        /// ([`crate::store::sql::SOURCE_REGISTERED`]).
        async fn catalog_register(
            conn: &mut $Conn,
            entry: &$crate::model::CatalogEntry,
            due: i64,
        ) -> Result<()> {
            if entry.kind == $crate::model::EntryKind::Timeline {
                return Ok(());
            }
            let url = entry.body.get("url").and_then(|u| u.as_str()).unwrap_or_default();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO sources (name, url, origin, next_fetch) VALUES ($1, $2, $2, $3) {}",
                $crate::store::sql::SOURCE_REGISTERED
            )))
            .bind(&entry.name)
            .bind($crate::store::storable(url))
            .bind(due)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Writes a managed entry; with `create`, only where its name is
        /// free (`false` when it is taken, nothing written).
        pub(super) async fn catalog_put_tx(
            pool: &$Pool,
            entry: &$crate::model::CatalogEntry,
            create: bool,
            due: DateTime<Utc>,
        ) -> Result<bool> {
            let now = millis(Utc::now());
            let mut tx = pool.begin().await?;
            let body = entry.body.to_string();
            let sql = if create {
                "INSERT INTO catalog (space, name, kind, body, declared, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (space, name) DO NOTHING"
            } else {
                "INSERT INTO catalog (space, name, kind, body, declared, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (space, name) DO UPDATE
                 SET kind = excluded.kind, body = excluded.body, updated_at = excluded.updated_at
                 WHERE NOT catalog.declared"
            };
            let done = sqlx::query(sql)
                .bind(entry.kind.space())
                .bind(&entry.name)
                .bind(entry.kind.as_str())
                .bind(&body)
                .bind(false)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            catalog_register(&mut *tx, entry, millis(due)).await?;
            bump_catalog(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Deletes a managed entry and, for a source, its fetch state and
        /// attempt log (its items are the caller's to withdraw).
        pub(super) async fn catalog_delete_tx(
            pool: &$Pool,
            kind: $crate::model::EntryKind,
            name: &str,
        ) -> Result<bool> {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "DELETE FROM catalog WHERE space = $1 AND name = $2 AND kind = $3 AND NOT declared",
            )
            .bind(kind.space())
            .bind(name)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            if kind != $crate::model::EntryKind::Timeline {
                for sql in [
                    "DELETE FROM sources WHERE name = $1",
                    "DELETE FROM fetch_attempts WHERE source = $1",
                ] {
                    sqlx::query(sql).bind(name).execute(&mut *tx).await?;
                }
            }
            bump_catalog(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Makes the declared rows the file's `entries`: in place of any
        /// row of their names (the file wins), and those the file no longer
        /// declares gone. The version moves only when something changed.
        pub(super) async fn catalog_declare_tx(
            pool: &$Pool,
            entries: &[$crate::model::CatalogEntry],
        ) -> Result<()> {
            let now = millis(Utc::now());
            let mut tx = pool.begin().await?;
            let mut changed = 0;
            let keep: Vec<String> = entries
                .iter()
                .map(|e| format!("{}/{}", e.kind.space(), e.name))
                .collect();
            let keep = serde_json::to_string(&keep).expect("strings serialize");
            let gone = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM catalog WHERE declared AND (space || '/' || name) NOT IN ({FEEDS_IN})"
            )))
            .bind(&keep)
            .execute(&mut *tx)
            .await?;
            changed += gone.rows_affected();
            // One statement for all (one an entry was a round trip each at
            // every start); an entry named twice, its last.
            let mut rows = BTreeMap::new();
            for e in entries {
                rows.insert((e.kind.space(), e.name.as_str()), (e.kind.as_str(), e.body.to_string()));
            }
            let rows: Vec<(&str, &str, &str, String)> = rows
                .into_iter()
                .map(|((space, name), (kind, body))| (space, name, kind, body))
                .collect();
            let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO catalog (space, name, kind, body, declared, created_at, updated_at)
                 {CATALOG_IN} ON CONFLICT (space, name) DO UPDATE
                 SET kind = excluded.kind, body = excluded.body, declared = excluded.declared,
                   updated_at = excluded.updated_at
                 WHERE catalog.body <> excluded.body OR catalog.kind <> excluded.kind
                   OR NOT catalog.declared"
            )))
            .bind(serde_json::to_string(&rows).expect("rows serialize"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            changed += done.rows_affected();
            if changed > 0 {
                bump_catalog(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }
    };
}

pub(crate) use catalog_sql;
