//! `newswire import`: articles, ticker lists and JSON lines into the store, with a
//! per-file report, a failing exit code when anything was refused, idempotent reruns,
//! and the imported items in the feeds of a server on the same data.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ARTICLE: &str = r#"+++
title = "Imported article about harbour works"
date = "2026-02-03 09:30"
category = "world"
author = "Import Desk"
tags = ["import"]
+++
The harbour works start on Monday.

A second paragraph.
"#;

const TICKER: &str = "# imported ticker list\n\
10:15 Imported flash about the port | category=world\n\
09:45 Imported flash about the weather\n\
09:00 Imported flash in an unknown category | category=weather\n";

const JSONL: &str = concat!(
    r#"{"id": "jsonl-article", "title": "JSON lines article on prices", "category": "economy", "published": "2026-02-05 08:00", "summary": "From a JSON line."}"#,
    "\n",
    r#"{"id": "jsonl-bad", "title": "A line without a category", "published": "2026-02-05 08:00"}"#,
    "\n",
    r#"{"headline": "JSON lines flash on trains", "date": "2026-02-05", "time": "07:30", "category": "morocco"}"#,
    "\n",
);

/// A file's report line: (added, updated, unchanged, rejected), and the lines under it.
#[derive(Debug, PartialEq)]
struct FileReport {
    counts: (usize, usize, usize, usize),
    details: Vec<String>,
}

