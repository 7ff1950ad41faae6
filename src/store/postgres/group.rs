//! Group commit: upserts that arrive while a transaction is being written
//! wait, then share the next one and its commit, so concurrent writers (the
//! API's) pay for one commit (one WAL flush) instead of one each. The group's
//! items are written as one batch, so their rows are still read and locked
//! in id order, as every batch locks them (`upsert_batch`); an id that two
//! writers of a group send is planned in their order, as if one came after
//! the other. Each caller gets its own outcomes, and its answer only after
//! the commit: acknowledged means durable. A group that fails is written
//! again one caller at a time, so one bad write cannot fail the others.

use super::*;
use tokio::sync::oneshot;

/// One caller's upsert, waiting for the transaction it lands in.
pub(super) struct UpsertJob {
    pub(super) items: Vec<Item>,
    pub(super) ownership: Ownership,
    pub(super) reply: oneshot::Sender<Result<Written>>,
}

/// Most upserts committed in one transaction, and most items: a bulk
/// import's batches (2,000 items) are already large enough alone.
const GROUP_MAX: usize = 64;
const GROUP_ITEMS: usize = 2_000;

/// Starts the committer on `pool`; it ends when the sender is dropped.
pub(super) fn start(pool: PgPool) -> mpsc::Sender<UpsertJob> {
    let (tx, rx) = mpsc::channel(4 * GROUP_MAX);
    tokio::spawn(commit_groups(pool, rx));
    tx
}

async fn commit_groups(pool: PgPool, mut jobs: mpsc::Receiver<UpsertJob>) {
    // A job of another ownership ends a group and starts the next.
    let mut next: Option<UpsertJob> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut size = first.items.len();
        let mut group = vec![first];
        while group.len() < GROUP_MAX && size < GROUP_ITEMS {
            match jobs.try_recv() {
                Ok(job) if job.ownership == group[0].ownership => {
                    size += job.items.len();
                    group.push(job);
                }
                Ok(job) => {
                    next = Some(job);
                    break;
                }
                Err(_) => break,
            }
        }
        tracing::debug!(callers = group.len(), items = size, "group commit");
        match commit(&pool, &group).await {
            Ok(results) => {
                for (job, written) in group.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(written));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.pop().expect("one job").reply.send(Err(e));
            }
            Err(_) => {
                for job in group {
                    let result = commit(&pool, std::slice::from_ref(&job))
                        .await
                        .map(|mut r| r.remove(0));
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// Writes a group's items as one batch in one transaction (replayed after
/// a deadlock or a serialization failure), and splits the outcomes back.
async fn commit(pool: &PgPool, group: &[UpsertJob]) -> Result<Vec<Written>> {
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
