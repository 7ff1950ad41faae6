//! Documents rendered when asked for rather than at every change: the
//! ticker page of a past day (closed RFC 5005 archive pages have a module of
//! their own, [`super::archive`]). They are kept rendered, a bounded number
//! of them, until their feeds change.

use super::Site;
use super::memo::OnDemandError;
use crate::cache::Entry;
use crate::lock::lock;
use crate::model::FeedId;
use crate::render;
use std::sync::Arc;

/// Ticker day pages kept rendered (days without items included); more are
/// rendered again on demand.
pub(super) const DAY_PAGES: usize = 64;

impl Site {
    /// The ticker page of `day` (site zone), rendered on demand and kept
    /// until the breaking feed changes; `None` for a day without items.
    pub async fn ticker_day(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Option<Arc<Entry>>, OnDemandError> {
        let version = lock(&self.rendered)
            .get(&FeedId::breaking())
            .copied()
            .unwrap_or(0);
        self.days
            .get(day, version, &self.renders, || async {
                // The day's items, whatever the zone's offset: a day either
                // side, then the site's own calendar. (A day at the ends of
                // chrono's calendar has no day either side.)
                let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc();
                let (Some(from), Some(to)) = (
                    midnight.checked_sub_signed(chrono::Duration::days(1)),
                    midnight.checked_add_signed(chrono::Duration::days(2)),
                ) else {
                    return Ok(None);
                };
                let tz = self.config().site.timezone;
                let items: Vec<_> = self
                    .store
                    .list_between(&FeedId::breaking(), from, to, 100_000)
                    .await?
                    .into_iter()
                    .filter(|i| crate::localtime::in_zone(i.published, tz).date_naive() == day)
                    .collect();
                if items.is_empty() {
                    return Ok(None);
                }
                self.metrics.on_demand_renders.inc();
                let config = self.config();
                let entry = tokio::task::spawn_blocking(move || {
                    Entry::new(
                        crate::model::Format::Html.content_type(),
                        render::page::ticker_day(&config, day, &items),
                        items.iter().map(|i| i.updated.max(i.published)).max(),
                        config.site.ttl * 60,
                        false,
                        false,
                        None,
                    )
                })
                .await
                .expect("rendering does not panic");
                Ok(Some(Arc::new(entry)))
            })
            .await
    }

    /// The stored feeds a served feed's items are in: a timeline's members,
    /// or the feed itself.
    pub(super) fn members(&self, feed: &FeedId) -> Vec<FeedId> {
        crate::catalog::members(&self.config(), feed).unwrap_or_else(|| vec![feed.clone()])
    }
}