struct Run {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn import(site: &SiteDir, files: &[&Path]) -> Run {
    let out = Command::new(bin())
        .arg("import")
        .arg("--config")
        .arg(site.config())
        .arg("--data")
        .arg(site.data())
        .args(files)
        .env_remove("NEWSWIRE_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run newswire import");
    Run {
        success: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Parses `PATH: A added, U updated, N unchanged, R rejected` and the indented lines after.
fn report(run: &Run, file: &Path) -> FileReport {
    let prefix = format!("{}: ", file.display());
    let mut lines = run.stdout.lines();
    let head = lines
        .by_ref()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no report for {}:\n{}", file.display(), run.stdout));
    let nums: Vec<usize> = head[prefix.len()..]
        .split(", ")
        .map(|part| {
            part.split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("cannot read {head:?}"))
        })
        .collect();
    assert_eq!(nums.len(), 4, "{head}");
    let words: Vec<&str> = head[prefix.len()..]
        .split(", ")
        .map(|p| p.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        words,
        ["added", "updated", "unchanged", "rejected"],
        "{head}"
    );
    let details = lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_owned())
        .collect();
    FileReport {
        counts: (nums[0], nums[1], nums[2], nums[3]),
        details,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn feed_text(server: &Server, path: &str) -> String {
    let (status, _, body) = get(&server.url(path), &[]).await;
    assert_eq!(status, 200, "{path}");
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn import_reports_per_file_is_idempotent_and_feeds_show_it() {
    let site = SiteDir::demo();
    // The files to import live outside the site's content folders.
    let inbox = tempfile::tempdir().unwrap();
    let md = write(inbox.path(), "imported-harbour-works.md", ARTICLE);
    let txt = write(inbox.path(), "2026-02-04.txt", TICKER);
    let jsonl = write(inbox.path(), "batch.jsonl", JSONL);

    let first = import(&site, &[&md, &txt, &jsonl]);
    println!("first import:\n{}{}", first.stdout, first.stderr);
    assert!(!first.success, "a rejected line makes the exit non-zero");
    assert_eq!(first.code, Some(1));
    assert_eq!(
        report(&first, &md),
        FileReport {
            counts: (1, 0, 0, 0),
            details: vec![]
        }
    );
    assert_eq!(
        report(&first, &txt),
        FileReport {
            counts: (2, 0, 0, 1),
            details: vec!["line 4: category: unknown category \"weather\"".into()]
        }
    );
    let j = report(&first, &jsonl);
    assert_eq!(j.counts, (2, 0, 0, 1), "{j:?}");
    assert_eq!(j.details.len(), 1);
    assert!(
        j.details[0].starts_with("line 2: ") && j.details[0].contains("category"),
        "the rejection names the line and the field: {:?}",
        j.details[0]
    );

    // Again: nothing new, the same rejection.
    let second = import(&site, &[&md, &txt, &jsonl]);
    println!("second import:\n{}{}", second.stdout, second.stderr);
    assert_eq!(second.code, Some(1));
    assert_eq!(report(&second, &md).counts, (0, 0, 1, 0));
    assert_eq!(report(&second, &txt).counts, (0, 0, 2, 1));
    let j = report(&second, &jsonl);
    assert_eq!(j.counts, (0, 0, 2, 1));
    assert!(j.details[0].starts_with("line 2: "));

    // Only good files: exit 0.
    let ok = import(&site, &[&md]);
    assert!(ok.success, "{}{}", ok.stdout, ok.stderr);
    assert_eq!(report(&ok, &md).counts, (0, 0, 1, 0));

    // A file of an unknown type is refused as a whole; a ticker list must be named by its date.
    let odd = write(inbox.path(), "notes.csv", "a,b\n");
    let undated = write(inbox.path(), "ticker.txt", "10:00 Undated flash\n");
    let bad = import(&site, &[&odd, &undated]);
    assert_eq!(bad.code, Some(1));
    let r = report(&bad, &odd);
    assert_eq!(r.counts, (0, 0, 0, 1));
    assert!(r.details[0].contains("unknown file type"), "{r:?}");
    let r = report(&bad, &undated);
    assert_eq!(r.counts, (0, 0, 0, 1));
    assert!(r.details[0].contains("YYYY-MM-DD"), "{r:?}");

    // A server on that data shows what was imported.
    let server = Server::start(&site, &[]);
    let world = feed_text(&server, "/feeds/world.rss").await;
    assert!(world.contains("Imported article about harbour works"));
    assert!(world.contains("Imported flash about the port"));
    let breaking = feed_text(&server, "/feeds/breaking.rss").await;
    for headline in [
        "Imported flash about the port",
        "Imported flash about the weather",
        "JSON lines flash on trains",
    ] {
        assert!(breaking.contains(headline), "{headline} in breaking.rss");
    }
    assert!(!breaking.contains("unknown category"));
    let economy = feed_text(&server, "/feeds/economy.atom").await;
    assert!(economy.contains("JSON lines article on prices"));
    assert!(!economy.contains("A line without a category"));
    let morocco = feed_text(&server, "/feeds/morocco.json").await;
    assert!(morocco.contains("JSON lines flash on trains"));
    let all = feed_text(&server, "/feeds/all.rss").await;
    assert!(!all.contains("A line without a category"));
    // Imported articles are in the API under their keys (the file stem for a file).
    let (status, _, body) = get(&server.url("/api/v1/articles/imported-harbour-works"), &[]).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["title"], "Imported article about harbour works");
    assert_eq!(v["author"], "Import Desk");
    let (status, _, _) = get(&server.url("/api/v1/articles/jsonl-article"), &[]).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&server.url("/api/v1/articles/jsonl-bad"), &[]).await;
    assert_eq!(status, 404);
    // The ticker list's times are local: 10:15 on 2026-02-04 in Casablanca is UTC+1.
    assert!(
        breaking.contains("04 Feb 2026 10:15:00 +0100")
            || breaking.contains("4 Feb 2026 10:15:00 +0100"),
        "local ticker time in breaking.rss"
    );

    // An import while the server runs reaches its feeds too (the server notices the
    // store changed under it).
    let late = write(
        inbox.path(),
        "late.jsonl",
        r#"{"id": "late-import", "title": "Imported while serving", "category": "world", "published": "2026-02-06 12:00"}"#,
    );
    let run = import(&site, &[&late]);
    assert!(run.success, "{}{}", run.stdout, run.stderr);
    assert_eq!(report(&run, &late).counts, (1, 0, 0, 0));
    let seen = eventually(Duration::from_secs(5), || async {
        feed_text(&server, "/feeds/world.rss")
            .await
            .contains("Imported while serving")
            .then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "an import into a running server's store shows in its feeds"
    );
    assert!(server.stop());
}
