//! The catalog at runtime, through the real server: sources, scrapes and
//! timelines added, changed and deleted through `/api/v1/…` (a source
//! found from its site's address, fetched once before the answer), an
//! OPML import, refusals that name the field and write nothing, a deleted
//! source's items withdrawn with tombstones, and the config file reloaded
//! live (a broken one refused while the last good one serves). On
//! PostgreSQL, two instances share the catalog.

mod common;

use common::upstream::Upstream;
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn call(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = client()
        .request(method.parse().unwrap(), server.url(path))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

/// The demo site, allowed to fetch from the local upstream.
fn site() -> SiteDir {
    let site = SiteDir::demo();
    site.append_config("[fetch]\nallow_private_networks = true\nmin_interval = \"1s\"\n");
    site
}

fn rss(title: &str, items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(id, t)| {
            format!("<item><title>{t}</title><link>https://up.example/{id}</link><guid>{id}</guid><pubDate>Thu, 03 Dec 2026 08:00:00 GMT</pubDate></item>")
        })
        .collect();
    format!(
        "<rss version=\"2.0\"><channel><title>{title}</title><link>https://up.example/</link><description>d</description>{items}</channel></rss>"
    )
}

fn page(links: &[(&str, &str)]) -> String {
    let links: String = links
        .iter()
        .map(|(href, title)| {
            format!("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{title}\" href=\"{href}\">")
        })
        .collect();
    format!("<!doctype html><html><head><title>Site</title>{links}</head><body>x</body></html>")
}

