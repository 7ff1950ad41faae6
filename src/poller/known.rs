//! What this instance remembers of each source between polls: its stored
//! entries' digests and links, and the pages behind its list.

use super::Poller;
use crate::lock::lock;
use crate::model::FeedId;
use crate::sources::scrape;
use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::Arc;

/// Most stored items of a source read back to learn their digests.
pub(super) const KNOWN_MAX: usize = 5_000;

/// What this instance remembers of a source's stored items: digest by
/// upstream id, and upstream id by link. Rebuilt from the store when missing,
/// so it is only a cache: a stale one costs a redundant sanitize, never a
/// wrong write.
#[derive(Default)]
pub(super) struct Known {
    pub(super) loaded: bool,
    /// Read from the store just now and none of the source's items were
    /// there: what the take that asked for it may know of the store (see
    /// `Poller::take`), and only that take.
    pub(super) loaded_empty: bool,
    pub(super) digests: HashMap<String, String>,
    pub(super) links: HashMap<String, String>,
    /// Article pages behind the current list (scrapes, readability), by
    /// link: validators for a conditional GET, and what the page gave.
    pub(super) pages: HashMap<String, Page>,
}

pub(super) struct Page {
    pub(super) etag: Option<String>,
    pub(super) last_modified: Option<String>,
    pub(super) article: scrape::Article,
}

impl Poller {
    pub(super) async fn known(
        &self,
        source: &str,
    ) -> Result<Arc<tokio::sync::Mutex<Known>>, StoreError> {
        let entry = lock(&self.known)
            .entry(source.to_owned())
            .or_default()
            .clone();
        {
            let mut k = entry.lock().await;
            if !k.loaded {
                let stored = self
                    .store
                    .list(&FeedId::Source(source.to_owned()), None, KNOWN_MAX)
                    .await?;
                k.loaded_empty = stored.is_empty();
                for item in stored {
                    if let Some(o) = item.origin {
                        if let Some(link) = item.link {
                            k.links.insert(link, o.upstream_id.clone());
                        }
                        k.digests.insert(o.upstream_id, o.digest);
                    }
                }
                k.loaded = true;
            }
        }
        Ok(entry)
    }
}
