//! The config file read again when it changes (or on SIGHUP): an error in it
//! is refused with its file and line, shown in `/healthz`, and the last good
//! config stays in force; a valid change is in force at once, tokens and
//! categories included.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

async fn health(server: &Server) -> Value {
    let (_, _, body) = get(&server.url("/healthz"), &[]).await;
    serde_json::from_slice(&body).unwrap()
}

async fn get_with_token(server: &Server, path: &str, token: &str) -> (u16, (), ()) {
    let resp = client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), (), ())
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
    // A valid change is in force at once: a new category, a new token.
    let editor = "editor-token-0123456789abcdef";
    let (status, _, _) = get_with_token(&server, "/api/v1/sources", editor).await;
    assert_eq!(status, 401);
    std::fs::write(
        site.config(),
        format!(
            "{original}\n[[category]]\nslug = \"culture\"\ntitle = \"Culture\"\n\n[[api.token]]\nname = \"editor\"\ntoken = \"{editor}\"\nscopes = [\"sources\"]\n"
        ),
    )
    .unwrap();
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    eventually(Duration::from_secs(5), || async {
        let (status, _, _) = get(&server.url("/feeds/culture.rss"), &[]).await;
        (status == 200).then_some(())
    })
    .await
    .expect("the new category is served");
    let (status, _, _) = get_with_token(&server, "/api/v1/sources", editor).await;
    assert_eq!(status, 200, "the new token is taken");
    let h = health(&server).await;
    assert_eq!(h["config"]["status"], "loaded");
    assert_eq!(h["status"], "ok");
    // The index and the OPML list the new category too.
    let (_, _, opml) = get(&server.url("/feeds.opml"), &[]).await;
    assert!(String::from_utf8_lossy(&opml).contains("culture.rss"));
    assert!(server.stop());
}
