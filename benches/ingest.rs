//! Ingest throughput and write-to-visible latency of the release binary, over HTTP.
//!
//! `cargo build --release && cargo bench --bench ingest`
//!
//! Builds nothing itself: it runs `target/release/newswire serve` on a temporary copy
//! of `feeds/` with a temporary data directory (SQLite), and measures
//!   (a) sequential POSTs on one keep-alive connection -> articles/s,
//!   (b) POSTs from 32 concurrent connections -> articles/s,
//!   (c) POST-to-visible latency: after each of 200 sequential POSTs, GET
//!       /feeds/world.rss is polled in a tight loop with If-None-Match until its ETag
//!       changes -> p50/p99, from sending the POST and from its response.
//!
//! Environment:
//!   NEWSWIRE_BENCH_DATABASE_URL=postgres://…  run against PostgreSQL instead (the URL
//!       is used as is; articles get ids unique to the run), and measure (b) and (c)
//!       across two instances too: write on A and B, write on A and poll B. The
//!       second instance starts after the one-instance rows of (a) and (b).
//!   NEWSWIRE_BENCH_SCALE=0.1  scale every count (default 1).
//!
//! Client and server share the machine, so the figures are for the pair.

use chrono::{SecondsFormat, Utc};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef";
const SEQUENTIAL: usize = 2_000;
const CONCURRENT: usize = 5_000;
const CONNECTIONS: usize = 32;
const VISIBLE: usize = 200;

