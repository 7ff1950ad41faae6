//! Headless Chromium for the browser tests, driven through chromedriver
//! (WebDriver, by fantoccini): Debian's packages, which `.ci/run` installs
//! and then sets NEWSWIRE_TEST_CHROMIUM=1, so that their absence fails
//! there. Elsewhere a test without them returns early.

use fantoccini::{Client, ClientBuilder};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A browser session; its chromedriver is stopped when it is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A new headless Chromium, or `None` where none is installed (and
    /// NEWSWIRE_TEST_CHROMIUM is not set).
    pub async fn start() -> Option<Browser> {
        let installed = |c: &str| Command::new(c).arg("--version").output().is_ok();
        if !installed("chromium") || !installed("chromedriver") {
            assert!(
                std::env::var_os("NEWSWIRE_TEST_CHROMIUM").is_none(),
                "NEWSWIRE_TEST_CHROMIUM is set but chromium or chromedriver is not installed"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // As this machine's probe starts it: no background
                // networking (the network is closed), a fresh profile.
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1100,1400",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver session: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Runs `script` (a function body, `return …`) in the page until it
    /// returns something other than null or false, for at most `within`.
    pub async fn until(&self, within: Duration, script: &str) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let v = self
                .client
                .execute(script, vec![])
                .await
                .expect("script runs");
            if !v.is_null() && v != serde_json::Value::Bool(false) {
                return v;
            }
            assert!(Instant::now() < deadline, "in time: {script}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A screenshot for the README, where NEWSWIRE_SCREENSHOTS names a folder.
    pub async fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("NEWSWIRE_SCREENSHOTS") {
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
        }
    }
}