async fn body_of(server: &Server, path: &str) -> (u16, String) {
    let (status, _, body) = get(&server.url(path), &[]).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_source_is_found_from_its_site_saved_fetched_merged_and_deleted_with_tombstones() {
    let up = Upstream::start();
    up.set(
        "/wire.xml",
        "application/rss+xml",
        rss(
            "Wire",
            &[("w1", "Harbour reopens"), ("w2", "Rail line opens")],
        ),
    );
    up.set("/one/", "text/html", page(&[("../wire.xml", "The Wire")]));
    up.set(
        "/two/",
        "text/html",
        page(&[("/wire.xml", "A"), ("/other.xml", "B")]),
    );
    up.set("/none/", "text/html", page(&[]));
    let site = site();
    let server = Server::start(&site, &[]);

    // A page naming one feed: created, with Location and the first fetch.
    let (status, out, headers) = call(
        &server,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/one/"), "categories": ["world"]})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(header(&headers, "location"), "/api/v1/sources/the-wire");
    assert_eq!(out["entry"]["url"], up.url("/wire.xml"));
    assert_eq!(out["declared"], false);
    assert_eq!(out["first_fetch"]["ok"], true, "{out}");
    assert_eq!(out["status"], "ok", "{out}");
    // Its items are in the category it feeds, at the next render.
    let fed = eventually(Duration::from_secs(2), || async {
        let (_, world) = body_of(&server, "/feeds/world.atom").await;
        world.contains("Harbour reopens").then_some(())
    })
    .await;
    assert!(fed.is_some(), "the source's items are in /feeds/world.atom");

    // The same feed again: refused, nothing written.
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/one/")})),
    )
    .await;
    assert_eq!(status, 409, "{out}");
    assert_eq!(out["field"], "url");
    // Several feeds: listed with title and format.
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/two/")})),
    )
    .await;
    assert_eq!(status, 300, "{out}");
    assert_eq!(
        out["feeds"][1],
        json!({"url": up.url("/other.xml"), "title": "B", "format": "rss"})
    );
    // None: a clear 422.
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/none/")})),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(out["field"], "url");
    assert!(
        out["detail"].as_str().unwrap().contains("names none"),
        "{out}"
    );

    // A timeline of it, served at once; one of an unknown source refused.
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/timelines",
        Some(&json!({"name": "wire", "title": "<b>The</b> wire", "sources": ["the-wire"], "categories": ["tech"], "limit": 20})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    let doc = eventually(Duration::from_secs(2), || async {
        let (status, doc) = body_of(&server, "/timelines/wire.rss").await;
        (status == 200).then_some(doc)
    })
    .await
    .expect("the timeline is served");
    assert!(
        doc.contains("Rail line opens") && doc.contains("&lt;b&gt;The&lt;/b&gt; wire"),
        "{doc}"
    );
    check_feed(&server, &["/timelines/wire"]).await;
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/timelines",
        Some(&json!({"name": "bad", "title": "Bad", "sources": ["nowhere"]})),
    )
    .await;
    assert_eq!(
        (status, out["field"].as_str()),
        (422, Some("sources")),
        "{out}"
    );
    let (status, _, _) = call(&server, "GET", "/api/v1/timelines/bad", None).await;
    assert_eq!(status, 404, "nothing half-created");
    // A member named twice (a client's list of one source thousands of
    // times would be merged that many times): refused by name.
    for (field, members) in [
        ("sources", json!({"sources": vec!["the-wire"; 2000]})),
        (
            "categories",
            json!({"categories": ["tech", "world", "tech"]}),
        ),
    ] {
        let mut body = json!({"name": "twice", "title": "Twice"});
        body.as_object_mut()
            .unwrap()
            .extend(members.as_object().unwrap().clone());
        let (status, out, _) = call(&server, "POST", "/api/v1/timelines", Some(&body)).await;
        assert_eq!((status, out["field"].as_str()), (422, Some(field)), "{out}");
        assert!(
            out["detail"].as_str().unwrap().contains("named twice"),
            "{out}"
        );
    }

    // A patch: the title shown changes, the rest stays.
    let (status, out, _) = call(
        &server,
        "PATCH",
        "/api/v1/sources/the-wire",
        Some(&json!({"title": "Wire desk"})),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["entry"]["title"], "Wire desk");
    assert_eq!(out["entry"]["categories"], json!(["world"]));

    // Deleting a source a timeline merges is refused; the timeline first.
    let (status, out, _) = call(&server, "DELETE", "/api/v1/sources/the-wire", None).await;
    assert_eq!(status, 409, "{out}");
    let (status, _, _) = call(&server, "DELETE", "/api/v1/timelines/wire", None).await;
    assert_eq!(status, 204);
    let (status, _) = body_of(&server, "/timelines/wire.rss").await;
    assert_eq!(status, 404, "a deleted timeline's documents go at once");
    let (_, metrics) = body_of(&server, "/metrics").await;
    assert!(
        metrics.contains("newswire_source_up{source=\"the-wire\"} 1"),
        "{metrics}"
    );
    let (status, _, _) = call(&server, "DELETE", "/api/v1/sources/the-wire", None).await;
    assert_eq!(status, 204);
    let (status, _, _) = call(&server, "GET", "/api/v1/sources/the-wire", None).await;
    assert_eq!(status, 404);
    // Its series go with it: their number stays bounded by the catalog.
    let (_, metrics) = body_of(&server, "/metrics").await;
    assert!(!metrics.contains("source=\"the-wire\""), "{metrics}");
    // Its items left the category, each with a tombstone.
    let world = eventually(Duration::from_secs(2), || async {
        let (_, world) = body_of(&server, "/feeds/world.atom").await;
        (!world.contains("Harbour reopens")).then_some(world)
    })
    .await
    .expect("the deleted source's items leave the category");
    assert_eq!(world.matches("deleted-entry ").count(), 2, "{world}");
    // Declared entries are the file's.
    let (status, out, _) = call(&server, "DELETE", "/api/v1/sources/nothing-here", None).await;
    assert_eq!(status, 404, "{out}");
    assert!(server.stop());
}

