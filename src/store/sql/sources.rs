//! The SQL of external sources' fetch states both backends run alike:
//! registering, claiming due ones under a lease, saving a round's states.

macro_rules! sources_sql {
    ($Conn:ty, $Pool:ty) => {

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
    };
}

pub(crate) use sources_sql;
