//! The store as every stage sees it: each call passed to the real store,
//! its writes timed into the metrics.

use super::Metrics;
use crate::model::{FeedId, Item, ItemKind, Source, Tombstone};
use crate::store::{Export, FeedState, Ownership, Store, StoreError, Written};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// A store whose writes are timed into `newswire_store_write_seconds{op}`: one
/// place that sees every write, whichever stage makes it.
pub struct Timed {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl Timed {
    pub fn wrap(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Arc<dyn Store> {
        Arc::new(Timed { inner, metrics })
    }

    fn observe(&self, op: &'static str, started: Instant) {
        self.metrics
            .store_write_seconds
            .get_or_create(&vec![("op", op.to_owned())])
            .observe(started.elapsed().as_secs_f64());
    }
}

#[async_trait]
impl Store for Timed {
    async fn upsert(&self, items: &[Item], ownership: Ownership) -> Result<Written, StoreError> {
        let t = Instant::now();
        let r = self.inner.upsert(items, ownership).await;
        self.observe("upsert", t);
        r
    }
    async fn upsert_encoded(
        &self,
        items: crate::store::Encoded,
        ownership: Ownership,
    ) -> Result<Written, StoreError> {
        let t = Instant::now();
        let r = self.inner.upsert_encoded(items, ownership).await;
        self.observe("upsert", t);
        r
    }
    async fn sync(
        &self,
        scope: &str,
        items: &[Item],
        keep: &[Source],
    ) -> Result<Written, StoreError> {
        let t = Instant::now();
        let r = self.inner.sync(scope, items, keep).await;
        self.observe("sync", t);
        r
    }
    async fn delete(&self, id: &str, at: DateTime<Utc>) -> Result<Option<Written>, StoreError> {
        let t = Instant::now();
        let r = self.inner.delete(id, at).await;
        self.observe("delete", t);
        r
    }
    async fn get(&self, id: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(id).await
    }
    async fn list(
        &self,
        feed: &FeedId,
        kind: Option<ItemKind>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.inner.list(feed, kind, limit).await
    }
    async fn list_between(
        &self,
        feed: &FeedId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.inner.list_between(feed, from, to, limit).await
    }
    async fn window(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        size: usize,
    ) -> Result<crate::store::Window, StoreError> {
        self.inner.window(feed, members, size).await
    }
    async fn archive_page(
        &self,
        feed: &FeedId,
        members: &[FeedId],
        page: u64,
    ) -> Result<Option<crate::store::ArchivePage>, StoreError> {
        self.inner.archive_page(feed, members, page).await
    }
    async fn tombstones(&self, feed: &FeedId, limit: usize) -> Result<Vec<Tombstone>, StoreError> {
        self.inner.tombstones(feed, limit).await
    }
    async fn versions(&self) -> Result<BTreeMap<FeedId, FeedState>, StoreError> {
        self.inner.versions().await
    }
    async fn export(&self) -> Result<Export, StoreError> {
        self.inner.export().await
    }
    async fn import(&self, data: &Export) -> Result<Written, StoreError> {
        let t = Instant::now();
        let r = self.inner.import(data).await;
        self.observe("import", t);
        r
    }
    async fn carried(
        &self,
        source: &Source,
        ids: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.carried(source, ids, at).await
    }

