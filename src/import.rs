//! Bulk loading: `newswire import` (content files and JSON lines into the store) and
//! `newswire migrate` (one database's whole history into another).

use crate::content::{files, ticker};
use crate::ingest::{ArticleInput, BreakingInput, Ingest};
use crate::model::{Item, Source};
use crate::store::{Encoded, Export, Outcome, Ownership, Store, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Why a file, or a line of it, was not imported. `Display` is what the
/// report shows.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    #[error("line {line}: cannot read: {source}")]
    ReadLine { line: usize, source: std::io::Error },
    /// A content file that does not parse: its `file:line` diagnostic.
    #[error("{0}")]
    Content(crate::content::Diagnostic),
    #[error("a ticker list's name must be its date, YYYY-MM-DD.txt")]
    TickerName,
    #[error("unknown file type {0:?} (expected .md, .html, .txt or .jsonl)")]
    FileType(String),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Field(#[from] crate::gate::FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one file's items.
#[derive(Debug, Default)]
pub struct FileReport {
    pub path: PathBuf,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// `line N: why`, one per refused item.
    pub rejected: Vec<String>,
}

impl FileReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.added += 1,
            Outcome::Updated | Outcome::Deleted => self.updated += 1,
            Outcome::Unchanged | Outcome::Skipped | Outcome::Conflict => self.unchanged += 1,
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal), for the
/// CLI's long runs: import, fetch.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

pub async fn run(site: &Ingest, paths: &[PathBuf]) -> Vec<FileReport> {
    let progress = bar(paths.len() as u64, "importing");
    let mut reports = Vec::with_capacity(paths.len());
    for path in paths {
        progress.set_message(path.display().to_string());
        let mut report = FileReport {
            path: path.clone(),
            ..Default::default()
        };
        if let Err(e) = import_file(site, path, &mut report).await {
            report.rejected.push(e.to_string());
        }
        reports.push(report);
        progress.inc(1);
    }
    progress.finish_and_clear();
    reports
}

async fn import_file(
    site: &Ingest,
    path: &Path,
    report: &mut FileReport,
) -> Result<(), ImportError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "jsonl" | "ndjson" | "json") {
        return import_json_lines(site, path, report).await;
    }
    let text = std::fs::read_to_string(path)?;
    let config = &site.config;
    let items = match ext {
        "md" | "markdown" | "html" => {
            vec![files::article(config, path, &text, Source::Api).map_err(ImportError::Content)?]
        }
        "txt" => {
            let day = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(ticker::day_of_file)
                .ok_or(ImportError::TickerName)?;
            let (items, diags) = ticker::parse(&text, day, config.site.timezone);
            report
                .rejected
                .extend(diags.iter().map(ToString::to_string));
            items
                .into_iter()
                .filter_map(|t| {
                    let line = t.line;
                    match files::breaking_item(config, t, Source::Api) {
                        Ok(item) => Some(item),
                        Err(e) => {
                            report.rejected.push(format!("line {line}: {e}"));
                            None
                        }
                    }
                })
                .collect()
        }
        other => {
            return Err(ImportError::FileType(other.to_owned()));
        }
    };
    let written = site
        .store
        .upsert_encoded(Encoded::new(items), Ownership::Take)
        .await?;
    for &o in &written.outcomes {
        report.count(o);
    }
    (site.changed)(&written);
    Ok(())
}

/// Items written per transaction: one commit (one fsync) per batch instead of one
/// per line, with memory bounded by the batch, not by the file.
pub const BATCH: usize = 2000;

/// One JSON object per line, as the API takes them: an article, or a ticker item
/// (recognized by its `headline`). Lines go through the same conversion and gate
/// as the API's, and are stored [`BATCH`] at a time. Unlike a PUT, an article line
/// whose content changed keeps the `updated` it gives (or its `published`): a bulk
/// load restates content, it does not date corrections.
async fn import_json_lines(
    site: &Ingest,
    path: &Path,
    report: &mut FileReport,
) -> Result<(), ImportError> {
    let file = std::fs::File::open(path)?;
    let mut lines = std::io::BufReader::with_capacity(1 << 16, file).lines();
    let mut batch: Vec<(usize, Item)> = Vec::with_capacity(BATCH);
    // One batch is being written while the next is read and checked: the gate's
    // work (Markdown, ammonia) and the store's overlap on two cores.
    let mut writing: Option<tokio::task::JoinHandle<Stored>> = None;
    let mut n = 0;
    loop {
        let line = lines
            .next()
            .transpose()
            .map_err(|source| ImportError::ReadLine {
                line: n + 1,
                source,
            })?;
        let done = line.is_none();
        if let Some(line) = line {
            n += 1;
            if !line.trim().is_empty() {
                match json_line_item(site, &line) {
                    Ok(item) => batch.push((n, item)),
                    Err(e) => report.rejected.push(format!("line {n}: {e}")),
                }
            }
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            if let Some(previous) = writing.take() {
                tally(site, report, previous.await);
            }
            let (lines, items): (Vec<usize>, Vec<Item>) =
                std::mem::take(&mut batch).into_iter().unzip();
            let store = site.store.clone();
            writing = Some(tokio::spawn(async move {
                // Encoded beside the next batch's reading, not by the
                // store's committer.
                let result = store
                    .upsert_encoded(Encoded::new(items), Ownership::Refresh)
                    .await;
                (lines, result)
            }));
        }
        if done {
            if let Some(previous) = writing.take() {
                tally(site, report, previous.await);
            }
            return Ok(());
        }
    }
}

