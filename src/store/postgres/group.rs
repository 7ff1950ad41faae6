//! How PostgreSQL writes a group of upserts ([`crate::store::group`]): the
//! group's items as one batch, so their rows are still read and locked in
//! id order, as every batch locks them (`upsert_batch`); an id that two
//! writers of a group send is planned in their order, as if one came after
//! the other.

use super::*;
use crate::store::group::UpsertJob;

/// Writes a group's items as one batch in one transaction (replayed after
/// a deadlock or a serialization failure), and splits the outcomes back.
pub(super) async fn commit(pool: &PgPool, group: &[UpsertJob]) -> Result<Vec<Written>> {
    let merged: Vec<Item>;
    let items = match group {
        [one] => &one.items,
        _ => {
            merged = group.iter().flat_map(|j| j.items.iter().cloned()).collect();
            &merged
        }
    };
    // One new item, as a writer posting one article after another sends:
    // one statement ([`super::functions::create`]), unless it declines.
    if let [item] = &items[..]
        && let Some(written) = retrying(|| super::functions::create(pool, item)).await?
    {
        return Ok(vec![written]);
    }
    let ownership = group[0].ownership;
    let written = retrying(|| write_tx(pool, items, ownership)).await?;
    let mut outcomes = written.outcomes.into_iter();
    Ok(group
        .iter()
        .map(|job| Written {
            outcomes: outcomes.by_ref().take(job.items.len()).collect(),
            // The group's feeds: each caller marks them for the renderer,
            // which renders each once.
            changed: written.changed.clone(),
        })
        .collect())
}

/// A group's batch in one transaction: written ([`upsert::write_batch`]),
/// then its feeds locked, its new log rows appended, its feeds' versions
/// bumped and their notification queued in one call
/// ([`super::functions::finish`]).
async fn write_tx(pool: &PgPool, items: &[Item], ownership: Ownership) -> Result<Written> {
    let mut tx = pool.begin().await?;
    let mut changed = BTreeSet::new();
    let mut logged = Vec::new();
    let batch = crate::store::Batch { items, ownership };
    let outcomes = upsert::write_batch(
        &mut tx,
        batch,
        &mut changed,
        &mut logged,
        upsert::Locks::AtFinish,
    )
    .await?;
    let dates = crate::store::data_dates(items, &outcomes);
    super::functions::finish(&mut tx, &logged, &changed, &dates).await?;
    tx.commit().await?;
    Ok(Written { outcomes, changed })
}
