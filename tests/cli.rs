//! The `newswire` command line: check, build (against serve), and every subcommand's help.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SALT_FILE: &str = "articles/salt-typhoon-telecom-metadata-theft.md";
const TICKER_FILE: &str = "breaking/2026-02-01.txt";
const SLUGS: [&str; 7] = [
    "all", "breaking", "world", "tech", "economy", "morocco", "sports",
];

fn newswire(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("NEWSWIRE_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run newswire")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

// 12.
#[test]
fn check_accepts_the_demo_site() {
    let site = SiteDir::demo();
    let out = newswire(&["check", "--config", s(&site.config())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.starts_with("ok:"), "{stdout}");
    assert!(
        stdout.contains("5 categories") && stdout.contains("7 articles"),
        "{stdout}"
    );
    assert!(stdout.contains("29 ticker items"), "{stdout}");
}

// 12.
#[test]
fn check_reports_every_broken_file_with_its_line() {
    let site = SiteDir::demo();
    // Front matter that is not TOML, on line 2.
    let file = site.path(SALT_FILE);
    let content = std::fs::read_to_string(&file).unwrap();
    let broken = content.replacen("title = \"", "title = \"unterminated ", 1);
    let broken = broken.replacen("Campaign\"\n", "Campaign\n", 1);
    assert_ne!(broken, content);
    std::fs::write(&file, broken).unwrap();
    // An unknown category, on line 4.
    std::fs::write(
        site.path("articles/bad-category.md"),
        "+++\ntitle = \"Rain expected\"\ndate = \"2026-02-01 12:00\"\ncategory = \"weather\"\n+++\nRain is expected.\n",
    )
    .unwrap();
    // A ticker line without a time.
    let ticker = site.path(TICKER_FILE);
    let content = std::fs::read_to_string(&ticker).unwrap();
    let mut lines: Vec<&str> = content.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("17:00 ")).unwrap();
    lines.insert(at, "A headline without its time");
    std::fs::write(&ticker, lines.join("\n") + "\n").unwrap();

    let out = newswire(&["check", "--config", s(&site.config())]);
    let all = text(&out);
    assert!(!out.status.success(), "check must fail:\n{all}");
    assert!(!all.contains("ok:"), "{all}");
    let expect = [
        (site.path(SALT_FILE), 2),
        (site.path("articles/bad-category.md"), 4),
        (site.path(TICKER_FILE), at + 1),
    ];
    for (path, line) in expect {
        let prefix = format!("{}:{line}:", path.display());
        assert!(all.contains(&prefix), "expected {prefix:?} in:\n{all}");
    }
    assert!(
        all.contains("weather"),
        "names the unknown category:\n{all}"
    );
    assert!(all.contains("3 problems"), "{all}");

    // A broken config is reported as such, not as a crash.
    let site = SiteDir::demo();
    site.append_config("[site]\ntitle = \"twice\"\n");
    let out = newswire(&["check", "--config", s(&site.config())]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("newswire.toml"), "{}", text(&out));

    // A source URL the URL parser would quietly percent-encode is named, with
    // its key, instead of being fetched as an address nobody wrote.
    let site = SiteDir::demo();
    site.append_config(
        "[[sources]]\nname = \"pasted\"\nurl = \"https://wire.example/feed.xml<script>x</script>\"\n",
    );
    let out = newswire(&["check", "--config", s(&site.config())]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("sources[0].url") && text(&out).contains("'<'"),
        "{}",
        text(&out)
    );
}

/// The built file for a served path.
fn built(out: &Path, path: &str) -> PathBuf {
    if path == "/" {
        out.join("index.html")
    } else {
        out.join(path.trim_start_matches('/'))
    }
}

// 13.
#[tokio::test]
async fn build_writes_what_serve_serves() {
    let site = SiteDir::demo();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("public");
    let data = site.data();
    let run = newswire(&[
        "build",
        "--config",
        s(&site.config()),
        "--data",
        s(&data),
        "--out",
        s(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("wrote"),
        "{}",
        text(&run)
    );

    let mut paths: Vec<String> = demo_feed_paths();
    for slug in SLUGS {
        paths.push(format!("/feeds/{slug}.html"));
    }
    paths.push("/feeds.opml".into());
    paths.push("/".into());
    for path in &paths {
        let file = built(&out, path);
        assert!(file.is_file(), "build wrote {}", file.display());
    }

    let server = Server::start(&site, &[]);
    for path in &paths {
        let (status, _, body) = get(&server.url(path), &[]).await;
        assert_eq!(status, 200, "{path}");
        let file = std::fs::read(built(&out, path)).unwrap();
        assert!(
            file == body,
            "{path}: built file differs from the served document"
        );
    }
    assert!(server.stop());

    // A build on a fresh data dir gives the same bytes too.
    let out2 = out_dir.path().join("again");
    let data2 = tempfile::tempdir().unwrap();
    let run = newswire(&[
        "build",
        "--config",
        s(&site.config()),
        "--data",
        s(data2.path()),
        "--out",
        s(&out2),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    for path in &paths {
        assert!(
            std::fs::read(built(&out, path)).unwrap() == std::fs::read(built(&out2, path)).unwrap(),
            "{path}: two builds differ"
        );
    }

    let tool = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tools/check-feed"
    ));
    if !tool.exists() {
        eprintln!(
            "skipping check-feed: {} does not exist (CI has it)",
            tool.display()
        );
        return;
    }
    let feeds: Vec<PathBuf> = demo_feed_paths().iter().map(|p| built(&out, p)).collect();
    let check = Command::new(tool)
        .args(&feeds)
        .output()
        .expect("run check-feed");
    let report = text(&check);
    assert!(check.status.success(), "check-feed failed:\n{report}");
    assert!(!report.contains("FAIL"), "check-feed:\n{report}");
}

// 14.
#[test]
fn every_subcommand_has_help() {
    let top = newswire(&["--help"]);
    assert!(top.status.success(), "{}", text(&top));
    let top_text = String::from_utf8_lossy(&top.stdout).to_string();
    for (cmd, option) in [
        ("serve", "--listen"),
        ("build", "--out"),
        ("check", "--config"),
        ("import", "--data"),
        ("migrate", "--from"),
    ] {
        assert!(top_text.contains(cmd), "top-level help lists {cmd}");
        let out = newswire(&[cmd, "--help"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd} --help: {}", text(&out));
        assert!(
            stdout.contains("Usage:") && stdout.contains(&format!("newswire {cmd}")),
            "{cmd} --help:\n{stdout}"
        );
        assert!(stdout.contains(option), "{cmd} --help mentions {option}");
        // `help CMD` is the same text.
        let alt = newswire(&["help", cmd]);
        assert!(alt.status.success());
        assert_eq!(alt.stdout, out.stdout, "help {cmd}");
    }
    // An unknown subcommand is a usage error, not a crash.
    let bad = newswire(&["frobnicate"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

// A descriptor per connection and per large document: `serve` takes the hard
// open-file limit when it starts under a low soft one.
#[cfg(target_os = "linux")]
#[test]
fn serve_raises_the_soft_open_file_limit() {
    use std::io::{BufRead, BufReader};
    let site = SiteDir::demo();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$0" serve --config "$1" --data "$2" --listen 127.0.0.1:0"#)
        .arg(bin())
        .arg(site.config())
        .arg(site.data())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("newswire: listening on"), "{line:?}");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let soft: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .expect("a soft limit");
    assert!(soft > 256, "soft open-file limit still {soft}:\n{limits}");
}
