//! The pages behind a document's entries: a scrape's article pages, or a
//! `readability` source's pages for entries that came with a summary only.

use super::Poller;
use super::budget::{Budget, Overrun};
use super::known::{Known, Page};
use crate::config::SourceConfig;
use crate::sources::fetch::{Outcome, Request};
use crate::sources::parse::{self, Parsed};
use crate::sources::scrape;
use std::collections::HashSet;
use std::time::Instant;

/// Marks the digest of an entry whose page could not be read, so that the
/// next poll tries the page again instead of taking the entry as known.
pub(super) const PARTIAL: &str = "~partial";

/// What reading the pages behind a document's entries came to.
#[derive(Default)]
pub(super) struct Pages {
    /// Pages that failed, said for the source's state.
    pub(super) problem: Option<String>,
    /// Pages not reached before the lease ran out.
    pub(super) deferred: bool,
}

impl Poller {
    /// Fetches the pages behind new and changed entries, `fetch.per_host` at
    /// a time under the fetch policy, and fills the entries from them: a
    /// scrape's article pages, or a `readability` source's pages for entries
    /// that came with a summary only. A page seen before is asked for with
    /// its validators, and one whose entry has not changed is not asked for
    /// at all.
    pub(super) async fn read_pages(
        &self,
        source: &SourceConfig,
        parsed: &mut Parsed,
        known: &mut Known,
        deadline: Instant,
        budget: &mut Budget,
    ) -> Result<Pages, Overrun> {
        use futures_util::StreamExt;
        let selectors = match &source.scrape {
            Some(s) => match &s.article {
                Some(a) => Some((a.clone(), s.timezone.unwrap_or(self.config().site.timezone))),
                None => return Ok(Pages::default()),
            },
            None if source.readability => None,
            None => return Ok(Pages::default()),
        };
        let todo: Vec<usize> = parsed
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.link.is_some()
                    && known.digests.get(&parse::upstream_id(e)) != Some(&e.digest)
                    && (selectors.is_some() || e.content.is_none())
            })
            .map(|(i, _)| i)
            .collect();
        let requests: Vec<(usize, Request)> = todo
            .iter()
            .map(|&i| {
                let link = parsed.entries[i].link.clone().expect("filtered on links");
                let memo = known.pages.get(&link);
                let request = Request {
                    etag: memo.and_then(|m| m.etag.clone()),
                    last_modified: memo.and_then(|m| m.last_modified.clone()),
                    url: link,
                };
                (i, request)
            })
            .collect();
        let fetcher = &self.fetcher;
        let mut fetches = futures_util::stream::iter(requests)
            .map(|(i, r)| async move {
                let outcome = fetcher.fetch(&r).await;
                (i, r.url, outcome)
            })
            .buffer_unordered(self.config().fetch.per_host.max(1));
        let mut results = Vec::with_capacity(todo.len());
        while let Ok(Some(done)) = tokio::time::timeout_at(deadline.into(), fetches.next()).await {
            results.push(done);
        }
        drop(fetches);
        // Entries whose page was not reached in time have no digest of their
        // own yet: the next poll reads them.
        let reached: HashSet<usize> = results.iter().map(|(i, _, _)| *i).collect();
        let unreached: Vec<usize> = todo
            .iter()
            .copied()
            .filter(|i| !reached.contains(i))
            .collect();
        for &i in &unreached {
            parsed.entries[i].digest.push_str(PARTIAL);
        }
        let mut failures = Vec::new();
        for (i, link, outcome) in results {
            let read = match outcome {
                Outcome::Fetched {
                    body,
                    url,
                    etag,
                    last_modified,
                    content_type,
                    ..
                } => {
                    self.metrics.fetch_bytes.inc_by(body.len() as u64);
                    // Read off the runtime, within the poll's budget.
                    let selectors = selectors.clone();
                    let article = self
                        .bounded(budget, move |_| {
                            Ok(match &selectors {
                                Some((a, tz)) => {
                                    scrape::article(&body, content_type.as_deref(), &url, a, *tz)
                                        .map(|(article, _)| article)
                                        .map_err(|e| e.to_string())
                                }
                                None => scrape::readable(&body, content_type.as_deref(), &url)
                                    .map(|body| scrape::Article {
                                        body: Some(body),
                                        ..Default::default()
                                    })
                                    .ok_or_else(|| format!("no main text found on {url}")),
                            })
                        })
                        .await?;
                    article.map(|article| Page {
                        etag,
                        last_modified,
                        article,
                    })
                }
                Outcome::NotModified { .. } => known
                    .pages
                    .remove(&link)
                    .ok_or_else(|| format!("{link}: 304 for a page never read")),
                Outcome::Failed { status, error } => Err(format!(
                    "{link}: {}{error}",
                    status.map(|s| format!("{s} ")).unwrap_or_default()
                )),
                Outcome::Gone => Err(format!("{link}: gone (410)")),
                Outcome::RetryAfter { status, .. } => {
                    Err(format!("{link}: {status}, asked to wait"))
                }
            };
            let entry = &mut parsed.entries[i];
            match read {
                Ok(page) => {
                    page.article.clone().fill(entry);
                    known.pages.insert(link, page);
                }
                Err(e) => {
                    entry.digest.push_str(PARTIAL);
                    failures.push(e);
                }
            }
        }
        // Only the pages of the current list are worth remembering.
        let current: HashSet<&str> = parsed
            .entries
            .iter()
            .filter_map(|e| e.link.as_deref())
            .collect();
        known
            .pages
            .retain(|link, _| current.contains(link.as_str()));
        Ok(Pages {
            problem: failures.first().map(|first| {
                format!(
                    "{} of {} article pages unread, first: {first}",
                    failures.len(),
                    todo.len()
                )
            }),
            deferred: !unreached.is_empty(),
        })
    }
}
