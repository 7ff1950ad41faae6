//! The config file read again when it changes (or on SIGHUP): an error in it
//! is refused with its file and line, shown in `/healthz`, and the running
//! config stays in force; a valid change waits for the next start.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

async fn health(server: &Server) -> Value {
    let (_, _, body) = get(&server.url("/healthz"), &[]).await;
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_broken_config_is_refused_with_its_line_and_the_site_serves_on() {
    let site = SiteDir::demo();
    let original = std::fs::read_to_string(site.config()).unwrap();
    let server = Server::start(&site, &[]);
    assert_eq!(health(&server).await["config"]["status"], "loaded");

    // A key without a value, on a known line.
    let broken = format!("{original}\n[[category]]\nslug = \"culture\"\ntitle =\n");
    let line = broken.lines().count();
    std::fs::write(site.config(), &broken).unwrap();
    let h = eventually(Duration::from_secs(5), || async {
        let h = health(&server).await;
        (h["config"]["status"] == "refused").then_some(h)
    })
    .await
    .expect("the broken config is refused");
    let error = h["config"]["error"].as_str().unwrap();
    assert!(error.contains(&format!("newswire.toml:{line}:")), "{error}");
    assert_eq!(h["status"], "degraded");
    assert!(h["reasons"].to_string().contains("config refused"), "{h}");
    // The running config serves on: its feeds, not the broken one's.
    let (status, _, _) = get(&server.url("/feeds/world.rss"), &[]).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&server.url("/feeds/culture.rss"), &[]).await;
    assert_eq!(status, 404);

    // Put back, it is the running config again; SIGHUP reads it again too.
    std::fs::write(site.config(), &original).unwrap();
    eventually(Duration::from_secs(5), || async {
        (health(&server).await["config"]["status"] == "loaded").then_some(())
    })
    .await
    .expect("the running config again");
    // A valid change waits for the next start, and says so.
    std::fs::write(site.config(), format!("{original}\n# a comment\n")).unwrap();
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    eventually(Duration::from_secs(5), || async {
        (health(&server).await["config"]["status"] == "changed").then_some(())
    })
    .await
    .expect("a valid change is seen");
    assert_eq!(health(&server).await["status"], "ok");
    assert!(server.stop());
}