/// A written batch: its line numbers and what the store said.
type Stored = (Vec<usize>, Result<crate::store::Written, StoreError>);

fn tally(site: &Ingest, report: &mut FileReport, stored: Result<Stored, tokio::task::JoinError>) {
    match stored {
        Ok((_, Ok(written))) => {
            for &o in &written.outcomes {
                report.count(o);
            }
            (site.changed)(&written);
        }
        Ok((lines, Err(e))) => report.rejected.extend(
            lines
                .iter()
                .map(|line| format!("line {line}: not stored: {e}")),
        ),
        Err(e) => report.rejected.push(format!("a batch failed: {e}")),
    }
}

fn json_line_item(site: &Ingest, line: &str) -> Result<Item, ImportError> {
    let value: serde_json::Value = serde_json::from_str(line)?;
    if value.get("headline").is_some() {
        let input: BreakingInput = serde_json::from_value(value)?;
        Ok(input.into_item(site)?)
    } else {
        let input: ArticleInput = serde_json::from_value(value)?;
        Ok(input.into_item(site)?)
    }
}

#[derive(Debug, Default)]
pub struct MigrateCounts {
    pub items: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub tombstones: usize,
    /// The managed catalog entries (sources, scrapes, timelines added
    /// through the API), and how many of them the target did not have.
    pub entries: usize,
    pub entries_new: usize,
    /// The sources whose fetch state was carried over.
    pub sources: usize,
    /// Kept archive documents the target did not have.
    pub documents: usize,
    /// Live WebSub subscriptions to the hub.
    pub subscriptions: usize,
}

/// Copies everything, in chunks, through the target's own idempotent import.
/// Then the catalog's managed entries (the file's are declared again by the
/// first instance that starts with it) and every source's fetch state, so
/// that the sites' sources, scrapes and timelines are the same on the new
/// database, and its first polls are conditional GETs on their schedule
/// rather than every source fetched whole at once; the archive pages' kept
/// documents, so that each keeps its bytes; and the hub's live subscriptions.
pub async fn migrate(from: &dyn Store, to: &dyn Store) -> Result<MigrateCounts, StoreError> {
    const CHUNK: usize = 500;
    let mut all = from.export().await?;
    // The archives first, so that the items take their places in the logs.
    to.import(&Export {
        archive: std::mem::take(&mut all.archive),
        ..Export::default()
    })
    .await?;
    let progress = bar(all.items.len() as u64, "migrating");
    let mut counts = MigrateCounts {
        items: all.items.len(),
        tombstones: all.tombstones.len(),
        ..Default::default()
    };
    let now = chrono::Utc::now();
    for chunk in all.items.chunks(CHUNK) {
        // History written before the gate existed passes it now; what cannot be
        // repaired (an empty title) is left behind and counted as unchanged.
        let items: Vec<_> = chunk
            .iter()
            .filter_map(|i| crate::gate::admit(i.clone(), crate::gate::Trust::Lenient, now).ok())
            .collect();
        counts.unchanged += chunk.len() - items.len();
        let written = to
            .import(&Export {
                items,
                ..Export::default()
            })
            .await?;
        for o in written.outcomes {
            match o {
                Outcome::Created => counts.created += 1,
                Outcome::Updated => counts.updated += 1,
                _ => counts.unchanged += 1,
            }
        }
        progress.inc(chunk.len() as u64);
    }
    to.import(&Export {
        tombstones: all.tombstones,
        ..Export::default()
    })
    .await?;
    progress.finish_and_clear();
    let now = chrono::Utc::now();
    for entry in from.catalog().await?.entries {
        if entry.declared {
            continue;
        }
        counts.entries += 1;
        // Only where the name is free: a second run changes nothing, and an
        // entry the target has (managed, or declared by its file) stays.
        if to.catalog_put(&entry, true, now).await? {
            counts.entries_new += 1;
        }
    }
    let states = from.fetch_states().await?;
    // Registered (the declared sources' rows are not yet there), then their
    // states written over: no instance holds a lease on a new database.
    to.add_sources(&states).await?;
    let saved = to.save_fetch_states(&states, "newswire-migrate").await?;
    for state in &states {
        if state.paused.is_some() {
            to.set_paused(&state.source, state.paused).await?;
        }
    }
    counts.sources = saved.into_iter().filter(|saved| *saved).count();
    // The pages' bytes as first served (after the pages themselves, above):
    // a page made from items since withdrawn shows what it showed. A few at
    // a time: each is a page's whole document, compressed twice.
    let mut after = None;
    loop {
        let rows = from.kept_documents(after.as_ref(), 8).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.at.clone());
        counts.documents += to.import_kept_documents(&rows).await?;
    }
    // The hub's subscribers, until their leases end: they renew with
    // whichever instance answers, and would otherwise hear nothing until
    // they did.
    for sub in from.websub_subscriptions().await? {
        if sub.lease_until > now {
            to.websub_subscribe(&sub).await?;
            counts.subscriptions += 1;
        }
    }
    Ok(counts)
}
