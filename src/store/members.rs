//! Whether an entry of a feed's log is still in the feed: in one of its
//! members (the feed itself, or a timeline's feeds).
//!
//! An item's feeds follow from its document alone
//! ([`crate::catalog::item_feeds`]), and every write (upsert, import, the
//! batched poll) replaces its `item_feeds` rows from that same document in
//! the same transaction. So a page's documents answer what those rows
//! would, once they are read: asked of `item_feeds` in the page's query,
//! one lookup per entry doubled SQLite's read of a 500-entry page (2.1
//! against 1.1 ms) and cost PostgreSQL about 3 ms of its 9.

use crate::model::{FeedId, Item};
use foldhash::fast::RandomState;
use std::collections::HashSet;

/// A feed's members by store key, as the SQL compared them.
pub(crate) struct Members {
    keys: HashSet<String, RandomState>,
}

impl Members {
    pub(crate) fn new(members: &[FeedId]) -> Self {
        Self {
            keys: members.iter().map(|m| m.key().into_owned()).collect(),
        }
    }

    /// True when one of the item's feeds is a member.
    pub(crate) fn hold(&self, item: &Item) -> bool {
        crate::catalog::item_feeds(item)
            .iter()
            .any(|f| self.keys.contains(f.key().as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::Members;
    use crate::model::{FeedId, ItemKind};
    use crate::store::conformance::item;

    #[test]
    fn an_item_is_held_by_the_members_its_feeds_are_among() {
        let world = item("a1", "world", 1);
        let mut breaking = item("b1", "world", 2);
        breaking.kind = ItemKind::Breaking;
        let of = |names: &[&str]| {
            Members::new(&names.iter().map(|n| FeedId::named(n)).collect::<Vec<_>>())
        };
        assert!(of(&["world"]).hold(&world));
        assert!(of(&["tech", "all"]).hold(&world));
        assert!(!of(&["tech", "breaking"]).hold(&world));
        assert!(of(&["breaking"]).hold(&breaking));
        assert!(!of(&[]).hold(&world));
        // An external item: its source's feed, its categories and `all`
        // only when it has some.
        let mut external = item("e1", "world", 3);
        external.origin = Some(crate::model::Origin::new(
            "s1",
            "u1",
            "https://s1.example/feed",
        ));
        let source = Members::new(&[FeedId::Source("s1".into())]);
        assert!(source.hold(&external));
        assert!(!Members::new(&[FeedId::Source("s2".into())]).hold(&external));
        assert!(!of(&["all", "world"]).hold(&external));
        external.origin.as_mut().unwrap().categories = vec!["tech".into()];
        assert!(of(&["all"]).hold(&external));
        assert!(of(&["tech"]).hold(&external));
        assert!(!of(&["world"]).hold(&external));
    }
}
