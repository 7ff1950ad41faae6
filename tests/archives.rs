//! RFC 5005 archives through the real server: walking `prev-archive` from a
//! feed's subscription document reaches every item the feed ever carried,
//! each exactly once, in RSS, Atom and JSON Feed, for a category, `all` and a
//! timeline; closed pages never change (same bytes and ETag after more
//! articles and after a restart) and say so (`fh:archive`, `immutable`); a
//! withdrawn item leaves its tombstone in its page; every page passes
//! `../shared/tools/check-feed`.

mod common;

use common::{Server, SiteDir, TOKEN, client, get, header};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// What one document says, as far as archives go.
#[derive(Debug, Default)]
struct Doc {
    ids: Vec<String>,
    prev: Option<String>,
    current: Option<String>,
    archive: bool,
    tombstones: Vec<String>,
}

/// Atom or RSS, read by element path: entry (item) ids, the feed's
/// `prev-archive` and `current` links, `fh:archive`, tombstones.
fn read_xml(body: &str) -> Doc {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut doc = Doc::default();
    let mut text = String::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
            let attr = |key: &str| {
                e.attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == key.as_bytes())
                    .map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned()
                    })
            };
            let parent: Vec<&str> = path.iter().map(String::as_str).collect();
            match (parent.as_slice(), name.as_str()) {
                (["feed"] | ["rss", "channel"], "link" | "atom:link") => {
                    match attr("rel").as_deref() {
                        Some("prev-archive") => doc.prev = attr("href"),
                        Some("current") => doc.current = attr("href"),
                        _ => {}
                    }
                }
                (["feed"] | ["rss", "channel"], "fh:archive") => doc.archive = true,
                (["feed"], "at:deleted-entry") => doc.tombstones.push(attr("ref").unwrap()),
                _ => {}
            }
            if !empty {
                path.push(name);
                text.clear();
            }
            continue;
        }
        match event {
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                let name = String::from_utf8(r.to_vec()).unwrap();
                text.push_str(&quick_xml::escape::unescape(&format!("&{name};")).unwrap());
            }
            Event::CData(c) => text.push_str(std::str::from_utf8(&c).unwrap()),
            Event::End(_) => {
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                if matches!(
                    p.as_slice(),
                    ["feed", "entry", "id"] | ["rss", "channel", "item", "guid"]
                ) {
                    doc.ids.push(text.trim().to_owned());
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    doc
}

fn read_json(body: &str) -> Doc {
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON Feed");
    Doc {
        ids: v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect(),
        prev: v["next_url"].as_str().map(str::to_owned),
        ..Doc::default()
    }
}

/// The path of one of our URLs (documents name the configured public base).
fn path_of(url: &str) -> String {
    reqwest::Url::parse(url).unwrap().path().to_owned()
}

/// One archive document as served: what it says, its bytes and headers.
struct Fetched {
    doc: Doc,
    body: String,
    etag: String,
    cache_control: String,
}

async fn fetch(server: &Server, path: &str) -> Fetched {
    let (status, headers, body) = get(&server.url(path), &[]).await;
    assert_eq!(status, 200, "{path}");
    let body = String::from_utf8(body).unwrap();
    let doc = if path.ends_with(".json") {
        read_json(&body)
    } else {
        read_xml(&body)
    };
    Fetched {
        doc,
        etag: header(&headers, "etag"),
        cache_control: header(&headers, "cache-control"),
        body,
    }
}

/// Walks `prev-archive` from `current` (`/feeds/world.atom`): the ids of every
/// document, the subscription document's first, and the pages' paths, newest
/// first. Every page says it is one.
async fn walk(server: &Server, current: &str) -> (Vec<String>, Vec<String>) {
    let (head, paged, pages) = walk_apart(server, current).await;
    (head.into_iter().chain(paged).collect(), pages)
}

/// [`walk`], with the subscription document's ids apart from the pages'.
async fn walk_apart(server: &Server, current: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let head = fetch(server, current).await;
    assert!(!head.doc.archive, "{current} is no archive page");
    assert!(!head.cache_control.contains("immutable"), "{current}");
    let head_ids = head.doc.ids;
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut next = head.doc.prev;
    while let Some(url) = next {
        let path = path_of(&url);
        assert!(!pages.contains(&path), "{path} twice in the walk");
        let page = fetch(server, &path).await;
        if !path.ends_with(".json") {
            assert!(page.doc.archive, "{path} has fh:archive");
            assert_eq!(
                page.doc.current.as_deref().map(path_of).as_deref(),
                Some(current)
            );
        }
        assert_eq!(
            page.cache_control, "public, max-age=31536000, immutable",
            "{path}"
        );
        assert!(!page.etag.is_empty(), "{path}");
        ids.extend(page.doc.ids);
        next = page.doc.prev;
        pages.push(path);
    }
    (head_ids, ids, pages)
}

/// Every id once among the pages, every expected id reached, no other; the
/// subscription document may repeat some of the newest page's (RFC 5005
/// section 4: a consumer keeps one per id).
fn assert_walk(what: &str, head: &[String], paged: &[String], expected: &BTreeSet<String>) {
    let mut ids = paged.to_vec();
    assert_each_once(what, paged, &paged.iter().cloned().collect());
    ids.extend(head.iter().filter(|id| !paged.contains(id)).cloned());
    assert_each_once(what, &ids, expected);
}

/// Every id once, and exactly the expected ones.
fn assert_each_once(what: &str, ids: &[String], expected: &BTreeSet<String>) {
    let mut seen = BTreeMap::new();
    for id in ids {
        *seen.entry(id.clone()).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{what}: seen more than once: {twice:?}");
    let got: BTreeSet<String> = seen.into_keys().collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} missing {missing:?}, {} extra {extra:?}",
        missing.len(),
        extra.len()
    );
}

