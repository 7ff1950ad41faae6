//! Reloads content when files under `articles/` or `breaking/` change (inotify through
//! the notify crate) or on SIGHUP, so editors never restart the server; and reloads
//! the config file when it changes or on SIGHUP: a valid one is in force at
//! once, one with an error shows in `/healthz` (with its file and line) while
//! the last good one stays.

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
    let root = site.config().root();
    let root = if root.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        root
    };
    let dirs = [root.join(ARTICLES_DIR), root.join(BREAKING_DIR)];
    let watched = dirs.clone();
    let fs_tx = tx.clone();
    // The config file has its own watch.
    let config_file = site.config().file.clone();
    let (config_tx, mut config_rx) = mpsc::unbounded_channel::<()>();
    let cfg_tx = config_tx.clone();
    let config_name = config_file.file_name().map(|n| n.to_owned());
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(e) = event else { return };
        if e.kind.is_access() {
            return;
        }
        if e.paths
            .iter()
            .any(|p| watched.iter().any(|d| p.starts_with(d)))
        {
            let _ = fs_tx.send(());
        }
        if e.paths
            .iter()
            .any(|p| p.file_name() == config_name.as_deref())
        {
            let _ = cfg_tx.send(());
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
    // A change made before the watch began is a change all the same.
    let on_disk = std::fs::read(&config_file).unwrap_or_default();
    if crate::hash::fingerprint(&on_disk) != site.file_fingerprint() {
        let _ = config_tx.send(());
    }
    #[cfg(unix)]
    {
        let hup_tx = tx.clone();
        let hup_config = config_tx.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading content");
                let _ = hup_tx.send(());
                let _ = hup_config.send(());
            }
        });
    }
    drop(tx);
    drop(config_tx);
    let checker = site.clone();
    tokio::spawn(async move {
        while config_rx.recv().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            while config_rx.try_recv().is_ok() {}
            checker.reload().await;
        }
    });
    while rx.recv().await.is_some() {
        tokio::time::sleep(SETTLE).await;
        while rx.try_recv().is_ok() {}
        if let Err(e) = site.sync_files().await {
            tracing::error!("content reload failed, still serving the last good feeds: {e}");
        }
    }
}
