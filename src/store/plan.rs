//! What a write does with each item, decided in memory against the stored
//! rows, so that both backends decide alike and only write differently.

use super::codec::{decode, encode, millis};
use super::{Outcome, Ownership, Result, StoreError};
use crate::model::{FeedId, Item, Source};
use std::collections::{BTreeMap, BTreeSet};

/// What an upsert does with an item, given the stored row (source, hash, doc) if
/// any. Both backends decide through this, so they cannot drift apart.
pub(crate) enum Decision {
    Create,
    /// Replace; the old version's feeds change too.
    Update(Vec<FeedId>),
    Keep(Outcome),
}

pub(crate) fn decide(
    old: Option<&(String, String, String)>,
    item: &Item,
    hash: &str,
    ownership: Ownership,
) -> Result<Decision, StoreError> {
    Ok(match old {
        None => Decision::Create,
        Some((_, old_hash, _)) if old_hash == hash => Decision::Keep(Outcome::Unchanged),
        Some((_, _, old_doc)) if matches!(ownership, Ownership::Create | Ownership::Refresh) => {
            let old = decode(&item.id, old_doc)?;
            let same = Item {
                updated: old.updated,
                ..item.clone()
            } == old;
            match (same, ownership) {
                (true, _) => Decision::Keep(Outcome::Unchanged),
                (false, Ownership::Create) => Decision::Keep(Outcome::Conflict),
                (false, _) => Decision::Update(crate::catalog::item_feeds(&old)),
            }
        }
        Some((source, _, _))
            if ownership == Ownership::Respect && *source != item.source.to_string() =>
        {
            Decision::Keep(Outcome::Skipped)
        }
        Some((_, _, old_doc)) => {
            Decision::Update(crate::catalog::item_feeds(&decode(&item.id, old_doc)?))
        }
    })
}

/// What an upsert does with one item, given its stored row (source, hash, doc):
/// keep what is stored, or write `item` (the given one, or the given one with
/// its first-seen date kept) as `outcome`. Both backends plan through this.
// A plan is returned and taken apart at once, one item at a time: boxing
// the write would allocate for every item written.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Plan {
    Keep(Outcome),
    Write(Planned),
}

/// One upsert of several items, as each backend's `upsert_batch` takes it.
#[derive(Clone, Copy)]
pub(crate) struct Batch<'a> {
    pub items: &'a [Item],
    /// The items' documents and hashes when the caller made them
    /// ([`super::Encoded`]); else they are made here.
    pub docs: Option<&'a [(String, String)]>,
    pub ownership: Ownership,
}

pub(crate) struct Planned {
    /// Set when the item to write differs from the given one.
    pub kept: Option<Item>,
    pub doc: String,
    pub hash: String,
    pub outcome: Outcome,
    /// The feeds of the version it replaces, which change too.
    pub old_feeds: Vec<FeedId>,
}

/// A batch planned in memory against its stored rows (`id, source, hash,
/// doc`), item by item in input order, so an id repeated in the batch sees
/// its earlier version: what both backends' batched upserts then write.
pub(crate) struct BatchPlan {
    /// Per item, in input order.
    pub outcomes: Vec<Outcome>,
    /// The last version to write of each id, by id: item, hash, doc.
    pub writes: BTreeMap<String, (Item, String, String)>,
    /// Ids that had a row before the batch.
    pub existed: BTreeSet<String>,
    /// Feeds the writes change: those of the new versions and of the old.
    pub touched: BTreeSet<FeedId>,
}