/// The ids a feed shows now, which all fit one document (before the test
/// posts anything).
async fn ids_now(server: &Server, current: &str) -> BTreeSet<String> {
    let (ids, pages) = walk(server, current).await;
    assert!(pages.is_empty(), "{current} has no pages yet");
    ids.into_iter().collect()
}

/// Posts an article; its key (for the API) and its id (in the feeds).
async fn post(
    server: &Server,
    i: usize,
    category: &str,
    published: chrono::DateTime<chrono::Utc>,
) -> (String, String) {
    let resp = client()
        .post(server.url("/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(&json!({
            "id": format!("archive-{i:03}"),
            "title": format!("Archive story {i}: {category} desk"),
            "category": category,
            "published": published.to_rfc3339(),
            "author": "Archive Desk",
            "content_markdown": format!("Paragraph {i} of the archive walk."),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let out: serde_json::Value = resp.json().await.unwrap();
    (
        out["id"].as_str().unwrap().to_owned(),
        out["guid"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn walking_prev_archive_reaches_every_item_once() {
    let site = SiteDir::demo();
    site.append_config(
        "\n[[timelines]]\nname = \"desk\"\ntitle = \"Desk\"\ncategories = [\"world\", \"tech\"]\nlimit = 60\n",
    );
    let server = Server::start(&site, &[]);
    let mut expect: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for feed in [
        "/feeds/world",
        "/feeds/tech",
        "/feeds/all",
        "/timelines/desk",
    ] {
        expect.insert(feed, ids_now(&server, &format!("{feed}.atom")).await);
    }

    // 500 articles published over four months, posted out of date order (an
    // archive is in the order items came in, not by their dates).
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let mut keys = BTreeMap::new();
    let mut dates: BTreeMap<&str, Vec<(chrono::DateTime<chrono::Utc>, String)>> = BTreeMap::new();
    for i in 0..500 {
        let category = if i % 5 == 4 { "tech" } else { "world" };
        let minutes = (i as i64 * 7919) % (120 * 24 * 60);
        let published = start + chrono::Duration::minutes(minutes);
        let (key, id) = post(&server, i, category, published).await;
        keys.insert(id.clone(), key);
        dates
            .entry(category)
            .or_default()
            .push((published, id.clone()));
        for feed in [
            format!("/feeds/{category}"),
            "/feeds/all".into(),
            "/timelines/desk".into(),
        ] {
            expect.get_mut(feed.as_str()).unwrap().insert(id.clone());
        }
    }

    common::rendered(&server).await;
    let mut world_pages = Vec::new();
    for (feed, expected) in &expect {
        for ext in ["atom", "rss", "json"] {
            let current = format!("{feed}.{ext}");
            let (head, paged, pages) = walk_apart(&server, &current).await;
            assert!(pages.len() >= 2, "{current}: {} pages", pages.len());
            assert_walk(&current, &head, &paged, expected);
            if *feed == "/feeds/world" || *feed == "/timelines/desk" {
                world_pages.extend(pages);
            }
        }
    }
    // The subscription document is full: the feed's newest 50 by date (the
    // timeline's 60), whatever the order they came in, and what no page
    // holds yet beside them.
    let mut world = dates["world"].clone();
    world.sort();
    let current = fetch(&server, "/feeds/world.atom").await;
    let shown: BTreeSet<&String> = current.doc.ids.iter().collect();
    for (_, id) in world.iter().rev().take(50) {
        assert!(shown.contains(id), "{id} is among world's newest 50");
    }
    assert!((50..=100).contains(&shown.len()), "{}", shown.len());
    let current = fetch(&server, "/timelines/desk.atom").await;
    assert!(
        (60..=120).contains(&current.doc.ids.len()),
        "{}",
        current.doc.ids.len()
    );

    // Every archive page passes check-feed.
    common::check_documents(&server, &world_pages).await;

    // Closed pages never change: more articles later, the same bytes and ETag.
    let before: Vec<(String, Fetched)> = {
        let mut v = Vec::new();
        for p in world_pages
            .iter()
            .filter(|p| p.starts_with("/feeds/world/"))
        {
            v.push((p.clone(), fetch(&server, p).await));
        }
        v
    };
    for i in 500..530 {
        post(&server, i, "world", start + chrono::Duration::days(150)).await;
    }
    common::rendered(&server).await;
    for (path, old) in &before {
        let now = fetch(&server, path).await;
        assert_eq!(now.etag, old.etag, "{path}");
        assert_eq!(now.body, old.body, "{path}");
        let (status, _, _) = get(&server.url(path), &[("if-none-match", &old.etag)]).await;
        assert_eq!(status, 304, "{path}");
    }

    // Not pages: page 0, a page not closed, another spelling, HTML, a feed
    // that does not exist; and no writes.
    for path in [
        "/feeds/world/archive/0.atom",
        "/feeds/world/archive/9999.atom",
        "/feeds/world/archive/01.atom",
        "/feeds/world/archive/1.html",
        "/feeds/world/archive/1",
        "/feeds/nowhere/archive/1.atom",
        "/timelines/nowhere/archive/1.atom",
    ] {
        let (status, _, _) = get(&server.url(path), &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    // Each page names the next as its `next-archive` (its bytes never
    // change); the one after the newest closed page is, until it closes,
    // the subscription document.
    let (_, _, current) = get(&server.url("/feeds/world.atom"), &[]).await;
    let current = String::from_utf8(current).unwrap();
    let newest: u64 = current
        .split("rel=\"prev-archive\"")
        .next()
        .and_then(|head| head.rsplit("/archive/").next())
        .and_then(|tail| tail.split('.').next())
        .and_then(|n| n.parse().ok())
        .expect("a prev-archive link");
    let (_, _, page) = get(
        &server.url(&format!("/feeds/world/archive/{newest}.atom")),
        &[],
    )
    .await;
    let page = String::from_utf8(page).unwrap();
    let next = format!("/feeds/world/archive/{}.atom", newest + 1);
    assert!(
        page.contains(&format!("{next}\" rel=\"next-archive\"")),
        "{page}"
    );
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url(&next))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "{next}");
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/feeds/world.atom"),
        "{:?}",
        resp.headers()
    );
    let after = format!("/feeds/world/archive/{}.atom", newest + 2);
    assert_eq!(get(&server.url(&after), &[]).await.0, 404, "{after}");
    let resp = client()
        .post(server.url("/feeds/world/archive/1.atom"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);

    // A withdrawn item leaves its tombstone where it lived, and only there.
    let page = fetch(&server, "/feeds/world/archive/2.atom").await;
    let gone = page.doc.ids[3].clone();
    let resp = client()
        .delete(server.url(&format!("/api/v1/articles/{}", keys[&gone])))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    common::rendered(&server).await;
    let page = fetch(&server, "/feeds/world/archive/2.atom").await;
    assert!(!page.doc.ids.contains(&gone));
    assert_eq!(page.doc.tombstones, vec![gone.clone()]);
    let (ids, pages) = walk(&server, "/feeds/world.atom").await;
    assert!(!ids.contains(&gone));
    let mut tombstoned = 0;
    for p in &pages {
        tombstoned += fetch(&server, p)
            .await
            .doc
            .tombstones
            .iter()
            .filter(|t| **t == gone)
            .count();
    }
    assert_eq!(tombstoned, 1, "one page holds the tombstone");

    // Pages and the walk outlive a restart, byte for byte.
    let page_one = fetch(&server, "/feeds/world/archive/1.rss").await;
    let (ids_before, _) = walk(&server, "/feeds/all.json").await;
    assert!(server.stop());
    // A page first served just before a shutdown is kept, in every format,
    // though its keep follows the answer. (Its kept rows are dropped while
    // no instance runs, as a withdrawal would drop them: the next instance
    // renders it again.)
    let db = format!(
        "sqlite:{}",
        site.data()
            .join(newswire::store::sqlite::SqliteStore::FILE)
            .display()
    );
    let tech_pages = |sql: &'static str| {
        let db = db.clone();
        async move {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM archive_documents WHERE feed LIKE '%tech%' AND page = 1",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap()
        }
    };
    let dropped = "DELETE FROM archive_documents WHERE feed LIKE '%tech%' AND page = 1";
    assert_eq!(tech_pages(dropped).await, 0);
    let server = Server::start(&site, &[]);
    let again = fetch(&server, "/feeds/world/archive/1.rss").await;
    assert_eq!(again.body, page_one.body);
    assert_eq!(again.etag, page_one.etag);
    let (ids_after, _) = walk(&server, "/feeds/all.json").await;
    assert_eq!(ids_after, ids_before);
    // A page made for its first asker answers in gzip when the request
    // takes both (quicker to make), unless the page's finishing, which
    // runs beside the answer, made brotli first (a small page's brotli
    // takes a millisecond, and a loaded machine may delay the answer);
    // its brotli follows just after the answer, and is what the same
    // request gets from then on. Both are the same bytes, and either tag
    // revalidates.
    let page = server.url("/feeds/tech/archive/1.atom");
    let both = [("accept-encoding", "br, gzip")];
    let (status, first, _) = get(&page, &both).await;
    assert_eq!(status, 200);
    assert!(
        ["gzip", "br"].contains(&header(&first, "content-encoding").as_str()),
        "{first:?}"
    );
    let (_, first, gz) = get(&page, &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&first, "content-encoding"), "gzip");
    let later = common::eventually(std::time::Duration::from_secs(10), || async {
        let (_, headers, body) = get(&page, &both).await;
        (header(&headers, "content-encoding") == "br").then_some((headers, body))
    })
    .await;
    let (later, br) = later.expect("brotli made after the first answer");
    let (mut from_gz, mut from_br) = (Vec::new(), Vec::new());
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut from_gz).unwrap();
    brotli::BrotliDecompress(&mut &br[..], &mut from_br).unwrap();
    let (_, _, identity) = get(&page, &[]).await;
    assert_eq!(from_gz, identity);
    assert_eq!(from_br, identity);
    for tag in [header(&first, "etag"), header(&later, "etag")] {
        let (status, _, _) = get(&page, &[("if-none-match", &tag), both[0]]).await;
        assert_eq!(status, 304, "{tag}");
    }
    let (status, _, _) = get(&server.url("/feeds/tech/archive/1.rss"), &[]).await;
    assert_eq!(status, 200);
    assert!(server.stop());
    assert_eq!(tech_pages("SELECT 1").await, 3, "kept through the shutdown");
}

/// Two instances on one PostgreSQL database, written through in turn, close
/// the same pages and serve them byte for byte alike: a reader may walk the
/// archive on either.
#[tokio::test(flavor = "multi_thread")]
async fn instances_on_one_database_serve_the_same_pages() {
    let Some((url, _db)) = common::pg::fresh_database() else {
        return;
    };
    let site = SiteDir::demo();
    let servers: Vec<Server> = ["data-a", "data-b"]
        .iter()
        .map(|d| Server::start_with(site.config(), &site.path(d), &["--database-url", &url], &[]))
        .collect();
    let start = chrono::DateTime::parse_from_rfc3339("2026-07-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let mut posted = BTreeSet::new();
    for i in 0..120 {
        let server = &servers[i % 2];
        let (_, id) = post(
            server,
            i,
            "world",
            start + chrono::Duration::hours(i as i64 * 13 % 97),
        )
        .await;
        posted.insert(id);
    }
    // Each instance renders what the other wrote within a moment.
    let mut walks = Vec::new();
    for server in &servers {
        let walked = common::eventually(std::time::Duration::from_secs(10), || async {
            let (ids, pages) = walk(server, "/feeds/world.atom").await;
            let ids: BTreeSet<String> = ids.into_iter().collect();
            posted.is_subset(&ids).then_some((ids, pages))
        })
        .await
        .expect("every posted article in the walk");
        walks.push(walked);
    }
    assert_eq!(walks[0], walks[1], "the same pages on both");
    let (_, pages) = &walks[0];
    assert!(pages.len() >= 3, "{pages:?}");
    for page in pages {
        let a = fetch(&servers[0], page).await;
        let b = fetch(&servers[1], page).await;
        assert_eq!(a.body, b.body, "{page}");
        assert_eq!(a.etag, b.etag, "{page}");
    }
    // The pages' compressed bodies were kept with their bytes the first time
    // each was served (just after the answer), and are what both instances
    // send for them.
    let kept_compressed = || async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM archive_documents WHERE gzip IS NOT NULL AND br IS NOT NULL",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    };
    let kept = common::eventually(std::time::Duration::from_secs(10), || async {
        let kept = kept_compressed().await;
        (kept >= pages.len() as i64).then_some(kept)
    })
    .await;
    assert!(
        kept.is_some(),
        "{} kept compressed",
        kept_compressed().await
    );
    for page in pages {
        let identity = fetch(&servers[0], page).await.body;
        for (coding, server) in [("gzip", &servers[1]), ("br", &servers[0])] {
            let (status, headers, body) =
                get(&server.url(page), &[("accept-encoding", coding)]).await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(header(&headers, "content-encoding"), coding, "{page}");
            let mut plain = Vec::new();
            match coding {
                "gzip" => {
                    use std::io::Read;
                    flate2::read::GzDecoder::new(&body[..])
                        .read_to_end(&mut plain)
                        .unwrap();
                }
                _ => brotli::BrotliDecompress(&mut &body[..], &mut plain).unwrap(),
            };
            assert_eq!(
                String::from_utf8(plain).unwrap(),
                identity,
                "{page} {coding}"
            );
        }
    }
}

/// Hostile input through the API (script, control characters, markup in
/// text, CDATA terminators, dates at the ends of what is accepted, a huge
/// body) into feeds of 4, so that much of it lands in archive pages: every
/// page of every feed still passes check-feed, and nothing is a 5xx.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_in_archive_pages_stays_valid() {
    let site = SiteDir::demo();
    let demo = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(
        site.config(),
        demo.replace("feed_size = 50", "feed_size = 4"),
    )
    .unwrap();
    let server = Server::start(&site, &[]);
    let hostile = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "]]> <![CDATA[ &#0; &#xFFFE; & < > \" '",
        "\u{0}\u{1}\u{8}\u{b}\u{1b}[31m\u{7f}\u{85}\u{FFFE}\u{FEFF}\u{202E}\u{2028}",
        "<!DOCTYPE x [<!ENTITY a \"b\">]>&a;",
        "العربية 😀\r\n\t",
    ];
    let dates = [
        "1970-01-01T00:00:00Z",
        "1900-02-28T12:00:00+14:00",
        "2000-02-29T23:59:59-12:00",
        "2026-11-01T00:00:00+00:00",
        "9999-12-31T23:59:59Z",
        "2026-13-45T99:99:99Z",
    ];
    let huge = "<p>long</p>".repeat(60_000);
    let mut created = 0;
    for (i, text) in hostile.iter().enumerate() {
        for (j, date) in dates.iter().enumerate() {
            let body = if i == 0 && j == 3 {
                huge.as_str()
            } else {
                text
            };
            let resp = client()
                .post(server.url("/api/v1/articles"))
                .bearer_auth(TOKEN)
                .json(&json!({
                    "id": format!("hostile-{i}-{j}"),
                    "title": format!("{text} {i}-{j}"),
                    "category": if j % 2 == 0 { "world" } else { "tech" },
                    "published": date,
                    "author": text,
                    "summary": text,
                    "content_html": body,
                }))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            assert!(
                status < 500,
                "{i}-{j}: {status} {}",
                resp.text().await.unwrap()
            );
            created += usize::from(status == 201);
        }
    }
    assert!(created >= 14, "{created} created");
    common::rendered(&server).await;
    let mut documents = Vec::new();
    for feed in ["/feeds/world", "/feeds/tech", "/feeds/all"] {
        for ext in ["atom", "rss", "json"] {
            let current = format!("{feed}.{ext}");
            let (_, paged, pages) = walk_apart(&server, &current).await;
            let unique: BTreeSet<&String> = paged.iter().collect();
            assert_eq!(unique.len(), paged.len(), "{current}: an id in two pages");
            assert!(!pages.is_empty(), "{current} has pages");
            documents.push(current);
            documents.extend(pages);
        }
    }
    common::check_documents(&server, &documents).await;
    for path in [
        "/feeds/world/archive/18446744073709551616.atom",
        "/feeds/world/archive/9223372036854775808.atom",
        "/feeds/world/archive/-1.atom",
        "/feeds/world/archive/%31.atom",
        "/feeds/world/archive/1.atom.atom",
        "/feeds/world/archive/1.ATOM",
    ] {
        let (status, _, _) = get(&server.url(path), &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    // After a restart the closed pages come from their kept rows (kept as
    // their gzip and brotli alone): the same bytes, in each encoding,
    // under the same tags, and still valid.
    let pages: Vec<&String> = documents
        .iter()
        .filter(|d| d.contains("/archive/"))
        .collect();
    let served = |server: &Server| {
        let urls: Vec<String> = pages.iter().map(|p| server.url(p)).collect();
        async move {
            let mut seen = Vec::new();
            for url in &urls {
                for coding in ["identity", "gzip", "br"] {
                    let (status, h, body) = get(url, &[("accept-encoding", coding)]).await;
                    assert_eq!(status, 200, "{url} {coding}");
                    seen.push((header(&h, "etag"), body));
                }
            }
            seen
        }
    };
    let before = served(&server).await;
    assert!(server.stop());
    let server = Server::start(&site, &[]);
    assert_eq!(served(&server).await, before);
    common::check_documents(&server, &documents).await;
    assert!(server.stop());
}