#[tokio::test]
async fn bad_entries_are_refused_with_their_field_and_nothing_is_written() {
    let up = Upstream::start();
    up.set(
        "/wire.xml",
        "application/rss+xml",
        rss("Wire", &[("w1", "One")]),
    );
    let site = SiteDir::demo();
    site.append_config(&format!(
        "[[sources]]\nname = \"declared\"\nurl = \"{}\"\n",
        up.url("/wire.xml")
    ));
    let server = Server::start(&site, &[]);
    let scrape = |item: &str| json!({"name": "page", "url": "https://example.com/", "category": "world", "list": {"item": item}});
    for (path, body, field) in [
        // A private address, with private networks not allowed.
        (
            "/api/v1/sources",
            json!({"url": "http://127.0.0.1:9/feed"}),
            "url",
        ),
        ("/api/v1/sources", json!({"url": "not a url"}), "url"),
        ("/api/v1/sources", json!({"name": 7}), "url"),
        ("/api/v1/scrapes", scrape("div[[["), "list.item"),
        ("/api/v1/scrapes", scrape(&"div ".repeat(5000)), "list.item"),
        (
            "/api/v1/scrapes",
            json!({"name": "Page!", "url": "https://example.com/", "category": "world", "list": {"item": "li"}}),
            "name",
        ),
        (
            "/api/v1/scrapes",
            json!({"name": "page", "url": "https://example.com/", "category": "nowhere", "list": {"item": "li"}}),
            "category",
        ),
        (
            "/api/v1/scrapes",
            json!({"name": "page", "url": "https://example.com/", "category": "world", "list": {"item": "li"}, "extra": 1}),
            "extra",
        ),
        (
            "/api/v1/timelines",
            json!({"name": "t", "title": "T", "categories": ["nowhere"]}),
            "categories",
        ),
        (
            "/api/v1/timelines",
            json!({"name": "t", "title": "T"}),
            "categories",
        ),
    ] {
        let (status, out, _) = call(&server, "POST", path, Some(&body)).await;
        assert!(
            status == 422 || status == 400,
            "{path} {body}: {status} {out}"
        );
        assert_eq!(out["field"], field, "{path} {body}: {out}");
        assert!(!out["detail"].as_str().unwrap_or_default().is_empty());
    }
    // A taken name: 409, naming it.
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/scrapes",
        Some(&json!({"name": "declared", "url": "https://example.com/", "category": "world", "list": {"item": "li"}})),
    )
    .await;
    assert_eq!(
        (status, out["field"].as_str()),
        (409, Some("name")),
        "{out}"
    );
    // A declared source is the file's to change.
    for method in ["PUT", "PATCH", "DELETE"] {
        let (status, out, _) = call(
            &server,
            method,
            "/api/v1/sources/declared",
            Some(&json!({"url": "https://example.com/x"})),
        )
        .await;
        assert_eq!(status, 409, "{method}: {out}");
    }
    let (status, out, _) = call(&server, "GET", "/api/v1/sources/declared", None).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["declared"], true);
    // Nothing of the refused entries was written.
    let (_, list, _) = call(&server, "GET", "/api/v1/sources", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["declared"]);
    let (_, timelines, _) = call(&server, "GET", "/api/v1/timelines", None).await;
    assert_eq!(timelines, json!([]));
    // Without the token's scope, nothing.
    let resp = client()
        .post(server.url("/api/v1/sources"))
        .json(&json!({"url": up.url("/wire.xml")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(server.stop());
}

#[tokio::test]
async fn an_opml_export_is_taken_in_and_each_outline_reported() {
    let up = Upstream::start();
    up.set(
        "/a.xml",
        "application/rss+xml",
        rss("A", &[("a1", "A one")]),
    );
    let site = site();
    site.append_config(&format!(
        "[[sources]]\nname = \"known\"\nurl = \"{}\"\n",
        up.url("/a.xml")
    ));
    let server = Server::start(&site, &[]);
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>
<outline text="Folder"><outline text="Known" type="rss" xmlUrl="{}"/>
<outline text="New &amp; good" type="rss" xmlUrl="{}"/></outline>
<outline text="Bad" type="rss" xmlUrl="ftp://example.com/feed"/>
</body></opml>"#,
        up.url("/a.xml"),
        up.url("/b.xml")
    );
    let resp = client()
        .post(server.url("/api/v1/sources"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/x-opml")
        .body(opml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(
        out["existing"],
        json!([{"name": "known", "url": up.url("/a.xml")}]),
        "{out}"
    );
    assert_eq!(
        out["created"],
        json!([{"name": "new-good", "url": up.url("/b.xml")}]),
        "{out}"
    );
    assert_eq!(out["refused"][0]["url"], "ftp://example.com/feed", "{out}");
    assert_eq!(out["refused"][0]["field"], "url", "{out}");
    let (status, out, _) = call(&server, "GET", "/api/v1/sources/new-good", None).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["entry"]["title"], "New & good");
    // A bomb (nested past any reader's need, or not XML) is refused whole.
    let bomb = format!(
        "<opml version=\"2.0\"><body>{}</body></opml>",
        "<outline text=\"x\">".repeat(100_000)
    );
    let resp = client()
        .post(server.url("/api/v1/sources"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/x-opml")
        .body(bomb)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert!(status == 422 || status == 413, "{status}");
    // The export lists the catalog.
    let resp = client()
        .get(server.url("/api/v1/sources.opml"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(&up.url("/b.xml")) && text.contains(&up.url("/a.xml")),
        "{text}"
    );
    assert!(server.stop());
}

/// Adds a category `culture` to the site's file and waits until the
/// running server serves it: the file as it was before.
async fn add_culture(site: &SiteDir, server: &Server) -> String {
    let good = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(
        site.config(),
        format!("{good}\n[[category]]\nslug = \"culture\"\ntitle = \"Culture\"\n"),
    )
    .unwrap();
    let served = eventually(Duration::from_secs(5), || async {
        let (status, _) = body_of(server, "/feeds/culture.rss").await;
        (status == 200).then_some(())
    })
    .await;
    assert!(
        served.is_some(),
        "the new category is served; log:\n{}",
        server.log_text()
    );
    good
}

#[tokio::test]
async fn the_config_file_is_reloaded_live_and_a_broken_one_is_refused() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    // A category added to the file is served without a restart.
    let good = add_culture(&site, &server).await;
    let (_, health) = body_of(&server, "/healthz").await;
    assert!(health.contains("\"loaded\""), "{health}");
    // A broken file: refused with file and line, the last good one serves.
    std::fs::write(
        site.config(),
        format!("{good}\n[[category]]\nslug = \"culture\"\ntitle = 5\n"),
    )
    .unwrap();
    let refused = eventually(Duration::from_secs(5), || async {
        let (_, health) = body_of(&server, "/healthz").await;
        health.contains("refused").then_some(health)
    })
    .await
    .expect("the refusal shows in /healthz");
    assert!(refused.contains("newswire.toml:"), "{refused}");
    let (status, _) = body_of(&server, "/feeds/culture.rss").await;
    assert_eq!(status, 200, "the last good config stays in force");
    // Back to the first file: the category's documents go.
    std::fs::write(site.config(), &good).unwrap();
    let gone = eventually(Duration::from_secs(5), || async {
        let (status, _) = body_of(&server, "/feeds/culture.rss").await;
        (status == 404).then_some(())
    })
    .await;
    assert!(gone.is_some());
    assert!(server.stop());
}

/// A managed entry that no longer fits the file (a category it merges gone
/// from the config) is left out of the config in force: `/healthz` says
/// which and why (degraded: an editor's timeline is not served), and the
/// API still deletes it, or takes a `PUT` of one that fits.
#[tokio::test]
async fn an_entry_the_file_no_longer_fits_shows_in_healthz_and_is_mended_or_deleted() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let good = add_culture(&site, &server).await;
    for name in ["arts", "stage"] {
        let (status, out, _) = call(
            &server,
            "POST",
            "/api/v1/timelines",
            Some(&json!({"name": name, "title": name, "categories": ["culture"]})),
        )
        .await;
        assert_eq!(status, 201, "{out}");
    }
    // The category leaves the file: both timelines no longer fit.
    std::fs::write(site.config(), &good).unwrap();
    let health = eventually(Duration::from_secs(5), || async {
        let (_, health) = body_of(&server, "/healthz").await;
        let health: Value = serde_json::from_str(&health).ok()?;
        (health["catalog_left_out"].as_array()?.len() == 2).then_some(health)
    })
    .await
    .expect("the entries left out show in /healthz");
    assert_eq!(health["status"], "degraded", "{health}");
    for (entry, name) in health["catalog_left_out"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["arts", "stage"])
    {
        assert_eq!(
            (&entry["kind"], &entry["name"]),
            (&json!("timeline"), &json!(name))
        );
        assert!(
            entry["why"].as_str().unwrap().contains("culture"),
            "{entry}"
        );
    }
    // No longer served (a render pass under way when the file changed may
    // finish after it; the next takes the documents away).
    let unserved = eventually(Duration::from_secs(5), || async {
        (body_of(&server, "/timelines/arts.rss").await.0 == 404).then_some(())
    })
    .await;
    assert!(unserved.is_some(), "log:\n{}", server.log_text());
    assert_eq!(
        call(&server, "GET", "/api/v1/timelines/arts", None).await.0,
        404
    );
    // One deleted, one mended.
    let (status, out, _) = call(&server, "DELETE", "/api/v1/timelines/arts", None).await;
    assert_eq!(status, 204, "{out}");
    let (status, out, _) = call(
        &server,
        "PUT",
        "/api/v1/timelines/stage",
        Some(&json!({"name": "stage", "title": "Stage", "categories": ["world"]})),
    )
    .await;
    assert!(matches!(status, 200 | 201), "{status} {out}");
    let mended = eventually(Duration::from_secs(5), || async {
        let (_, health) = body_of(&server, "/healthz").await;
        let health: Value = serde_json::from_str(&health).ok()?;
        let (status, _) = body_of(&server, "/timelines/stage.rss").await;
        (health.get("catalog_left_out").is_none() && health["status"] == "ok" && status == 200)
            .then_some(())
    })
    .await;
    assert!(mended.is_some(), "log:\n{}", server.log_text());
    assert_eq!(
        call(&server, "DELETE", "/api/v1/timelines/arts", None)
            .await
            .0,
        404
    );
    assert!(server.stop());
}

#[tokio::test]
async fn two_instances_on_postgresql_share_the_catalog() {
    let Some((url, _db)) = pg::fresh_database() else {
        eprintln!("skipping: NEWSWIRE_TEST_DATABASE_URL is not set");
        return;
    };
    let up = Upstream::start();
    up.set(
        "/wire.xml",
        "application/rss+xml",
        rss("Wire", &[("w1", "Harbour reopens")]),
    );
    let site = SiteDir::demo();
    site.append_config(
        "[fetch]\nallow_private_networks = true\nmin_interval = \"1s\"\ntimeout = \"2s\"\n",
    );
    let servers: Vec<Server> = (0..2)
        .map(|i| {
            Server::start_with(
                site.config(),
                &site.path(&format!("data-{i}")),
                &["--database-url", &url],
                &[("RUST_LOG", "info,newswire=debug,sqlx=warn")],
            )
        })
        .collect();
    let (a, b) = (&servers[0], &servers[1]);
    let (status, out, _) = call(
        a,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/wire.xml"), "name": "wire", "interval": "3s"})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    let first_fetch = out["first_fetch"].clone();
    let added = Instant::now();
    let (status, out, _) = call(
        a,
        "POST",
        "/api/v1/timelines",
        Some(&json!({"name": "wire", "title": "Wire", "sources": ["wire"]})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    // On the other instance within 2 s: the source, and its timeline.
    let created = Instant::now();
    let last = std::sync::Mutex::new((0, String::new()));
    let seen = eventually(Duration::from_secs(2), || async {
        let (status, doc) = body_of(b, "/timelines/wire.rss").await;
        let found = status == 200 && doc.contains("Harbour reopens");
        *last.lock().unwrap() = (status, doc);
        found.then_some(())
    })
    .await;
    if seen.is_none() {
        // What each instance did meanwhile (the servers log at debug here).
        let (status, doc) = last.into_inner().unwrap();
        let after = created.elapsed();
        let (_, source, _) = call(a, "GET", "/api/v1/sources/wire", None).await;
        panic!(
            "the timeline is not served by the other instance within 2 s: after {after:?} \
             {status} {doc:.2000}\nits first fetch: {first_fetch}\nthe source on A: {source}\n\
             A:\n{}\nB:\n{}",
            a.log_text(),
            b.log_text()
        );
    }
    let (status, _, _) = call(b, "GET", "/api/v1/sources/wire", None).await;
    assert_eq!(status, 200);
    // Fetched once per interval across both.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let times: Vec<Instant> = up
        .requests("/wire.xml")
        .iter()
        .map(|s| s.at)
        .filter(|t| *t >= added - Duration::from_secs(1))
        .collect();
    assert!(times.len() >= 3, "fetched {} times in 10 s", times.len());
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(2500),
            "fetched twice within {:?}: {:?}; logs:\n{}\n{}",
            pair[1] - pair[0],
            up.requests("/wire.xml")
                .iter()
                .map(|s| (s.at - added, s.if_none_match.clone(), s.user_agent.clone()))
                .collect::<Vec<_>>(),
            a.log_text(),
            b.log_text()
        );
    }
    // A broken config on one instance: it keeps serving, the other is unmoved.
    let good = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(site.config(), format!("{good}\n[site\n")).unwrap();
    let refused = eventually(Duration::from_secs(5), || async {
        let (_, health) = body_of(a, "/healthz").await;
        health.contains("refused").then_some(())
    })
    .await;
    assert!(refused.is_some());
    for s in [a, b] {
        let (status, doc) = body_of(s, "/timelines/wire.rss").await;
        assert_eq!(status, 200);
        assert!(doc.contains("Harbour reopens"));
    }
    // Deleted on B: gone from A within 2 s.
    std::fs::write(site.config(), &good).unwrap();
    let (status, _, _) = call(b, "DELETE", "/api/v1/timelines/wire", None).await;
    assert_eq!(status, 204);
    let gone = eventually(Duration::from_secs(2), || async {
        let (status, _) = body_of(a, "/timelines/wire.rss").await;
        (status == 404).then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "the deletion reaches the other instance within 2 s"
    );
    for s in servers {
        assert!(s.stop());
    }
}

#[tokio::test]
async fn a_deleted_sources_archive_pages_keep_their_bytes() {
    let up = Upstream::start();
    // Sixty stories older than the demo's: they fill the world feed's first
    // closed page, and a small timeline's pages.
    let items: Vec<(String, String)> = (0..60)
        .map(|n| {
            (
                format!("old-{n:02}"),
                format!("Story {n:02} of the archive"),
            )
        })
        .collect();
    let body: String = items
        .iter()
        .enumerate()
        .map(|(n, (id, t))| {
            format!(
                "<item><title>{t}</title><link>https://up.example/{id}</link><guid>{id}</guid><pubDate>{}</pubDate></item>",
                (chrono::DateTime::parse_from_rfc3339("2025-06-01T08:00:00Z").unwrap()
                    + chrono::Duration::hours(n as i64))
                .to_rfc2822()
            )
        })
        .collect();
    up.set(
        "/old.xml",
        "application/rss+xml",
        format!("<rss version=\"2.0\"><channel><title>Old</title><link>https://up.example/</link><description>d</description>{body}</channel></rss>"),
    );
    let site = site();
    let server = Server::start(&site, &[]);
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/old.xml"), "name": "old", "categories": ["world"]})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/timelines",
        Some(&json!({"name": "old-wire", "title": "Old wire", "sources": ["old"], "categories": ["tech"], "limit": 10})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    let pages = [
        "/feeds/world/archive/1.atom",
        "/timelines/old-wire/archive/1.rss",
        "/timelines/old-wire/archive/2.json",
    ];
    let before = eventually(Duration::from_secs(5), || async {
        let mut bodies = Vec::new();
        for p in pages {
            let (status, _, body) = get(&server.url(p), &[]).await;
            if status != 200 {
                return None;
            }
            bodies.push(body);
        }
        Some(bodies)
    })
    .await
    .expect("the pages close");
    assert!(String::from_utf8_lossy(&before[0]).contains("of the archive"));
    // A page is read and rendered once for all its formats: the others
    // were kept with the first.
    let renders = || async {
        let (_, metrics) = body_of(&server, "/metrics").await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("newswire_on_demand_renders_total "))
            .map(|v| v.trim().to_owned())
            .expect("the render counter")
    };
    let counted = renders().await;
    for p in [
        "/feeds/world/archive/1.rss",
        "/feeds/world/archive/1.json",
        "/timelines/old-wire/archive/1.atom",
    ] {
        let (status, _, _) = get(&server.url(p), &[]).await;
        assert_eq!(status, 200, "{p}");
    }
    assert_eq!(renders().await, counted, "no page rendered twice");
    // The timeline lets go of the source, the source is deleted.
    let (status, out, _) = call(
        &server,
        "PATCH",
        "/api/v1/timelines/old-wire",
        Some(&json!({"sources": null})),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (status, _, _) = call(&server, "DELETE", "/api/v1/sources/old", None).await;
    assert_eq!(status, 204);
    let gone = eventually(Duration::from_secs(5), || async {
        let (_, world) = body_of(&server, "/feeds/world.atom").await;
        world.contains("deleted-entry").then_some(())
    })
    .await;
    assert!(gone.is_some(), "the current document shows the tombstones");
    for (p, was) in pages.iter().zip(&before) {
        let (status, _, now) = get(&server.url(p), &[]).await;
        assert_eq!(status, 200, "{p}");
        assert!(
            now == *was,
            "{p} changed:\n{}",
            String::from_utf8_lossy(&now)
        );
    }
    // A restart (the memory cache gone) serves the same bytes.
    assert!(server.stop());
    let server = Server::start(&site, &[]);
    for (p, was) in pages.iter().zip(&before) {
        let (_, _, now) = get(&server.url(p), &[]).await;
        assert!(now == *was, "{p} changed across a restart");
    }
    assert!(server.stop());
}

#[tokio::test]
async fn hostile_entries_through_the_api_leave_every_document_valid() {
    let up = Upstream::start();
    up.set(
        "/wire.xml",
        "application/rss+xml",
        rss("Wire", &[("w1", "One")]),
    );
    let site = site();
    let server = Server::start(&site, &[]);
    // Control characters are refused, with the field; nothing is written.
    for bad in ["\u{1}", "\u{7}", "\u{1b}[31m", "\u{fffe}", "\u{85}"] {
        let (status, out, _) = call(
            &server,
            "POST",
            "/api/v1/timelines",
            Some(&json!({"name": "bad", "title": format!("Bad {bad}"), "categories": ["world"]})),
        )
        .await;
        assert_eq!(
            (status, out["field"].as_str()),
            (422, Some("title")),
            "{bad:?}: {out}"
        );
    }
    // A source URL as written: what the URL parser would quietly drop or
    // percent-encode (a pasted tag, a second line, a control character) and
    // an overlong one are refused with the field, and nothing is registered.
    let base = up.url("/wire.xml");
    let long = format!("{base}?{}", "a".repeat(5000));
    for bad in [
        format!("{base}<script>alert(1)</script>"),
        format!("{base}\nhttp://127.0.0.1/other"),
        format!("{base}\u{1b}[31m"),
        format!("{base}\u{0}"),
        format!("{base} x"),
        format!("{base}\"onmouseover=\"x"),
        format!("\t{base}"),
        long,
    ] {
        let (status, out, _) = call(
            &server,
            "PUT",
            "/api/v1/sources/hostile",
            Some(&json!({"url": bad})),
        )
        .await;
        assert_eq!(
            (status, out["field"].as_str()),
            (422, Some("url")),
            "{:.60?}: {out}",
            bad
        );
    }
    let (status, _, _) = call(&server, "GET", "/api/v1/sources/hostile", None).await;
    assert_eq!(status, 404, "no hostile source was registered");
    let nasty = "<script>alert(1)</script> \u{202e}&amp;]]> <![CDATA[x]]> \t\"'";
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/sources",
        Some(&json!({"url": up.url("/wire.xml"), "name": "wire", "title": nasty, "include": [nasty, "One"]})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    let (status, out, _) = call(
        &server,
        "POST",
        "/api/v1/timelines",
        Some(&json!({"name": "nasty", "title": nasty, "description": nasty.repeat(1000), "sources": ["wire"], "categories": ["world"]})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    // Nested past any entry's need, or not JSON: refused whole.
    let deep = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    for body in [deep.as_str(), "{\"name\": \"x\", ", "\u{0}\u{ff}"] {
        let resp = client()
            .post(server.url("/api/v1/timelines"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{:.40}", body);
    }
    let served = eventually(Duration::from_secs(5), || async {
        let (status, _) = body_of(&server, "/timelines/nasty.rss").await;
        (status == 200).then_some(())
    })
    .await;
    assert!(served.is_some());
    check_feed(&server, &["/timelines/nasty", "/feeds/world", "/feeds/all"]).await;
    for p in ["/timelines/nasty.html", "/", "/feeds.opml"] {
        let (status, body) = body_of(&server, p).await;
        assert_eq!(status, 200, "{p}");
        assert!(!body.contains("<script>alert"), "{p}");
        assert!(body.contains("alert(1)"), "{p} shows the title as text");
    }
    let resp = client()
        .get(server.url("/api/v1/sources.opml"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let opml = resp.text().await.unwrap();
    assert!(!opml.contains("<script>"), "{opml}");
    assert!(server.stop());
}
