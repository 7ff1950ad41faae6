//! Timelines: local feeds merged into one, served in every format at
//! `/timelines/{name}.*`, listed in the OPML and the index, re-rendered only when
//! one of their feeds changes. (External sources join them with aggregation.)

mod common;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const WIRE: &str = r#"
[[timelines]]
name = "wire"
title = "The wire"
categories = ["world", "breaking"]
limit = 20
"#;

fn ids_and_dates(feed: &Value) -> Vec<(String, chrono::DateTime<chrono::FixedOffset>)> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                chrono::DateTime::parse_from_rfc3339(i["date_published"].as_str().unwrap())
                    .unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_timeline_merges_its_feeds_newest_first_each_item_once() {
    let site = SiteDir::demo();
    site.append_config(WIRE);
    let server = Server::start(&site, &[]);
    let json_of = |path: &str| {
        let url = server.url(path);
        async move {
            let (status, _, body) = get(&url, &[]).await;
            assert_eq!(status, 200, "{url}");
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let wire = json_of("/timelines/wire.json").await;
    assert_eq!(wire["title"], "Newswire Demo: The wire");
    assert_eq!(
        wire["feed_url"],
        "http://127.0.0.1:8080/timelines/wire.json"
    );
    let items = ids_and_dates(&wire);
    assert_eq!(items.len(), 20, "the limit");
    // Exactly the newest 20 of world and breaking together, newest first, once each.
    let mut union = ids_and_dates(&json_of("/feeds/world.json").await);
    union.extend(ids_and_dates(&json_of("/feeds/breaking.json").await));
    union.sort_by(|a, b| (b.1, &b.0).cmp(&(a.1, &a.0)));
    union.dedup_by(|a, b| a.0 == b.0);
    union.truncate(20);
    assert_eq!(items, union);
    for ext in ["rss", "atom", "html"] {
        let (status, h, _) = get(&server.url(&format!("/timelines/wire.{ext}")), &[]).await;
        assert_eq!(status, 200, "{ext}");
        assert!(!header(&h, "etag").is_empty());
    }
    let (_, _, opml) = get(&server.url("/feeds.opml"), &[]).await;
    assert!(
        String::from_utf8(opml)
            .unwrap()
            .contains("/timelines/wire.rss")
    );
    let (_, _, index) = get(&server.url("/"), &[]).await;
    assert!(String::from_utf8(index).unwrap().contains(
        r#"<link rel="alternate" type="application/atom+xml" title="Newswire Demo: The wire (Atom)" href="http://127.0.0.1:8080/timelines/wire.atom">"#
    ));

    // A write to a member feed shows in the timeline; one elsewhere leaves it alone.
    let (_, h, _) = get(&server.url("/timelines/wire.atom"), &[]).await;
    let before = header(&h, "etag");
    let post = |body: Value| {
        let url = server.url("/api/v1/articles");
        async move {
            let r = client()
                .post(url)
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
        }
    };
    post(json!({"id": "elsewhere", "title": "Tech news", "category": "tech", "published": "2026-02-02 10:00"})).await;
    post(json!({"id": "on-the-wire", "title": "World news", "category": "world", "published": "2026-02-02 10:01"})).await;
    let shown = eventually(Duration::from_secs(5), || async {
        let (_, _, b) = get(&server.url("/timelines/wire.atom"), &[]).await;
        String::from_utf8(b)
            .unwrap()
            .contains("on-the-wire")
            .then_some(())
    })
    .await;
    assert!(shown.is_some(), "the timeline shows its member's new item");
    let (_, _, b) = get(&server.url("/timelines/wire.atom"), &[]).await;
    assert!(!String::from_utf8(b).unwrap().contains("elsewhere"));
    let (status, _, _) = get(
        &server.url("/timelines/wire.atom"),
        &[("If-None-Match", &before)],
    )
    .await;
    assert_eq!(status, 200, "changed");
    assert!(server.stop());
}

#[test]
fn a_timeline_of_an_unknown_feed_is_refused_naming_the_key() {
    let site = SiteDir::demo();
    site.append_config(
        "\n[[timelines]]\nname = \"wire\"\ntitle = \"W\"\ncategories = [\"wrold\"]\n",
    );
    let out = std::process::Command::new(bin())
        .args(["check", "--config"])
        .arg(site.config())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("timelines[0].categories") && text.contains("wrold"),
        "{text}"
    );
}
