//! Group commit, for both backends: upserts that arrive while a transaction
//! is being written wait, then share the next one and its commit, so
//! concurrent writers pay for one commit (one fsync, one WAL flush) instead
//! of one each. Each caller gets only its own outcomes, and its answer only
//! after the commit: acknowledged means durable. A group that fails is
//! written again one caller at a time, so one bad write cannot fail the
//! others. How a group is written is the backend's (`commit`).

use super::{Ownership, Result, StoreError, Written};
use crate::model::Item;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// One caller's upsert, waiting for the transaction it lands in.
pub(super) struct UpsertJob {
    pub(super) items: Vec<Item>,
    pub(super) ownership: Ownership,
    reply: oneshot::Sender<Result<Written>>,
}

/// Most upserts committed in one transaction, and most items: a bulk
/// import's batches (2,000 items) are large enough alone.
const GROUP_MAX: usize = 64;
const GROUP_ITEMS: usize = 2_000;

/// The writers' side of a committer.
pub(super) struct Committer(mpsc::Sender<UpsertJob>);

impl Committer {
    /// Starts a committer that writes each group with `commit` (the
    /// group's jobs share an ownership); it ends with the store.
    pub(super) fn start<C, Fut>(commit: C) -> Committer
    where
        C: Fn(Vec<UpsertJob>) -> Fut + Send + 'static,
        Fut: Future<Output = (Vec<UpsertJob>, Result<Vec<Written>>)> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(4 * GROUP_MAX);
        tokio::spawn(run(rx, commit));
        Committer(tx)
    }

    /// Upserts through the next group; answers once it committed.
    pub(super) async fn upsert(&self, items: Vec<Item>, ownership: Ownership) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let job = UpsertJob {
            items,
            ownership,
            reply,
        };
        let gone = || StoreError::Unavailable("the store's writer has stopped".into());
        self.0.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run<C, Fut>(mut jobs: mpsc::Receiver<UpsertJob>, commit: C)
where
    C: Fn(Vec<UpsertJob>) -> Fut,
    Fut: Future<Output = (Vec<UpsertJob>, Result<Vec<Written>>)>,
{
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
        let (mut group, result) = commit(group).await;
        match result {
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
                    let (mut one, result) = commit(vec![job]).await;
                    let job = one.pop().expect("one job");
                    let _ = job.reply.send(result.map(|mut r| r.remove(0)));
                }
            }
        }
    }
}
