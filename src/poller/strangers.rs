//! Sources in the shared store that the config in force lacks: those of
//! another instance whose config file declares more, or one a reload brought
//! there a moment before it reaches this instance. The schedule's claim can
//! take them, and this instance cannot fetch them; pushed back (as a source
//! removed from the config is), they would go unpolled by the instances that
//! know them. So they are given back at once, untouched, and left out of the
//! claims that follow until the config changes.

use super::Poller;
use crate::config::Config;
use crate::lock::lock;
use crate::model::FetchState;
use std::sync::Arc;

/// The strangers found under one config.
#[derive(Default)]
pub(super) struct Strangers {
    /// The config they were found under; held, so that a new config is
    /// never mistaken for it.
    config: Option<Arc<Config>>,
    names: Vec<String>,
}

impl Strangers {
    /// The names a claim under `config` leaves out: none once it changed.
    fn under(&mut self, config: &Arc<Config>) -> &[String] {
        if !self.config.as_ref().is_some_and(|c| Arc::ptr_eq(c, config)) {
            self.config = Some(config.clone());
            self.names.clear();
        }
        &self.names
    }
}

impl Poller {
    /// The sources the schedule's next claim under `config` leaves out.
    pub(super) fn strangers(&self, config: &Arc<Config>) -> Vec<String> {
        lock(&self.strangers).under(config).to_vec()
    }

    /// Of sources claimed under `config`, those it declares; the others are
    /// saved back as they were claimed (which frees their lease and keeps
    /// their schedule) and left out of the next claims.
    pub(super) async fn keep_known(
        &self,
        config: &Arc<Config>,
        claimed: Vec<FetchState>,
    ) -> Vec<FetchState> {
        let (known, strangers): (Vec<_>, Vec<_>) = claimed
            .into_iter()
            .partition(|s| config.source(&s.source).is_some());
        if strangers.is_empty() {
            return known;
        }
        {
            let mut found = lock(&self.strangers);
            found.under(config);
            found
                .names
                .extend(strangers.iter().map(|s| s.source.clone()));
        }
        let names: Vec<String> = strangers.iter().map(|s| s.source.clone()).collect();
        tracing::debug!(?names, "claimed sources this config lacks: given back");
        let saved =
            futures_util::future::join_all(strangers.into_iter().map(|s| self.save(s, None))).await;
        if let Some(Err(e)) = saved.into_iter().find(Result::is_err) {
            // Their leases run out in a while: the source waits, no more.
            tracing::warn!("giving back sources this config lacks failed: {e}");
        }
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Arc<Config> {
        let text = "[site]\ntitle = \"T\"\ndescription = \"D\"\nurl = \"https://n.example\"\n\
                    feeds_url = \"http://127.0.0.1:8080\"\ntimezone = \"UTC\"\nauthor = \"A\"\n\
                    tag_start = \"2026-02-01\"\n";
        Arc::new(Config::parse(std::path::Path::new("site.toml"), text).unwrap())
    }

    #[test]
    fn strangers_are_forgotten_when_the_config_changes() {
        let first = config();
        let mut s = Strangers::default();
        assert!(s.under(&first).is_empty());
        s.names.push("theirs".into());
        assert_eq!(s.under(&first), ["theirs"]);
        // The same text read again is a new config: it may have come with
        // the source.
        let reloaded = config();
        assert!(s.under(&reloaded).is_empty(), "a new config may know it");
    }
}
