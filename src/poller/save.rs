//! Fetch states saved in batches: the states of a round of fetches share a
//! transaction, so a round of 304s costs a commit per batch, not per source;
//! then their polls are appended to the sources' attempt logs, a batch at a
//! time too.

use super::Poller;
use crate::model::{FetchAttempt, FetchState};
use crate::store::{Store, StoreError};
use std::sync::Arc;

pub(super) type PendingSave = (
    FetchState,
    Option<FetchAttempt>,
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
        let mut states = Vec::with_capacity(batch.len());
        let mut logged = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for (state, attempt, reply) in batch.drain(..) {
            states.push(state);
            logged.push(attempt);
            replies.push(reply);
        }
        match store.save_fetch_states(&states, &owner).await {
            Ok(saved) => {
                // The polls of the states written: a lease lost meanwhile
                // means another instance polls, and logs, that source now.
                let attempts: Vec<FetchAttempt> = logged
                    .into_iter()
                    .zip(&saved)
                    .filter_map(|(a, ok)| a.filter(|_| *ok))
                    .collect();
                // Logged before the fetches hear they are saved: whoever
                // asked for a fetch finds it in the log.
                if !attempts.is_empty()
                    && let Err(e) = store.record_attempts(&attempts).await
                {
                    tracing::warn!("logging {} polls failed: {e}", attempts.len());
                }
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
    pub(super) async fn save(
        &self,
        state: FetchState,
        attempt: Option<FetchAttempt>,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let saver = self
            .saver
            .get_or_init(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel(1024);
                tokio::spawn(save_batches(self.store.clone(), self.owner.clone(), rx));
                tx
            })
            .await;
        if saver.send((state, attempt, reply)).await.is_err() {
            return Err(StoreError::Unavailable("the state saver stopped".into()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the state saver stopped".into())))
    }
}
