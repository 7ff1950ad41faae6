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
    let ownership = group[0].ownership;
    let written = retrying(|| upsert_tx(pool, items, ownership)).await?;
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
