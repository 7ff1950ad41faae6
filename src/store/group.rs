//! Group commit, for both backends: upserts that arrive while a transaction
//! is being written wait, then share the next one and its commit, so
//! concurrent writers pay for one commit (one fsync, one WAL flush) instead
//! of one each. Each caller gets only its own outcomes, and its answer only
//! after the commit: acknowledged means durable. A group that fails is
//! written again one caller at a time, so one bad write cannot fail the
//! others. How a group is written is the backend's (`commit`).

use super::{Encoded, Outcome, Ownership, Result, StoreError, Written};
use crate::model::{FeedId, Item};
use std::collections::BTreeSet;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// One caller's upsert, waiting for the transaction it lands in.
pub(super) struct UpsertJob {
    pub(super) items: Vec<Item>,
    /// Each item's document and hash, made by the caller ([`Encoded`]).
    pub(super) docs: Vec<(String, String)>,
    pub(super) ownership: Ownership,
    reply: oneshot::Sender<Result<Written>>,
}

/// A group's items and their documents as one batch, moved out of its
/// jobs, not copied (a copy of every item of a group, and dropping it, was
/// the committer's work on the path of every later group); put back by
/// [`Merged::give_back`] for a group written again one job at a time.
pub(super) struct Merged {
    pub(super) items: Vec<Item>,
    pub(super) docs: Vec<(String, String)>,
    /// Each job's number of items, in order.
    lens: Vec<usize>,
}

impl Merged {
    pub(super) fn take(group: &mut [UpsertJob]) -> Merged {
        let lens: Vec<usize> = group.iter().map(|j| j.items.len()).collect();
        let total = lens.iter().sum();
        let (mut items, mut docs) = (Vec::with_capacity(total), Vec::with_capacity(total));
        for job in group.iter_mut() {
            items.append(&mut job.items);
            docs.append(&mut job.docs);
        }
        Merged { items, docs, lens }
    }

    /// Each job's share of the group's outcomes, with the group's feeds
    /// (each caller marks them for the renderer, which renders each once).
    pub(super) fn split(&self, outcomes: Vec<Outcome>, changed: &BTreeSet<FeedId>) -> Vec<Written> {
        let mut outcomes = outcomes.into_iter();
        self.lens
            .iter()
            .map(|&len| Written {
                outcomes: outcomes.by_ref().take(len).collect(),
                changed: changed.clone(),
            })
            .collect()
    }

    /// Gives each job its items and documents back.
    pub(super) fn give_back(mut self, group: &mut [UpsertJob]) {
        for (job, len) in group.iter_mut().zip(&self.lens).rev() {
            let at = self.items.len() - len;
            job.items = self.items.split_off(at);
            job.docs = self.docs.split_off(at);
        }
    }
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
    pub(super) async fn upsert(&self, items: Encoded, ownership: Ownership) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let job = UpsertJob {
            items: items.items,
            docs: items.docs,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::item;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A committer whose groups fail when any item's id ends in `bad`, each
    /// group written from its jobs' items moved into one batch; `shared`
    /// counts the groups of more than one job it was given.
    fn committer(shared: Arc<AtomicUsize>) -> Committer {
        Committer::start(move |mut group: Vec<UpsertJob>| {
            if group.len() > 1 {
                shared.fetch_add(1, Ordering::Relaxed);
            }
            async move {
                let merged = Merged::take(&mut group);
                let result = if merged.items.iter().any(|i| i.id.ends_with("/bad")) {
                    Err(StoreError::Unavailable("a bad item".into()))
                } else {
                    let created = merged
                        .items
                        .iter()
                        .map(|i| {
                            if i.id.ends_with("-kept") {
                                Outcome::Unchanged
                            } else {
                                Outcome::Created
                            }
                        })
                        .collect();
                    Ok(merged.split(created, &BTreeSet::new()))
                };
                merged.give_back(&mut group);
                (group, result)
            }
        })
    }

    fn encoded(ids: &[&str]) -> Encoded {
        Encoded::new(ids.iter().map(|id| item(id, "world", 0)).collect())
    }

    /// Jobs that share a group each get their own outcomes, in their order.
    #[tokio::test]
    async fn each_caller_gets_its_own_outcomes() {
        let c = committer(Arc::default());
        let (a, b, e) = tokio::join!(
            c.upsert(encoded(&["a1", "a2-kept"]), Ownership::Take),
            c.upsert(encoded(&["b1-kept", "b2", "b3"]), Ownership::Take),
            c.upsert(encoded(&[]), Ownership::Take),
        );
        use Outcome::{Created, Unchanged};
        assert_eq!(a.unwrap().outcomes, [Created, Unchanged]);
        assert_eq!(b.unwrap().outcomes, [Unchanged, Created, Created]);
        assert_eq!(e.unwrap().outcomes, []);
    }

    /// A group that fails is written again one job at a time, each job with
    /// its own items given back: only the bad one fails.
    #[tokio::test]
    async fn a_failed_group_is_written_again_job_by_job() {
        let shared = Arc::new(AtomicUsize::new(0));
        let c = committer(shared.clone());
        let (a, bad, b) = tokio::join!(
            c.upsert(encoded(&["a1", "a2"]), Ownership::Take),
            c.upsert(encoded(&["bad"]), Ownership::Take),
            c.upsert(encoded(&["b1-kept"]), Ownership::Take),
        );
        assert_eq!(a.unwrap().outcomes, [Outcome::Created, Outcome::Created]);
        assert!(bad.is_err());
        assert_eq!(b.unwrap().outcomes, [Outcome::Unchanged]);
        assert_eq!(
            shared.load(Ordering::Relaxed),
            1,
            "the three shared a group"
        );
    }

    /// Moved out and given back, each job has exactly its items and
    /// documents again.
    #[test]
    fn merged_items_go_back_to_their_jobs() {
        let job = |ids: &[&str]| {
            let encoded = encoded(ids);
            UpsertJob {
                items: encoded.items,
                docs: encoded.docs,
                ownership: Ownership::Take,
                reply: oneshot::channel().0,
            }
        };
        let mut group = vec![job(&["a", "b"]), job(&[]), job(&["c", "d", "e"])];
        let contents = |group: &[UpsertJob]| -> Vec<(Vec<Item>, usize)> {
            group
                .iter()
                .map(|j| (j.items.clone(), j.docs.len()))
                .collect()
        };
        let before = contents(&group);
        let merged = Merged::take(&mut group);
        let ids: Vec<&str> = merged
            .items
            .iter()
            .filter_map(|i| i.id.rsplit('/').next())
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"]);
        assert_eq!(merged.docs.len(), 5);
        assert!(
            group
                .iter()
                .all(|j| j.items.is_empty() && j.docs.is_empty())
        );
        merged.give_back(&mut group);
        assert_eq!(contents(&group), before);
        for job in &group {
            let docs: Vec<(String, String)> = job.items.iter().map(crate::store::encode).collect();
            assert_eq!(job.docs, docs, "each item with its own document");
        }
    }
}
