//! Bulk loading: `newswire import` (content files and JSON lines into the store) and
//! `newswire migrate` (one database's whole history into another).

use crate::content::{files, ticker};
use crate::ingest::{self, ArticleInput, BreakingInput, IngestError, Mode};
use crate::model::Source;
use crate::site::Site;
use crate::store::{Export, Outcome, Ownership, Store, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

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

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

pub async fn run(site: &Site, paths: &[PathBuf]) -> Vec<FileReport> {
    let progress = bar(paths.len() as u64, "importing");
    let mut reports = Vec::with_capacity(paths.len());
    for path in paths {
        progress.set_message(path.display().to_string());
        let mut report = FileReport {
            path: path.clone(),
            ..Default::default()
        };
        if let Err(e) = import_file(site, path, &mut report).await {
            report.rejected.push(e);
        }
        reports.push(report);
        progress.inc(1);
    }
    progress.finish_and_clear();
    reports
}

async fn import_file(site: &Site, path: &Path, report: &mut FileReport) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let config = &site.config;
    let items = match ext {
        "md" | "markdown" | "html" => {
            vec![files::article(config, path, &text, Source::Api).map_err(|d| d.to_string())?]
        }
        "txt" => {
            let day = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(ticker::day_of_file)
                .ok_or("a ticker list's name must be its date, YYYY-MM-DD.txt")?;
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
        "jsonl" | "ndjson" | "json" => return import_json_lines(site, &text, report).await,
        other => {
            return Err(format!(
                "unknown file type {other:?} (expected .md, .html, .txt or .jsonl)"
            ));
        }
    };
    let written = site
        .store
        .upsert(&items, Ownership::Take)
        .await
        .map_err(|e| e.to_string())?;
    for &o in &written.outcomes {
        report.count(o);
    }
    site.mark(&written);
    Ok(())
}

/// One JSON object per line, as the API takes them: an article, or a ticker item
/// (recognized by its `headline`).
async fn import_json_lines(site: &Site, text: &str, report: &mut FileReport) -> Result<(), String> {
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let result = async {
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let outcome = if value.get("headline").is_some() {
                let input: BreakingInput =
                    serde_json::from_value(value).map_err(|e| e.to_string())?;
                ingest::add_breaking(site, vec![input])
                    .await
                    .map_err(describe)?[0]
                    .1
            } else {
                let input: ArticleInput =
                    serde_json::from_value(value).map_err(|e| e.to_string())?;
                ingest::put_article(site, input, None, Mode::Replace)
                    .await
                    .map_err(describe)?
                    .1
            };
            Ok::<_, String>(outcome)
        }
        .await;
        match result {
            Ok(o) => report.count(o),
            Err(e) => report.rejected.push(format!("line {}: {e}", i + 1)),
        }
    }
    Ok(())
}

fn describe(e: IngestError) -> String {
    e.to_string()
}

#[derive(Debug, Default)]
pub struct MigrateCounts {
    pub items: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub tombstones: usize,
}

/// Copies everything, in chunks, through the target's own idempotent import.
pub async fn migrate(from: &dyn Store, to: &dyn Store) -> Result<MigrateCounts, StoreError> {
    const CHUNK: usize = 500;
    let all = from.export().await?;
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
                tombstones: Vec::new(),
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
        items: Vec::new(),
        tombstones: all.tombstones,
    })
    .await?;
    progress.finish_and_clear();
    Ok(counts)
}
