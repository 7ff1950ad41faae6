//! RFC 5005 archive pages, as numbers: which pages are due and where each
//! feed's log is kept. The SQL that keeps the logs is [`super::sql`]'s.

use crate::model::{FeedId, Item, Tombstone};

/// See [`Store::window`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Window {
    /// How many archive pages are closed: pages `1..=pages` exist.
    pub pages: u64,
    /// The entries after the newest page that are still in the feed, newest first.
    pub items: Vec<Item>,
}

/// See [`Store::archive_page`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchivePage {
    pub items: Vec<Item>,
    pub tombstones: Vec<Tombstone>,
    /// Which making of the page these rows are: documents made from them
    /// are kept only while it is the page's current one (see
    /// [`Store::keep_archive_documents`]).
    pub edition: i64,
}

/// How many archive pages to close, and their size, given how many entries
/// follow a feed's newest page and the feed's size: pages of `size / 2`
/// entries (at least one) from the front, while more than `size` would
/// remain after the page.
pub fn pages_due(open: usize, size: usize) -> (usize, usize) {
    let size = size.max(1);
    let page = (size / 2).max(1);
    (open.saturating_sub(size).div_ceil(page), page)
}

/// The last seqs of the archive pages to close, given the seqs of a feed's
/// log after its newest page (ascending) and the feed's size (see
/// [`pages_due`]).
pub fn archive_bounds(open: &[i64], size: usize) -> Vec<i64> {
    let (pages, page) = pages_due(open.len(), size);
    (1..=pages).map(|k| open[k * page - 1]).collect()
}

/// The key a served feed's archive log is kept under: a stored feed's own
/// key, and `timeline:` before a timeline's name (which may be a category's
/// too).
pub(crate) fn log_key(feed: &FeedId) -> std::borrow::Cow<'_, str> {
    match feed {
        FeedId::Timeline(name) => format!("timeline:{name}").into(),
        other => other.key(),
    }
}

/// Whether `members` is the feed itself: a stored feed, whose log its
/// writes keep, rather than a timeline's, taken from its members'.
pub(crate) fn is_own_log(feed: &FeedId, members: &[FeedId]) -> bool {
    matches!(members, [m] if m == feed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn archive_pages_leave_between_half_and_all_of_size() {
        use super::archive_bounds;
        let log: Vec<i64> = (1..=120).collect();
        assert!(archive_bounds(&log[..50], 50).is_empty());
        assert_eq!(archive_bounds(&log[..51], 50), vec![25]);
        // 120 entries: pages of 25 until 50 or fewer remain.
        assert_eq!(archive_bounds(&log, 50), vec![25, 50, 75]);
        for n in 0..log.len() {
            let bounds = archive_bounds(&log[..n], 50);
            let left = n - bounds.len() * 25;
            assert!(
                left <= 50 && (bounds.is_empty() || left > 25),
                "{n}: {left}"
            );
        }
        // Numbers need not be dense: pages count entries.
        assert_eq!(archive_bounds(&[3, 9, 10], 1), vec![3, 9]);
        assert_eq!(archive_bounds(&[3, 9], 0), vec![3]);
    }
}
