//! Reloads content when files under `articles/` or `breaking/` change (inotify through
//! the notify crate) or on SIGHUP, so editors never restart the server.

use crate::content::files::{ARTICLES_DIR, BREAKING_DIR};
use crate::site::Site;
use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Editors write a file in several steps; wait for them to settle.
const SETTLE: Duration = Duration::from_millis(150);

/// Runs until the process ends. A watcher that cannot start is logged, and SIGHUP
/// still works.
pub async fn run(site: Arc<Site>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let root = site.config.root();
    let root = if root.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        root
    };
    let dirs = [root.join(ARTICLES_DIR), root.join(BREAKING_DIR)];
    let watched = dirs.clone();
    let fs_tx = tx.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && !e.kind.is_access()
            && e.paths
                .iter()
                .any(|p| watched.iter().any(|d| p.starts_with(d)))
        {
            let _ = fs_tx.send(());
        }
    });
    let _watcher = match watcher {
        Ok(mut w) => match w.watch(&root, RecursiveMode::Recursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "not watching {}: {e}; send SIGHUP to reload",
                    root.display()
                );
                None
            }
        },
        Err(e) => {
            tracing::warn!("no file watcher: {e}; send SIGHUP to reload");
            None
        }
    };
    #[cfg(unix)]
    {
        let hup_tx = tx.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading content");
                let _ = hup_tx.send(());
            }
        });
    }
    drop(tx);
    while rx.recv().await.is_some() {
        tokio::time::sleep(SETTLE).await;
        while rx.try_recv().is_ok() {}
        if let Err(e) = site.sync_files().await {
            tracing::error!("content reload failed, still serving the last good feeds: {e}");
        }
    }
}
