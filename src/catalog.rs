//! Which feeds exist and which items belong to each: the one place that knows,
//! so the store indexes, the renderer renders and the router serves the same set.
//! (Aggregation adds timelines here.)

use crate::config::Config;
use crate::model::{FeedId, Item, ItemKind};

/// Every feed of a site: `all`, `breaking`, the categories, then the timelines,
/// in config order.
pub fn feeds(config: &Config) -> Vec<FeedId> {
    let mut feeds = vec![FeedId::All, FeedId::Breaking];
    feeds.extend(
        config
            .categories
            .iter()
            .map(|c| FeedId::Category(c.slug.clone())),
    );
    feeds.extend(
        config
            .timelines
            .iter()
            .map(|t| FeedId::Timeline(t.name.clone())),
    );
    feeds
}

/// Whether a feed is served: a source's items are stored under it, but only
/// timelines (and categories, for a source with `categories`) serve them.
pub fn exists(config: &Config, feed: &FeedId) -> bool {
    match feed {
        FeedId::All | FeedId::Breaking => true,
        FeedId::Category(slug) => config.category(slug).is_some(),
        FeedId::Timeline(name) => config.timeline(name).is_some(),
        FeedId::Source(_) => false,
    }
}

/// The stored feeds a timeline merges; `None` for a feed that is stored itself.
pub fn members(config: &Config, feed: &FeedId) -> Option<Vec<FeedId>> {
    let FeedId::Timeline(name) = feed else {
        return None;
    };
    let t = config.timeline(name)?;
    Some(timeline_members(t))
}

fn timeline_members(t: &crate::config::Timeline) -> Vec<FeedId> {
    let local = t.categories.iter().map(|c| FeedId::named(c));
    let external = t.sources.iter().map(|s| FeedId::Source(s.clone()));
    local.chain(external).collect()
}

/// Most items a feed's documents hold.
pub fn size(config: &Config, feed: &FeedId) -> usize {
    match feed {
        FeedId::Timeline(name) => config.timeline(name).map_or(0, |t| t.limit),
        _ => config.site.feed_size,
    }
}

/// The timelines that merge any of `changed`: they change with them, and only
/// they are rendered again.
pub fn timelines_of(config: &Config, changed: &[FeedId]) -> Vec<FeedId> {
    config
        .timelines
        .iter()
        .filter(|t| timeline_members(t).iter().any(|m| changed.contains(m)))
        .map(|t| FeedId::Timeline(t.name.clone()))
        .collect()
}

/// The feeds an item appears in. The store indexes by these, so a change to the
/// item re-renders exactly these feeds (and those of its previous version).
pub fn item_feeds(item: &Item) -> Vec<FeedId> {
    // An external item is in its source's feed, and in the local categories the
    // source is configured into (and so in `all`, like every categorized item).
    if let Some(origin) = &item.origin {
        let mut feeds = vec![FeedId::Source(origin.source.clone())];
        // (`breaking` for a scraped ticker.)
        feeds.extend(origin.categories.iter().map(|c| FeedId::named(c)));
        if !origin.categories.is_empty() {
            feeds.push(FeedId::All);
        }
        return feeds;
    }
    let mut feeds = Vec::with_capacity(3);
    if item.kind == ItemKind::Breaking {
        feeds.push(FeedId::Breaking);
    }
    if let Some(c) = &item.category {
        feeds.push(FeedId::Category(c.clone()));
    }
    feeds.push(FeedId::All);
    feeds
}

/// A feed's title, as every format and page shows it.
pub fn title(config: &Config, feed: &FeedId) -> String {
    let site = &config.site.title;
    match feed {
        FeedId::All => site.clone(),
        FeedId::Breaking => format!("{site}: Breaking news"),
        FeedId::Category(slug) => format!(
            "{site}: {}",
            config
                .category(slug)
                .map_or(slug.as_str(), |c| c.title.as_str())
        ),
        FeedId::Timeline(name) => format!(
            "{site}: {}",
            config
                .timeline(name)
                .map_or(name.as_str(), |t| t.title.as_str())
        ),
        FeedId::Source(name) => config
            .source(name)
            .and_then(|s| s.title.clone())
            .unwrap_or_else(|| name.clone()),
    }
}

pub fn description(config: &Config, feed: &FeedId) -> String {
    match feed {
        FeedId::All => config.site.description.clone(),
        FeedId::Breaking => format!("Breaking-news ticker of {}", config.site.title),
        FeedId::Category(slug) => config
            .category(slug)
            .and_then(|c| c.description.clone())
            .unwrap_or_else(|| format!("{} from {}", title(config, feed), config.site.title)),
        FeedId::Timeline(name) => config
            .timeline(name)
            .and_then(|t| t.description.clone())
            .unwrap_or_else(|| format!("{} from {}", title(config, feed), config.site.title)),
        FeedId::Source(_) => title(config, feed),
    }
}
