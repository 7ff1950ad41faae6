//! How PostgreSQL writes a group of upserts ([`crate::store::group`]): the
//! group's items as one batch, so their rows are still read and locked in
//! id order, as every batch locks them (`upsert_batch`); an id that two
//! writers of a group send is planned in their order, as if one came after
//! the other.

use super::*;
use crate::store::group::{Merged, UpsertJob};

/// Writes a group's items as one batch in one transaction (replayed after
/// a deadlock or a serialization failure), and splits the outcomes back.
pub(super) async fn commit(pool: &PgPool, group: &mut [UpsertJob]) -> Result<Vec<Written>> {
    let merged = Merged::take(group);
    let written = write_merged(pool, &merged, group[0].ownership).await;
    let written = written.map(|w| merged.split(w.outcomes, &w.changed));
    merged.give_back(group);
    written
}

async fn write_merged(pool: &PgPool, merged: &Merged, ownership: Ownership) -> Result<Written> {
    // One new item, as a writer posting one article after another sends:
    // one statement ([`super::functions::create`]), unless it declines.
    if let ([item], [encoded]) = (&merged.items[..], &merged.docs[..])
        && let Some(written) = retrying(|| super::functions::create(pool, item, encoded)).await?
    {
        return Ok(written);
    }
    let batch = crate::store::Batch {
        items: &merged.items,
        docs: Some(&merged.docs),
        ownership,
    };
    retrying(|| write_tx(pool, &batch)).await
}

/// A group's batch in one transaction: written ([`upsert::write_batch`]),
/// then its feeds locked, its new log rows appended, its feeds' versions
/// bumped and their notification queued in one call
/// ([`super::functions::finish`]).
async fn write_tx(pool: &PgPool, batch: &crate::store::Batch<'_>) -> Result<Written> {
    let mut tx = pool.begin().await?;
    let mut changed = BTreeSet::new();
    let mut logged = Vec::new();
    let items = batch.items;
    let outcomes = upsert::write_batch(
        &mut tx,
        *batch,
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
