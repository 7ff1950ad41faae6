//! The config in force, made again whenever what it is made of changes: the
//! config file (on change or SIGHUP: categories, tokens, declared sources,
//! scrapes and timelines), and the catalog's managed entries (an editor's
//! change on any instance). The site renders what changed with it, the
//! poller takes in new sources, and the hub its new topics.

use super::{ConfigCheck, LeftOut, Site};
use crate::config::Config;
use crate::lock::lock;
use crate::model::{FeedId, Format};
use crate::store::StoreError;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Site {
    /// Assembles a site at start: the file's entries taken into the store's
    /// catalog, and the config in force made from both.
    pub async fn open(
        config: Config,
        store: Arc<dyn crate::store::Store>,
    ) -> Result<Arc<Site>, StoreError> {
        let site = Site::new(config.clone(), store);
        site.apply(Some(config)).await?;
        Ok(site)
    }

    /// Puts in force the file's config (`file`, newly read, or else the
    /// last good one) with the catalog's managed entries, when either moved.
    pub async fn apply(self: &Arc<Self>, file: Option<Config>) -> Result<(), StoreError> {
        let _one = self.reloading.lock().await;
        if let Some(file) = file {
            self.store.catalog_declare(&file.declared).await?;
            self.file.store(Arc::new(file));
        }
        let catalog = self.store.catalog().await?;
        let file = self.file.load_full();
        let (config, refused) =
            tokio::task::spawn_blocking(move || file.with_entries(&catalog.entries))
                .await
                .expect("assembling the config does not panic");
        for (kind, name, why) in &refused {
            tracing::warn!("catalog {} {name:?} is left out: {why}", kind.as_str());
        }
        let old = self.config.swap(Arc::new(config));
        self.catalog_version
            .store(catalog.version, Ordering::SeqCst);
        self.reconfigured(&old).await;
        // Once the documents of what was left out are gone: whoever sees it
        // listed finds it no longer served.
        *lock(&self.left_out) = refused
            .into_iter()
            .map(|(kind, name, why)| LeftOut {
                kind: kind.as_str(),
                name,
                why: why.to_string(),
            })
            .collect();
        Ok(())
    }

    /// The fingerprint of the config file's text in force.
    pub fn file_fingerprint(&self) -> String {
        self.file.load().fingerprint.clone()
    }

    /// Takes in another instance's change to the catalog (or this one's),
    /// if the store's version moved since the config in force was made.
    pub async fn follow_catalog(self: &Arc<Self>) -> Result<(), StoreError> {
        let version = self.store.catalog_version().await?;
        if version != self.catalog_version.load(Ordering::SeqCst) {
            self.apply(None).await?;
        }
        Ok(())
    }

    /// Reads the config file again (after a change or SIGHUP): a valid one
    /// is put in force at once; one with an error is refused (its file and
    /// line shown in `/healthz`) and the last good one stays.
    pub async fn reload(self: &Arc<Self>) {
        let path = self.file.load().file.clone();
        let read = tokio::task::spawn_blocking(move || super::load_config(&path))
            .await
            .expect("reading the config does not panic");
        let check = match read {
            Err(e) => ConfigCheck::Refused {
                error: e.to_string(),
            },
            Ok(config) => match self.apply(Some(config)).await {
                Ok(()) => ConfigCheck::Loaded,
                Err(e) => ConfigCheck::Refused {
                    error: format!("the catalog could not be read: {e}"),
                },
            },
        };
        match &check {
            ConfigCheck::Refused { error } => {
                tracing::error!("config refused, the last good one stays in force: {error}")
            }
            ConfigCheck::Loaded => tracing::info!("config reloaded"),
        }
        *lock(&self.config_check) = check;
    }

    /// After the config in force changed: documents of feeds that went
    /// leave the cache, every other feed and site document is rendered
    /// again (titles, members and links may have moved), new sources are
    /// registered, and the hub learns its topics.
    async fn reconfigured(self: &Arc<Self>, old: &Config) {
        let new = self.config();
        let now: BTreeSet<FeedId> = crate::catalog::feeds(&new).into_iter().collect();
        let gone: Vec<String> = crate::catalog::feeds(old)
            .into_iter()
            .filter(|f| !now.contains(f))
            .flat_map(|f| {
                [Format::Rss, Format::Atom, Format::Json, Format::Html]
                    .map(|format| crate::render::feed_path(&f, format))
            })
            .collect();
        self.cache.remove(&gone);
        for s in &old.sources {
            if new.source(&s.name).is_none() {
                self.metrics.forget_source(&s.name);
            }
        }
        self.site_documents.store(true, Ordering::SeqCst);
        self.mark_feeds(now);
        if let Some(hub) = self.hub.get() {
            hub.reconfigured();
        }
        if !new.sources.is_empty() && self.started.load(Ordering::SeqCst) {
            match self.poller() {
                Ok(poller) => {
                    if let Err(e) = poller.add_sources().await {
                        tracing::warn!("registering sources failed: {e}");
                    }
                    if !self.polling.swap(true, Ordering::SeqCst) {
                        self.tasks.spawn("poller", move || poller.clone().run());
                    }
                }
                Err(e) => tracing::error!("external sources will not be fetched: {e}"),
            }
        }
    }
}
