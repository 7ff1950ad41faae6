//! The README's examples run as written. Every ```sh block of README.md that
//! calls curl runs in order, as one bash script, against the demo site: the test
//! starts the server (instead of the block's `cargo run … &` line) with the token
//! the block exports, and points the block's `http://127.0.0.1:8080` at it. curl
//! fails on any 4xx or 5xx (`--fail-with-body`), and so does the script.
//! `examples/publish.rs` runs against the same server.

mod common;
use common::*;

const DEMO_BASE: &str = "http://127.0.0.1:8080";

/// Every fenced block of the README: its info string and its text.
fn fenced_blocks() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```") => {
                current = Some((l.trim_start_matches('`').to_owned(), String::new()))
            }
            (Some(_), l) if l.starts_with("```") => blocks.push(current.take().unwrap()),
            (Some((_, block)), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

fn readme_blocks() -> Vec<String> {
    fenced_blocks()
        .into_iter()
        .filter(|(info, b)| info == "sh" && b.contains("curl "))
        .map(|(_, b)| b)
        .collect()
}

/// Dates of today, which the dry run prints, as `DATE`.
fn undated(text: &str) -> String {
    text.lines()
        .map(|l| {
            let b = l.as_bytes();
            if l.starts_with("  2") && b.len() > 12 && b[6] == b'-' && b[12] == b'T' {
                format!("  DATE{}", &l[12..])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scraping section's dry run runs as written (a free port and a
/// temporary folder in place of 8081 and /tmp/walaw), and prints what the
/// README shows.
#[test]
fn the_readme_dry_run_prints_what_the_readme_shows() {
    let blocks = fenced_blocks();
    let at = blocks
        .iter()
        .position(|(info, b)| info == "sh" && b.contains("scrape --dry-run"))
        .expect("a dry-run example");
    let (script, shown) = (&blocks[at].1, &blocks[at + 1].1);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("walaw");
    let script = script
        .replace("cargo run --release --", bin())
        .replace("8081", &port.to_string())
        .replace("/tmp/walaw", folder.to_str().unwrap());
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n{script}"
        ))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        undated(&stdout.replace(&port.to_string(), "8081")),
        undated(shown.trim_end()),
    );
}

#[test]
fn every_curl_example_in_the_readme_runs_as_written() {
    let blocks = readme_blocks();
    assert!(!blocks.is_empty(), "the README has curl examples");
    let script: String = blocks.join("\n");
    let token = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("export NEWSWIRE_API_TOKEN="))
        .expect("the README exports a token")
        .to_owned();
    let site = SiteDir::demo();
    let server = Server::start_with(
        site.config(),
        &site.data(),
        &[],
        &[("NEWSWIRE_API_TOKEN", token.as_str())],
    );
    let body: String = script
        .lines()
        .filter(|l| !(l.trim_start().starts_with("cargo run") && l.trim_end().ends_with('&')))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(DEMO_BASE, &server.base);
    let full = format!(
        "set -euo pipefail\ncurl() {{ command curl --fail-with-body --max-time 30 \"$@\"; }}\n{body}\n"
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&full)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's examples failed ({}):\n{stdout}\n{stderr}\nscript:\n{full}",
        out.status
    );
    // What the examples say they show.
    for expected in [
        r#""outcome": "created""#,
        "Rabat tram extension opens to passengers",
        "<title>Storm warning for the north</title>",
        "304",
        r#""status": "ok""#,
        r#"newswire_http_requests_total{route="api",status="204"} 2"#,
        "202",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }

    // The Rust example against the same server.
    let publish = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("examples/publish"))
        .unwrap();
    let out = std::process::Command::new(&publish)
        .env("NEWSWIRE_URL", &server.base)
        .env("NEWSWIRE_API_TOKEN", &token)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo test builds the examples)",
                publish.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "examples/publish: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("created (201 Created)"), "{stdout}");
    assert!(server.stop());
}