/// A running `newswire serve`, killed when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release").join("newswire");
    if !bin.is_file() {
        eprintln!(
            "ingest bench: {} is missing: run cargo build --release first",
            bin.display()
        );
        std::process::exit(1);
    }
    // A binary older than the sources measures old code: say so.
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let newest_src = newest_mtime(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    if let (Some(b), Some(s)) = (built, newest_src)
        && s > b
    {
        eprintln!(
            "ingest bench: warning: {} is older than src/; run cargo build --release to measure the current code",
            bin.display()
        );
    }
    bin
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "data" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn start(bin: &Path, site: &Path, data: &Path, database_url: Option<&str>) -> Instance {
    std::fs::create_dir_all(data).unwrap();
    let log = data.join("server.log");
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--config")
        .arg(site.join("newswire.toml"))
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .env("NEWSWIRE_API_TOKEN", TOKEN)
        .env_remove("NEWSWIRE_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    let mut child = cmd.spawn().expect("spawn newswire");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && let Some(url) = line.strip_prefix("newswire: listening on ") {
                let _ = tx.send(url.to_owned());
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(base) => Instance { child, base },
        Err(_) => {
            let _ = child.kill();
            eprintln!(
                "ingest bench: newswire did not start; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::process::exit(1);
        }
    }
}

/// Articles with ids unique to this run, each published later than the one before,
/// so every POST lands at the top of /feeds/world.rss and changes it.
struct Articles {
    run: String,
    next: AtomicUsize,
}

impl Articles {
    fn next(&self) -> serde_json::Value {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        json!({
            "id": format!("bench-{}-{n}", self.run),
            "title": format!("Benchmark article {n} of run {}", self.run),
            "category": "world",
            "published": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "author": "Bench Desk",
            "summary": format!("Article {n} posted by the ingest benchmark."),
            "content_markdown": format!("Article {n} posted by the ingest benchmark.\n\nA second paragraph, so the body is not empty."),
            "tags": ["bench"]
        })
    }
}

async fn post(client: &reqwest::Client, base: &str, body: &serde_json::Value) -> Duration {
    let t0 = Instant::now();
    let resp = client
        .post(format!("{base}/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = resp.status();
    let text = resp.bytes().await.expect("POST body");
    assert!(
        status.as_u16() == 201,
        "POST: {status}: {}",
        String::from_utf8_lossy(&text)
    );
    t0.elapsed()
}

async fn etag(client: &reqwest::Client, url: &str) -> String {
    let resp = client.get(url).send().await.expect("GET feed");
    assert_eq!(resp.status(), 200);
    let tag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let _ = resp.bytes().await;
    tag
}

/// Polls until the ETag differs from `old`; returns the new ETag.
async fn changed(client: &reqwest::Client, url: &str, old: &str, give_up: Duration) -> String {
    let start = Instant::now();
    loop {
        let resp = client
            .get(url)
            .header("if-none-match", old)
            .send()
            .await
            .expect("GET feed");
        match resp.status().as_u16() {
            304 => {}
            200 => {
                let tag = resp.headers()["etag"].to_str().unwrap().to_owned();
                let _ = resp.bytes().await;
                if tag != old {
                    return tag;
                }
            }
            s => panic!("GET {url}: {s}"),
        }
        assert!(
            start.elapsed() < give_up,
            "{url} did not change within {give_up:?}"
        );
    }
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

struct Row {
    name: String,
    n: usize,
    elapsed: Option<Duration>,
    latencies: Vec<Duration>,
}

fn print_table(title: &str, rows: &[Row]) {
    println!("\n{title}");
    println!(
        "{:<50} {:>6} {:>10} {:>12} {:>9} {:>9} {:>9}",
        "measure", "n", "elapsed s", "articles/s", "p50 ms", "p99 ms", "max ms"
    );
    for r in rows {
        let mut l = r.latencies.clone();
        l.sort();
        let (elapsed, rate) = match r.elapsed {
            Some(e) => (
                format!("{:.2}", e.as_secs_f64()),
                format!("{:.0}", r.n as f64 / e.as_secs_f64()),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<50} {:>6} {:>10} {:>12} {:>9.1} {:>9.1} {:>9.1}",
            r.name,
            r.n,
            elapsed,
            rate,
            pct(&l, 0.50),
            pct(&l, 0.99),
            pct(&l, 1.0)
        );
    }
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

/// POSTs `n` articles over [`CONNECTIONS`] connections, spread evenly over `bases`.
async fn concurrent(
    bases: Vec<String>,
    n: usize,
    articles: Arc<Articles>,
) -> (Duration, Vec<Duration>) {
    let many = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let left = Arc::new(AtomicUsize::new(n));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CONNECTIONS {
        let (client, base, articles, left) = (
            many.clone(),
            bases[i % bases.len()].clone(),
            articles.clone(),
            left.clone(),
        );
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1))
                .is_ok()
            {
                latencies.push(post(&client, &base, &articles.next()).await);
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(l) = tasks.join_next().await {
        latencies.extend(l.expect("a POST task"));
    }
    (t0.elapsed(), latencies)
}

async fn run(bin: PathBuf, database_url: Option<String>, scale: f64) {
    let work = tempfile::tempdir().expect("temp dir");
    let site = work.path().join("site");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds"), &site);
    let a = start(
        &bin,
        &site,
        &work.path().join("data-a"),
        database_url.as_deref(),
    );
    let run = format!(
        "{}-{}",
        std::process::id(),
        Utc::now().format("%Y%m%d%H%M%S")
    );
    let articles = Arc::new(Articles {
        run,
        next: AtomicUsize::new(0),
    });
    let store = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (WAL, synchronous=FULL)"
    };
    println!(
        "newswire ingest benchmark: {} on {store}, {} cores, client on the same machine",
        bin.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rows = Vec::new();

    // Warm up: connections, SQLite pages, the renderer.
    let one = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    for _ in 0..20 {
        post(&one, &a.base, &articles.next()).await;
    }

    // (a) Sequential, one keep-alive connection.
    let n = scaled(SEQUENTIAL, scale);
    let mut latencies = Vec::with_capacity(n);
    let t0 = Instant::now();
    for _ in 0..n {
        latencies.push(post(&one, &a.base, &articles.next()).await);
    }
    rows.push(Row {
        name: "(a) sequential POST, 1 connection".into(),
        n,
        elapsed: Some(t0.elapsed()),
        latencies,
    });

    // (b) Concurrent connections; with PostgreSQL also spread over two instances.
    let n = scaled(CONCURRENT, scale);
    let (elapsed, latencies) = concurrent(vec![a.base.clone()], n, articles.clone()).await;
    rows.push(Row {
        name: format!("(b) concurrent POST, {CONNECTIONS} connections"),
        n,
        elapsed: Some(elapsed),
        latencies,
    });
    // B starts only now: a second instance follows A's writes and renders
    // them too, which on one machine takes the cores the one-instance
    // figures measure; instances of a deployment have cores of their own.
    let b = database_url
        .as_deref()
        .map(|url| start(&bin, &site, &work.path().join("data-b"), Some(url)));
    if let Some(b) = &b {
        let (elapsed, latencies) =
            concurrent(vec![a.base.clone(), b.base.clone()], n, articles.clone()).await;
        rows.push(Row {
            name: format!("(b) concurrent POST, {CONNECTIONS} connections over A and B"),
            n,
            elapsed: Some(elapsed),
            latencies,
        });
    }

    // (c) POST to visible, on the same instance and (with PostgreSQL) on another.
    let mut targets = vec![("same instance", &a)];
    if let Some(b) = &b {
        targets.push(("write on A, poll B", b));
    }
    // Identity bodies, as before the crate's reqwest learned gzip and br.
    let poller = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    for (label, reader) in targets {
        let n = scaled(VISIBLE, scale);
        let url = format!("{}/feeds/world.rss", reader.base);
        let (mut from_send, mut from_response, mut post_times) = (vec![], vec![], vec![]);
        // Let the renderer finish what (a) and (b) queued: the feed holds still.
        let mut tag = etag(&poller, &url).await;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = etag(&poller, &url).await;
            if now == tag {
                break;
            }
            tag = now;
        }
        for _ in 0..n {
            let body = articles.next();
            let t0 = Instant::now();
            let took = post(&one, &a.base, &body).await;
            let answered = t0 + took;
            tag = changed(&poller, &url, &tag, Duration::from_secs(30)).await;
            let seen = Instant::now();
            from_send.push(seen - t0);
            from_response.push(seen - answered);
            post_times.push(took);
        }
        rows.push(Row {
            name: format!("(c) {label}: POST response"),
            n,
            elapsed: None,
            latencies: post_times,
        });
        rows.push(Row {
            name: format!("(c) {label}: visible, from sending the POST"),
            n,
            elapsed: None,
            latencies: from_send,
        });
        rows.push(Row {
            name: format!("(c) {label}: visible, from the response"),
            n,
            elapsed: None,
            latencies: from_response,
        });
    }
    print_table(&format!("results ({store})"), &rows);
    drop(b);
    drop(a);
}

fn main() {
    // `cargo bench` passes `--bench`; this binary takes no arguments of its own.
    let bin = binary();
    let scale = std::env::var("NEWSWIRE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    let database_url = std::env::var("NEWSWIRE_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(bin, database_url, scale));
}
