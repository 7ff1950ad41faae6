//! Shared by the integration tests: start the real `newswire` binary on 127.0.0.1:0,
//! talk HTTP to it, stop or kill it. Each test gets its own copy of the demo site and
//! its own data directory, so tests run in parallel without seeing each other.
#![allow(dead_code)]

pub mod browser;
pub mod pg;
pub mod upstream;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A copy of `feeds/` in a temporary folder, editable by the test.
pub struct SiteDir {
    pub dir: tempfile::TempDir,
}

impl SiteDir {
    pub fn demo() -> SiteDir {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds"),
            dir.path(),
        );
        SiteDir { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("newswire.toml")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Appends TOML to the config (e.g. an `[[api.token]]`).
    pub fn append_config(&self, toml: &str) {
        let mut text = std::fs::read_to_string(self.config()).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(self.config(), text).unwrap();
    }
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

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_newswire")
}

/// A running `newswire serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// `newswire serve --config SITE --data SITE/data --listen 127.0.0.1:0` with the
    /// API token in the environment, plus `args`. Waits for the listening line.
    pub fn start(site: &SiteDir, args: &[&str]) -> Server {
        Self::start_with(site.config(), &site.data(), args, &[])
    }

    pub fn start_with(config: PathBuf, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_on("127.0.0.1:0", config, data, args, env)
    }

    /// [`Server::start_with`] on a given address (a site whose `feeds_url`
    /// must be where it listens).
    pub fn start_on(
        listen: &str,
        config: PathBuf,
        data: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        std::fs::create_dir_all(data).unwrap();
        let log = data.join(format!(
            "server-{}.log",
            std::process::id() as u128 * 1000 + rand_suffix()
        ));
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg(listen)
            .args(args)
            .env("NEWSWIRE_API_TOKEN", TOKEN)
            .env_remove("NEWSWIRE_DATABASE_URL")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
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
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "newswire did not start; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Server { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then waits; returns whether it exited 0 within the time.
    pub fn stop(mut self) -> bool {
        unsafe_kill(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u128
}

/// An HTTP client that never decompresses, never follows proxies.
/// Runs the `newswire` binary to its end, on SQLite: exit code, stdout, stderr.
pub fn run_cli(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env_remove("NEWSWIRE_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `../shared/tools/check-feed` on the RSS, Atom and JSON documents of each
/// feed path (`/feeds/world`), as the server serves them, where the tool is
/// present: no FAIL.
pub async fn check_feed(server: &Server, feeds: &[&str]) {
    let paths: Vec<String> = feeds
        .iter()
        .flat_map(|feed| ["rss", "atom", "json"].map(|ext| format!("{feed}.{ext}")))
        .collect();
    check_documents(server, &paths).await;
}

/// `../shared/tools/check-feed` on documents (`/feeds/world/archive/1.atom`)
/// as the server serves them, where the tool is present: no FAIL.
pub async fn check_documents(server: &Server, paths: &[String]) {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/check-feed");
    if !tool.exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for doc in paths {
        let (status, _, body) = get(&server.url(doc), &[]).await;
        assert_eq!(status, 200, "{doc}");
        let path = dir
            .path()
            .join(doc.trim_start_matches('/').replace('/', "_"));
        std::fs::write(&path, body).unwrap();
        files.push(path);
    }
    let out = Command::new(&tool).args(&files).output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!report.contains(": FAIL:"), "check-feed:\n{report}");
    assert!(report.contains(": ok:"), "check-feed ran:\n{report}");
}

/// `POST /api/v1/sources/{name}/fetch`: status and the report.
/// `POST /api/v1/sources/{name}/fetch`, as a client would: a `409` says the
/// poller holds the source right now (its scheduled poll, often the one at
/// start, not yet saved), so it asks again, for up to 10 s.
pub async fn fetch_now(server: &Server, name: &str) -> (u16, serde_json::Value) {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = client()
            .post(server.url(&format!("/api/v1/sources/{name}/fetch")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status != 409 || Instant::now() > give_up {
            return (status, resp.json().await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn client() -> reqwest::Client {
    // The crate's own reqwest decodes gzip and br and speaks TLS (the fetcher needs
    // both); the tests must see the bytes and headers exactly as sent, and only
    // talk plain HTTP to 127.0.0.1: no root store, whose loading from the system
    // took 28 ms per client, and tests build one per request.
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .no_brotli()
        .tls_certs_only([])
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// GET with extra headers: (status, headers, body bytes exactly as sent).
pub async fn get(
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap().to_vec();
    (status, headers, body)
}

pub fn header(h: &reqwest::header::HeaderMap, name: &str) -> String {
    h.get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Polls `f` until it returns Some or the time runs out.
pub async fn eventually<T, F, Fut>(within: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every write made so far is rendered (`/healthz` has no
/// change left unrendered): passes under a stream of writes are paced, so
/// a fixed sleep says nothing.
pub async fn rendered(server: &Server) {
    eventually(Duration::from_secs(30), || async {
        let (_, _, body) = get(&server.url("/healthz"), &[]).await;
        let h: serde_json::Value = serde_json::from_slice(&body).ok()?;
        (h["unrendered_seconds"] == 0.0).then_some(())
    })
    .await
    .expect("every write rendered within 30 s");
}

/// Every feed URL path of the demo site.
pub fn demo_feed_paths() -> Vec<String> {
    let mut out = Vec::new();
    for slug in [
        "all", "breaking", "world", "tech", "economy", "morocco", "sports",
    ] {
        for ext in ["rss", "atom", "json"] {
            out.push(format!("/feeds/{slug}.{ext}"));
        }
    }
    out
}