pub(crate) fn plan_batch(
    batch: &Batch<'_>,
    stored: Vec<(String, String, String, String)>,
) -> Result<BatchPlan> {
    let (items, ownership) = (batch.items, batch.ownership);
    let mut current: std::collections::HashMap<String, (String, String, String)> = stored
        .into_iter()
        .map(|(id, source, hash, doc)| (id, (source, hash, doc)))
        .collect();
    let mut planned = BatchPlan {
        outcomes: Vec::with_capacity(items.len()),
        writes: BTreeMap::new(),
        existed: current.keys().cloned().collect(),
        touched: BTreeSet::new(),
    };
    for (i, item) in items.iter().enumerate() {
        let (doc, hash) = match batch.docs {
            Some(docs) => docs[i].clone(),
            None => encode(item),
        };
        match plan(item, doc, hash, current.get(&item.id), ownership)? {
            Plan::Keep(outcome) => planned.outcomes.push(outcome),
            Plan::Write(w) => {
                let item = w.kept.unwrap_or_else(|| item.clone());
                planned.touched.extend(w.old_feeds);
                planned.touched.extend(crate::catalog::item_feeds(&item));
                current.insert(
                    item.id.clone(),
                    (item.source.to_string(), w.hash.clone(), w.doc.clone()),
                );
                planned.outcomes.push(w.outcome);
                planned
                    .writes
                    .insert(item.id.clone(), (item, w.hash, w.doc));
            }
        }
    }
    Ok(planned)
}

pub(crate) fn plan(
    item: &Item,
    doc: String,
    hash: String,
    old: Option<&(String, String, String)>,
    ownership: Ownership,
) -> Result<Plan> {
    let kept = keep_first_seen(item, old)?;
    let (doc, hash) = match &kept {
        Some(k) => encode(k),
        None => (doc, hash),
    };
    let current = kept.as_ref().unwrap_or(item);
    Ok(match decide(old, current, &hash, ownership)? {
        Decision::Keep(outcome) => Plan::Keep(outcome),
        Decision::Update(old_feeds) => Plan::Write(Planned {
            kept,
            doc,
            hash,
            outcome: Outcome::Updated,
            old_feeds,
        }),
        Decision::Create => Plan::Write(Planned {
            kept,
            doc,
            hash,
            outcome: Outcome::Created,
            old_feeds: Vec::new(),
        }),
    })
}

/// An external item keeps the time it was first seen however often it is seen
/// again (`Origin::first_seen`), and one upstream gives no date to is dated
/// then too: given the stored row, the item to compare and write. Seen again
/// with the same content, it is the stored item; with other content, it keeps
/// those and (undated) is `updated` now.
pub(crate) fn keep_first_seen(
    item: &Item,
    old: Option<&(String, String, String)>,
) -> Result<Option<Item>> {
    let (Some(origin), Some((_, _, doc))) = (&item.origin, old) else {
        return Ok(None);
    };
    let old = decode(&item.id, doc)?;
    let Some(old_origin) = &old.origin else {
        return Ok(None);
    };
    let mut kept = item.clone();
    if let Some(o) = kept.origin.as_mut() {
        o.first_seen = old_origin.first_seen;
    }
    if !origin.dated {
        kept.published = old.published;
        let same = Item {
            updated: old.updated,
            ..kept.clone()
        };
        if same == old {
            return Ok(Some(old));
        }
    }
    Ok(Some(kept))
}

/// Which stored items (id, source) of a synced scope to withdraw: those no longer
/// listed, except items of the sources kept because they failed to load.
pub(crate) fn to_withdraw(
    present: Vec<(String, String)>,
    items: &[Item],
    keep: &[Source],
) -> Vec<String> {
    let listed: BTreeSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let keep: BTreeSet<String> = keep.iter().map(Source::to_string).collect();
    present
        .into_iter()
        .filter(|(id, source)| !listed.contains(id.as_str()) && !keep.contains(source))
        .map(|(id, _)| id)
        .collect()
}

/// Per feed, the newest date (unix milliseconds) among the items a write created
/// or updated there: what lets a feed's Last-Modified follow its data. A changed
/// feed missing here (an item moved out, a withdrawal) did not get newer data, and
/// its Last-Modified takes the database's clock instead.
pub(crate) fn data_dates(items: &[Item], outcomes: &[Outcome]) -> BTreeMap<String, i64> {
    let mut dates = BTreeMap::new();
    for (item, outcome) in items.iter().zip(outcomes) {
        if matches!(outcome, Outcome::Created | Outcome::Updated) {
            let t = millis(item.updated.max(item.published));
            for feed in crate::catalog::item_feeds(item) {
                let d = dates.entry(feed.key().into_owned()).or_insert(t);
                *d = (*d).max(t);
            }
        }
    }
    dates
}
