//! The SQL of external sources' fetch states both backends run alike:
//! registering, claiming due ones under a lease, saving a round's states.

macro_rules! sources_sql {
    ($Conn:ty, $Pool:ty) => {

        pub(super) async fn add_sources_tx(
            pool: &$Pool,
            sources: &[$crate::model::FetchState],
        ) -> Result<()> {
            // One statement: every start registers every source, one row
            // each (2,000 round trips to start with 1,000 sources on
            // PostgreSQL, counting the catalog's). A URL with a NUL in it
            // (PostgreSQL's text refuses one) is kept with U+FFFD instead.
            // In name order, the order claims by name lock rows in.
            let mut rows: Vec<(&str, std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>, i64)> =
                sources
                    .iter()
                    .map(|s| {
                        let storable = $crate::store::storable;
                        (s.source.as_str(), storable(&s.url), storable(&s.origin), millis(s.next_fetch))
                    })
                    .collect();
            rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO sources (name, url, origin, next_fetch) {SOURCES_IN} {}",
                $crate::store::sql::SOURCE_REGISTERED
            )))
            .bind(serde_json::to_string(&rows).expect("rows serialize"))
            .execute(pool)
            .await?;
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

        /// Saves states in one statement (the backend's `save_states`), its
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
            let last: Vec<&$crate::model::FetchState> = last.into_values().collect();
            let written: BTreeSet<String> =
                save_states(pool, &last, owner).await?.into_iter().collect();
            Ok(states.iter().map(|s| written.contains(&s.source)).collect())
        }

        /// Appends polls to their sources' attempt logs, and keeps the last
        /// [`ATTEMPTS_KEPT`] of each, in one transaction (the backend's
        /// `log_attempts`).
        pub(super) async fn record_attempts_tx(
            pool: &$Pool,
            attempts: &[$crate::model::FetchAttempt],
        ) -> Result<()> {
            // Of a source polled more often than that in one batch, only
            // the polls it keeps: each poll logged pushes out at most one.
            let mut counts = std::collections::HashMap::new();
            let mut kept: Vec<_> = attempts
                .iter()
                .rev()
                .filter(|a| {
                    let n = counts.entry(a.source.as_str()).or_insert(0);
                    *n += 1;
                    *n <= $crate::store::ATTEMPTS_KEPT
                })
                .collect();
            kept.reverse();
            if kept.is_empty() {
                return Ok(());
            }
            log_attempts(pool, &kept).await
        }

        /// A source's last `n` polls, newest first.
        pub(super) async fn attempts(
            conn: &mut $Conn,
            source: &str,
            n: usize,
        ) -> Result<Vec<$crate::model::FetchAttempt>> {
            let rows: Vec<(i64, Option<i32>, i64, i64, String, Option<String>)> = sqlx::query_as(
                "SELECT at, status, bytes, millis, outcome, error FROM fetch_attempts
                 WHERE source = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(source)
            .bind(limit(n))
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter()
                .map(|(at, status, bytes, ms, outcome, error)| {
                    Ok($crate::model::FetchAttempt {
                        source: source.to_owned(),
                        at: from_millis(at),
                        status: status.and_then(|s| u16::try_from(s).ok()),
                        bytes: u64::try_from(bytes).unwrap_or(0),
                        millis: u64::try_from(ms).unwrap_or(0),
                        outcome: $crate::model::FetchOutcome::parse(&outcome).ok_or_else(|| {
                            StoreError::Corrupt {
                                id: format!("attempt of {source}"),
                                message: format!("unknown outcome {outcome:?}"),
                            }
                        })?,
                        error,
                    })
                })
                .collect()
        }

        /// Pauses a source (`Some(when)`) or resumes it (`None`); false for
        /// a source the store does not know.
        pub(super) async fn set_paused_tx(
            pool: &$Pool,
            source: &str,
            paused: Option<DateTime<Utc>>,
        ) -> Result<bool> {
            let done = sqlx::query("UPDATE sources SET paused_at = $2 WHERE name = $1")
                .bind(source)
                .bind(paused.map(millis))
                .execute(pool)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        /// Starts a console session (and drops those that ended).
        pub(super) async fn start_session_tx(
            pool: &$Pool,
            session: &$crate::store::Session,
        ) -> Result<()> {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM console_sessions WHERE expires < $1")
                .bind(millis(Utc::now()))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_sessions (id, token_name, csrf, expires) VALUES ($1, $2, $3, $4)",
            )
            .bind(&session.id)
            .bind(&session.token_name)
            .bind(&session.csrf)
            .bind(millis(session.expires))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        /// The session `id` names, if it has not ended by `now`.
        pub(super) async fn session(
            conn: &mut $Conn,
            id: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<$crate::store::Session>> {
            let row: Option<(String, String, i64)> = sqlx::query_as(
                "SELECT token_name, csrf, expires FROM console_sessions WHERE id = $1 AND expires >= $2",
            )
            .bind(id)
            .bind(millis(now))
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.map(|(token_name, csrf, expires)| $crate::store::Session {
                id: id.to_owned(),
                token_name,
                csrf,
                expires: from_millis(expires),
            }))
        }

        pub(super) async fn end_session_tx(pool: &$Pool, id: &str) -> Result<()> {
            sqlx::query("DELETE FROM console_sessions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        }

        /// Claims due sources, or those named, with the backend's `CLAIM_DUE`
        /// or `CLAIM_NAMED`.
        pub(super) async fn claim_due(
            conn: &mut $Conn,
            claim: &$crate::store::Claim<'_>,
        ) -> Result<Vec<$crate::model::FetchState>> {
            let claim_sql = match claim.which {
                $crate::store::Claiming::Due { .. } => CLAIM_DUE,
                $crate::store::Claiming::Named(_) => CLAIM_NAMED,
            };
            let names = serde_json::to_string(claim.which.names()).expect("strings serialize");
            let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{claim_sql} RETURNING {}",
                $crate::store::SOURCE_COLUMNS
            )))
            .bind(claim.owner)
            .bind(millis(claim.until))
            .bind(millis(claim.now))
            .bind(limit(claim.limit))
            .bind(names);
            let rows: Vec<$crate::store::SourceRow> = query.fetch_all(&mut *conn).await?;
            let mut states: Vec<_> = rows.into_iter().map($crate::store::fetch_state).collect();
            states.sort_by(|a, b| (a.next_fetch, &a.source).cmp(&(b.next_fetch, &b.source)));
            Ok(states)
        }
    };
}

pub(crate) use sources_sql;
