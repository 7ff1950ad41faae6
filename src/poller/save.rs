//! Fetch states saved in batches: the states of a round of fetches share a
//! transaction, so a round of 304s costs a commit per batch, not per source.

use super::Poller;
use crate::model::FetchState;
use crate::store::{Store, StoreError};
use std::sync::Arc;

pub(super) type PendingSave = (
    FetchState,
    tokio::sync::oneshot::Sender<Result<bool, StoreError>>,
);

/// Writes the states queued since the last write in one transaction, each
/// waiting fetch told its own outcome. Ends when every sender is gone.
async fn save_batches(
    store: Arc<dyn Store>,
    owner: String,
    mut rx: tokio::sync::mpsc::Receiver<PendingSave>,
) {
    const MAX_BATCH: usize = 256;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (states, replies): (Vec<FetchState>, Vec<_>) = batch.drain(..).unzip();
        match store.save_fetch_states(&states, &owner).await {
            Ok(saved) => {
                for (reply, ok) in replies.into_iter().zip(saved) {
                    let _ = reply.send(Ok(ok));
                }
            }
            Err(e) => {
                let e = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Unavailable(e.clone())));
                }
            }
        }
    }
}

impl Poller {
    /// Saves a state through the batcher: states saved at about the same time
    /// (a round of fetches) share one transaction, so a round of 304s costs
    /// a commit per batch, not per source.
    pub(super) async fn save(&self, state: FetchState) -> Result<bool, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let saver = self
            .saver
            .get_or_init(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel(1024);
                tokio::spawn(save_batches(self.store.clone(), self.owner.clone(), rx));
                tx
            })
            .await;
        if saver.send((state, reply)).await.is_err() {
            return Err(StoreError::Unavailable("the state saver stopped".into()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the state saver stopped".into())))
    }
}
