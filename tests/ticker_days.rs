//! Ticker items without a page of their own link to the ticker of their day
//! (`/breaking/2026-02-01.html#…`), a page that stays when the ticker moves on:
//! every such link in the served feeds resolves to a page holding the item's
//! anchor, also after newer items have pushed it out of the breaking feed.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The demo config's feeds_url, which links are made of.
const FEEDS_URL: &str = "http://127.0.0.1:8080";

async fn breaking(server: &Server) -> Vec<Value> {
    let feed: Value = client()
        .get(server.url("/feeds/breaking.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["items"].as_array().unwrap().clone()
}

/// The page an item links to holds its anchor, and answers like a document.
async fn resolves(server: &Server, link: &str) {
    let (page, anchor) = link.split_once('#').expect("an anchor");
    let path = page.strip_prefix(FEEDS_URL).expect("one of ours");
    assert!(
        path.starts_with("/breaking/") && path.ends_with(".html"),
        "{link}"
    );
    let resp = client().get(server.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{link}");
    assert!(header(resp.headers(), "content-type").starts_with("text/html"));
    let etag = header(resp.headers(), "etag");
    let body = resp.text().await.unwrap();
    assert!(
        body.contains(&format!("id=\"{anchor}\"")),
        "{link} in:\n{body}"
    );
    let again = client()
        .get(server.url(path))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "{link}");
}

async fn flash(server: &Server, day: chrono::NaiveDate, time: &str, headline: &str) {
    let resp = client()
        .post(server.url("/api/v1/breaking"))
        .bearer_auth(TOKEN)
        .json(&json!({"date": day.format("%Y-%m-%d").to_string(), "time": time, "headline": headline}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn ticker_items_link_to_a_page_that_stays() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for item in breaking(&server).await {
        let link = item["url"].as_str().unwrap();
        if link.starts_with(FEEDS_URL) {
            resolves(&server, link).await;
        }
    }

    // An item of two days ago, then more than a feed's worth of newer ones.
    let day = (chrono::Utc::now() - chrono::Duration::days(2)).date_naive();
    flash(&server, day, "06:00", "The first flash of that day").await;
    let first = eventually(Duration::from_secs(5), || async {
        breaking(&server)
            .await
            .into_iter()
            .find(|i| i["title"] == "The first flash of that day")
    })
    .await
    .expect("in the breaking feed");
    let link = first["url"].as_str().unwrap().to_owned();
    assert!(
        link.contains(&format!("/breaking/{}.html#", day.format("%Y-%m-%d"))),
        "{link}"
    );
    for n in 0..55 {
        flash(
            &server,
            day,
            &format!("07:{n:02}"),
            &format!("Later flash {n}"),
        )
        .await;
    }
    eventually(Duration::from_secs(5), || async {
        let items = breaking(&server).await;
        items
            .iter()
            .all(|i| i["title"] != "The first flash of that day")
            .then_some(())
    })
    .await
    .expect("pushed out of the breaking feed");
    resolves(&server, &link).await;

    for (path, status) in [
        ("/breaking/1999-01-01.html", 404),
        ("/breaking/not-a-day.html", 404),
        // The ends of the calendar, which a day either side would overflow.
        ("/breaking/262142-12-31.html", 404),
        ("/breaking/-262143-01-01.html", 404),
        ("/breaking/.html", 404),
    ] {
        let resp = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
    }
    let post = client()
        .post(server.url(&link.replace(FEEDS_URL, "").replace('#', "?")))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}
