//! The SQL of the WebSub rows both backends run alike: subscriptions, the
//! outbox of deliveries and its claims, our subscriptions at other hubs.

macro_rules! websub_sql {
    ($Conn:ty, $Pool:ty) => {

        pub(super) async fn websub_subscribe(
            pool: &$Pool,
            sub: &$crate::store::websub::Subscription,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO websub_subscriptions
                   (topic, callback, secret, lease_until, client, callback_host)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (topic, callback)
                 DO UPDATE SET secret = excluded.secret, lease_until = excluded.lease_until,
                   client = excluded.client, callback_host = excluded.callback_host",
            )
            .bind(&sub.topic)
            .bind(&sub.callback)
            .bind(&sub.secret)
            .bind(millis(sub.lease_until))
            .bind(&sub.client)
            .bind(&sub.callback_host)
            .execute(pool)
            .await?;
            Ok(())
        }

        /// Live subscriptions in all, of `client`, on `host`, and whether
        /// `(topic, callback)` is one: one pass over the table, which the
        /// hub's bounds keep small.
        pub(super) async fn websub_counts(
            conn: &mut $Conn,
            asking: &$crate::store::websub::Asking<'_>,
            now: DateTime<Utc>,
        ) -> Result<$crate::store::websub::SubscriptionCounts> {
            let (total, of_client, of_host, exists): (i64, i64, i64, i64) = sqlx::query_as(
                // count() is a BIGINT on PostgreSQL as on SQLite (max() of
                // an integer would be an INT4 there).
                "SELECT count(*),
                   count(CASE WHEN client = $2 THEN 1 END),
                   count(CASE WHEN callback_host = $3 THEN 1 END),
                   count(CASE WHEN topic = $4 AND callback = $5 THEN 1 END)
                 FROM websub_subscriptions WHERE lease_until > $1",
            )
            .bind(millis(now))
            .bind(asking.client)
            .bind(asking.callback_host)
            .bind(asking.topic)
            .bind(asking.callback)
            .fetch_one(&mut *conn)
            .await?;
            let n = |v: i64| usize::try_from(v).unwrap_or(0);
            Ok($crate::store::websub::SubscriptionCounts {
                total: n(total),
                of_client: n(of_client),
                of_callback_host: n(of_host),
                exists: exists > 0,
            })
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
        ) -> Result<Vec<$crate::store::websub::Subscription>> {
            let rows: Vec<(String, String, Option<String>, i64, String, String)> = sqlx::query_as(
                "SELECT topic, callback, secret, lease_until, client, callback_host
                 FROM websub_subscriptions ORDER BY topic, callback",
            )
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(topic, callback, secret, lease, client, callback_host)| {
                    $crate::store::websub::Subscription {
                        topic,
                        callback,
                        secret,
                        lease_until: from_millis(lease),
                        client,
                        callback_host,
                    }
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
        ) -> Result<Vec<$crate::store::websub::Delivery>> {
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
                        $crate::store::websub::Delivery {
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
            settled: &[$crate::store::websub::Settled],
            now: DateTime<Utc>,
        ) -> Result<()> {
            use $crate::store::websub::Settled;
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
                        .bind($crate::store::storable(error).into_owned())
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
        ) -> Result<Option<$crate::store::websub::Remote>> {
            let row: Option<(String, String, String, String, i64, Option<i64>, Option<i64>)> =
                sqlx::query_as(
                "SELECT source, hub, topic, secret, requested, lease_until, verified
                 FROM websub_remote WHERE source = $1",
            )
            .bind(source)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.map(|(source, hub, topic, secret, requested, lease, verified)| {
                $crate::store::websub::Remote {
                    source,
                    hub,
                    topic,
                    secret,
                    requested: from_millis(requested),
                    lease_until: lease.map(from_millis),
                    verified: verified.map(from_millis),
                }
            }))
        }

        pub(super) async fn websub_remote_save(
            pool: &$Pool,
            r: &$crate::store::websub::Remote,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO websub_remote
                   (source, hub, topic, secret, requested, lease_until, verified)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (source) DO UPDATE SET hub = excluded.hub, topic = excluded.topic,
                   secret = excluded.secret, requested = excluded.requested,
                   lease_until = excluded.lease_until, verified = excluded.verified",
            )
            .bind(&r.source)
            .bind(&r.hub)
            .bind(&r.topic)
            .bind(&r.secret)
            .bind(millis(r.requested))
            .bind(r.lease_until.map(millis))
            .bind(r.verified.map(millis))
            .execute(pool)
            .await?;
            Ok(())
        }
    };
}

pub(crate) use websub_sql;