    async fn prune(
        &self,
        source: &Source,
        prune: &crate::store::Prune,
    ) -> Result<Written, StoreError> {
        let t = Instant::now();
        let r = self.inner.prune(source, prune).await;
        self.observe("prune", t);
        r
    }
    async fn add_sources(&self, sources: &[crate::model::FetchState]) -> Result<(), StoreError> {
        self.inner.add_sources(sources).await
    }
    async fn fetch_states(&self) -> Result<Vec<crate::model::FetchState>, StoreError> {
        self.inner.fetch_states().await
    }
    async fn save_fetch_states(
        &self,
        states: &[crate::model::FetchState],
        owner: &str,
    ) -> Result<Vec<bool>, StoreError> {
        let t = Instant::now();
        let r = self.inner.save_fetch_states(states, owner).await;
        self.observe("fetch_state", t);
        r
    }
    async fn record_attempts(
        &self,
        attempts: &[crate::model::FetchAttempt],
    ) -> Result<(), StoreError> {
        let t = Instant::now();
        let r = self.inner.record_attempts(attempts).await;
        self.observe("attempts", t);
        r
    }
    async fn attempts(
        &self,
        source: &str,
        n: usize,
    ) -> Result<Vec<crate::model::FetchAttempt>, StoreError> {
        self.inner.attempts(source, n).await
    }
    async fn set_paused(
        &self,
        source: &str,
        paused: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, StoreError> {
        self.inner.set_paused(source, paused).await
    }
    async fn start_session(&self, session: &crate::store::Session) -> Result<(), StoreError> {
        self.inner.start_session(session).await
    }
    async fn session(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::store::Session>, StoreError> {
        self.inner.session(id, now).await
    }
    async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        self.inner.end_session(id).await
    }
    async fn archive_document(
        &self,
        feed: &FeedId,
        page: u64,
        format: &str,
    ) -> Result<Option<crate::store::ArchiveDocument>, StoreError> {
        self.inner.archive_document(feed, page, format).await
    }
    async fn keep_archive_documents(
        &self,
        feed: &FeedId,
        page: u64,
        edition: i64,
        documents: &[crate::store::KeptDocument<'_>],
    ) -> Result<bool, StoreError> {
        self.inner
            .keep_archive_documents(feed, page, edition, documents)
            .await
    }
    async fn kept_documents(
        &self,
        after: Option<&crate::store::KeptAt>,
        n: usize,
    ) -> Result<Vec<crate::store::KeptRow>, StoreError> {
        self.inner.kept_documents(after, n).await
    }
    async fn import_kept_documents(
        &self,
        rows: &[crate::store::KeptRow],
    ) -> Result<usize, StoreError> {
        self.inner.import_kept_documents(rows).await
    }
    async fn withdraw_source(&self, source: &crate::model::Source) -> Result<Written, StoreError> {
        self.inner.withdraw_source(source).await
    }
    async fn catalog(&self) -> Result<crate::model::Catalog, StoreError> {
        self.inner.catalog().await
    }
    async fn catalog_version(&self) -> Result<i64, StoreError> {
        self.inner.catalog_version().await
    }
    async fn catalog_put(
        &self,
        entry: &crate::model::CatalogEntry,
        create: bool,
        due: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.catalog_put(entry, create, due).await
    }
    async fn catalog_delete(
        &self,
        kind: crate::model::EntryKind,
        name: &str,
    ) -> Result<bool, StoreError> {
        self.inner.catalog_delete(kind, name).await
    }
    async fn catalog_declare(
        &self,
        entries: &[crate::model::CatalogEntry],
    ) -> Result<(), StoreError> {
        self.inner.catalog_declare(entries).await
    }
    async fn claim_due(
        &self,
        claim: &crate::store::Claim<'_>,
    ) -> Result<Vec<crate::model::FetchState>, StoreError> {
        self.inner.claim_due(claim).await
    }
    async fn websub_subscribe(&self, sub: &crate::store::Subscription) -> Result<(), StoreError> {
        self.inner.websub_subscribe(sub).await
    }
    async fn websub_unsubscribe(&self, topic: &str, callback: &str) -> Result<bool, StoreError> {
        self.inner.websub_unsubscribe(topic, callback).await
    }
    async fn websub_subscriptions(&self) -> Result<Vec<crate::store::Subscription>, StoreError> {
        self.inner.websub_subscriptions().await
    }
    async fn websub_counts(
        &self,
        asking: &crate::store::Asking<'_>,
        now: DateTime<Utc>,
    ) -> Result<crate::store::SubscriptionCounts, StoreError> {
        self.inner.websub_counts(asking, now).await
    }

    async fn websub_enqueue(
        &self,
        changes: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.inner.websub_enqueue(changes, now).await
    }
    async fn websub_claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::store::Delivery>, StoreError> {
        self.inner.websub_claim(owner, now, until, limit).await
    }
    async fn websub_settle(
        &self,
        settled: &[crate::store::Settled],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.websub_settle(settled, now).await
    }
    async fn websub_expire(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.inner.websub_expire(now).await
    }
    async fn websub_remote(
        &self,
        source: &str,
    ) -> Result<Option<crate::store::Remote>, StoreError> {
        self.inner.websub_remote(source).await
    }
    async fn websub_remote_save(&self, remote: &crate::store::Remote) -> Result<(), StoreError> {
        self.inner.websub_remote_save(remote).await
    }
    async fn subscribe(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<crate::store::Change>>, StoreError> {
        self.inner.subscribe().await
    }
}
