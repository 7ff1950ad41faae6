//! Feeds through the real server: formats, headers, exact dates and ids, validators
//! across restarts, conditional GET, encodings, HEAD, errors, live reload, bad content,
//! discovery documents and shutdown.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

const SLUGS: [&str; 7] = [
    "all", "breaking", "world", "tech", "economy", "morocco", "sports",
];

const TAG: &str = "tag:news.example.com,2026-02-01:";
const SUDAN: &str = "Sudan: first commercial flight lands in Khartoum after nearly three years";
const SALT: &str =
    "Salt Typhoon Chinese Hacking Group Targets US Telecom Firms in Major Metadata Theft Campaign";
const SALT_FILE: &str = "articles/salt-typhoon-telecom-metadata-theft.md";
const TICKER_FILE: &str = "breaking/2026-02-01.txt";

fn content_type_of(path: &str) -> &'static str {
    if path.ends_with(".rss") {
        "application/rss+xml; charset=utf-8"
    } else if path.ends_with(".atom") {
        "application/atom+xml; charset=utf-8"
    } else if path.ends_with(".json") {
        "application/feed+json; charset=utf-8"
    } else {
        panic!("not a feed path: {path}")
    }
}

fn rss_doc(body: &[u8]) -> rss::Channel {
    rss::Channel::read_from(body).expect("valid RSS")
}

fn atom_doc(body: &[u8]) -> atom_syndication::Feed {
    atom_syndication::Feed::read_from(body).expect("valid Atom")
}

fn json_doc(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("valid JSON")
}

fn json_items(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["items"].as_array().expect("JSON Feed items array")
}

/// Ids in document order, per format.
fn rss_ids(c: &rss::Channel) -> Vec<String> {
    c.items()
        .iter()
        .map(|i| i.guid().expect("every item has a guid").value().to_owned())
        .collect()
}

fn atom_ids(f: &atom_syndication::Feed) -> Vec<String> {
    f.entries().iter().map(|e| e.id().to_owned()).collect()
}

fn json_ids(doc: &serde_json::Value) -> Vec<String> {
    json_items(doc)
        .iter()
        .map(|i| i["id"].as_str().expect("string id").to_owned())
        .collect()
}

async fn get_ok(server: &Server, path: &str) -> Vec<u8> {
    let (status, _, body) = get(&server.url(path), &[]).await;
    assert_eq!(status, 200, "GET {path}");
    body
}

/// Every document the demo site serves: feeds, HTML pages, index and OPML.
fn every_document_path() -> Vec<String> {
    let mut paths = demo_feed_paths();
    for slug in SLUGS {
        paths.push(format!("/feeds/{slug}.html"));
    }
    paths.push("/".into());
    paths.push("/feeds.opml".into());
    paths
}

/// (body, ETag, Last-Modified) of each path.
async fn snapshot(
    server: &Server,
    paths: &[String],
) -> BTreeMap<String, (Vec<u8>, String, String)> {
    let mut out = BTreeMap::new();
    for path in paths {
        let (status, h, body) = get(&server.url(path), &[]).await;
        assert_eq!(status, 200, "GET {path}");
        out.insert(
            path.clone(),
            (body, header(&h, "etag"), header(&h, "last-modified")),
        );
    }
    out
}

async fn etags(server: &Server) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in demo_feed_paths() {
        let (status, h, _) = get(&server.url(&path), &[]).await;
        assert_eq!(status, 200, "GET {path}");
        let tag = header(&h, "etag");
        assert!(!tag.is_empty(), "{path} has an ETag");
        out.insert(path, tag);
    }
    out
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn unbrotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &body[..], &mut out).expect("valid brotli");
    out
}

/// Whether `text` holds `name:LINE:` for some line number.
fn has_file_line(text: &str, name: &str) -> bool {
    let pat = format!("{name}:");
    text.match_indices(&pat).any(|(i, _)| {
        let rest = &text[i + pat.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(':')
    })
}

fn health_problems(body: &[u8]) -> u64 {
    json_doc(body)["content_problems"]
        .as_u64()
        .expect("content_problems is a number")
}

// 1.
#[tokio::test]
async fn every_feed_has_the_right_headers_and_the_same_items_in_every_format() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for path in demo_feed_paths() {
        let (status, h, body) = get(&server.url(&path), &[]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&h, "content-type"), content_type_of(&path), "{path}");
        assert_eq!(header(&h, "access-control-allow-origin"), "*", "{path}");
        assert_eq!(header(&h, "vary"), "Accept, Accept-Encoding", "{path}");
        let cc = header(&h, "cache-control");
        let max_age = cc
            .split(',')
            .find_map(|d| d.trim().strip_prefix("max-age="))
            .unwrap_or_else(|| panic!("{path}: Cache-Control {cc:?} has no max-age"));
        assert!(
            max_age.parse::<u64>().is_ok_and(|s| s > 0),
            "{path}: max-age {max_age:?}"
        );
        let etag = header(&h, "etag");
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{path}: strong ETag, got {etag:?}"
        );
        let lm = header(&h, "last-modified");
        assert!(
            httpdate::parse_http_date(&lm).is_ok(),
            "{path}: Last-Modified {lm:?}"
        );
        assert!(header(&h, "content-encoding").is_empty(), "{path}");
        assert_eq!(header(&h, "content-length"), body.len().to_string());
    }

    for slug in SLUGS {
        let rss = rss_doc(&get_ok(&server, &format!("/feeds/{slug}.rss")).await);
        let atom = atom_doc(&get_ok(&server, &format!("/feeds/{slug}.atom")).await);
        let json = json_doc(&get_ok(&server, &format!("/feeds/{slug}.json")).await);
        assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
        let (r, a, j) = (rss_ids(&rss), atom_ids(&atom), json_ids(&json));
        assert!(!r.is_empty(), "{slug} has items");
        assert_eq!(r.len(), a.len(), "{slug}: RSS and Atom item counts");
        assert_eq!(r.len(), j.len(), "{slug}: RSS and JSON item counts");
        assert_eq!(r, a, "{slug}: RSS and Atom ids");
        assert_eq!(r, j, "{slug}: RSS and JSON ids");
        let unique: std::collections::BTreeSet<_> = r.iter().collect();
        assert_eq!(unique.len(), r.len(), "{slug}: ids are unique");
        assert!(r.iter().all(|id| id.starts_with(TAG)), "{slug}: tag: ids");
    }

    // all = union of the categories plus uncategorized ticker items; each category
    // feed is a subset of it, with matching counts.
    let all: std::collections::BTreeSet<String> =
        rss_ids(&rss_doc(&get_ok(&server, "/feeds/all.rss").await))
            .into_iter()
            .collect();
    for slug in ["breaking", "world", "tech", "economy", "morocco", "sports"] {
        let ids = rss_ids(&rss_doc(
            &get_ok(&server, &format!("/feeds/{slug}.rss")).await,
        ));
        for id in ids {
            assert!(all.contains(&id), "{id} of {slug} is also in all");
        }
    }
    // 7 articles and 29 ticker items in the demo.
    assert_eq!(all.len(), 36, "all feed item count");
    let breaking = rss_ids(&rss_doc(&get_ok(&server, "/feeds/breaking.rss").await));
    assert_eq!(breaking.len(), 29, "breaking feed item count");
    assert!(server.stop());
}

// 2.
#[tokio::test]
async fn ticker_and_article_dates_ids_and_bodies_are_exact() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let sudan_id = format!("{TAG}breaking/2026-02-01/1700");
    // Its day's ticker page, which stays when the ticker moves on.
    let sudan_link = "http://127.0.0.1:8080/breaking/2026-02-01.html#b-2026-02-01-1700";
    for slug in ["breaking", "world", "all"] {
        let rss = rss_doc(&get_ok(&server, &format!("/feeds/{slug}.rss")).await);
        let item = rss
            .items()
            .iter()
            .find(|i| i.title() == Some(SUDAN))
            .unwrap_or_else(|| panic!("{slug}.rss has the Sudan item"));
        assert_eq!(item.pub_date(), Some("Sun, 01 Feb 2026 17:00:00 +0100"));
        assert_eq!(item.guid().unwrap().value(), sudan_id);
        assert!(!item.guid().unwrap().is_permalink());
        assert_eq!(item.link(), Some(sudan_link));

        let atom = atom_doc(&get_ok(&server, &format!("/feeds/{slug}.atom")).await);
        let entry = atom
            .entries()
            .iter()
            .find(|e| e.title().as_str() == SUDAN)
            .unwrap_or_else(|| panic!("{slug}.atom has the Sudan entry"));
        assert_eq!(
            entry.published().unwrap().to_rfc3339(),
            "2026-02-01T17:00:00+01:00"
        );
        assert_eq!(entry.updated().to_rfc3339(), "2026-02-01T17:00:00+01:00");
        assert_eq!(entry.id(), sudan_id);

        let json = json_doc(&get_ok(&server, &format!("/feeds/{slug}.json")).await);
        let it = json_items(&json)
            .iter()
            .find(|i| i["title"] == SUDAN)
            .unwrap_or_else(|| panic!("{slug}.json has the Sudan item"));
        assert_eq!(it["date_published"], "2026-02-01T17:00:00+01:00");
        assert_eq!(it["id"], sudan_id.as_str());
        assert_eq!(it["url"], sudan_link);
    }
    // The raw RSS bytes carry the two-digit day too (not only the parsed value).
    let raw = String::from_utf8(get_ok(&server, "/feeds/breaking.rss").await).unwrap();
    assert!(raw.contains("<pubDate>Sun, 01 Feb 2026 17:00:00 +0100</pubDate>"));

    // Two items at 14:20: the older (lower in the list) gets 1420, the newer 1420-2.
    let rss = rss_doc(&get_ok(&server, "/feeds/breaking.rss").await);
    let id_of = |title: &str| {
        rss.items()
            .iter()
            .find(|i| i.title() == Some(title))
            .unwrap_or_else(|| panic!("item {title:?}"))
            .guid()
            .unwrap()
            .value()
            .to_owned()
    };
    let older = id_of("Team of the week: from Nador to Ksar El Kebir, the test of action");
    let newer = id_of("New car sales in France down 6.55% in January");
    assert_eq!(older, format!("{TAG}breaking/2026-02-01/1420"));
    assert_eq!(newer, format!("{TAG}breaking/2026-02-01/1420-2"));
    // Newest first: the 1420-2 item comes before the 1420 one.
    let ids = rss_ids(&rss);
    let pos = |id: &str| ids.iter().position(|i| i == id).unwrap();
    assert!(pos(&newer) < pos(&older));
    // The run-together last line is split into five items, the oldest at 07:56.
    assert_eq!(
        ids.last().map(String::as_str),
        Some(format!("{TAG}breaking/2026-02-01/0756").as_str())
    );

    // The Salt Typhoon article, with its whole body, in tech and all.
    let md = std::fs::read_to_string(site.path(SALT_FILE)).unwrap();
    let body = md.splitn(3, "+++").nth(2).unwrap();
    let paragraphs: Vec<String> = body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.chars().take(40).collect())
        .collect();
    assert_eq!(paragraphs.len(), 7, "the demo article has seven paragraphs");
    let last_words = "from foreign threats.";
    let salt_id = format!("{TAG}article/salt-typhoon-telecom-metadata-theft");
    for slug in ["tech", "all"] {
        let rss = rss_doc(&get_ok(&server, &format!("/feeds/{slug}.rss")).await);
        let item = rss
            .items()
            .iter()
            .find(|i| i.title() == Some(SALT))
            .unwrap_or_else(|| panic!("{slug}.rss has the Salt Typhoon article"));
        assert_eq!(item.pub_date(), Some("Thu, 05 Dec 2024 10:36:00 +0100"));
        assert_eq!(item.guid().unwrap().value(), salt_id);
        let content = item.content().expect("content:encoded");
        for p in &paragraphs {
            assert!(content.contains(p.as_str()), "{slug}.rss body has {p:?}");
        }
        assert!(content.contains(last_words));
        assert!(content.contains("<p>"), "content:encoded is HTML");

        let atom = atom_doc(&get_ok(&server, &format!("/feeds/{slug}.atom")).await);
        let entry = atom
            .entries()
            .iter()
            .find(|e| e.title().as_str() == SALT)
            .unwrap_or_else(|| panic!("{slug}.atom has the Salt Typhoon entry"));
        assert_eq!(
            entry.published().unwrap().to_rfc3339(),
            "2024-12-05T10:36:00+01:00"
        );
        assert_eq!(entry.id(), salt_id);
        let content = entry.content().expect("atom content");
        assert_eq!(content.content_type(), Some("html"));
        let value = content.value().unwrap();
        for p in &paragraphs {
            assert!(value.contains(p.as_str()), "{slug}.atom body has {p:?}");
        }
        assert!(value.contains(last_words));

        let json = json_doc(&get_ok(&server, &format!("/feeds/{slug}.json")).await);
        let it = json_items(&json)
            .iter()
            .find(|i| i["title"] == SALT)
            .unwrap_or_else(|| panic!("{slug}.json has the Salt Typhoon item"));
        assert_eq!(it["date_published"], "2024-12-05T10:36:00+01:00");
        assert_eq!(it["id"], salt_id.as_str());
        let html = it["content_html"].as_str().expect("content_html");
        for p in &paragraphs {
            assert!(html.contains(p.as_str()), "{slug}.json body has {p:?}");
        }
        assert!(html.contains(last_words));
    }

    // An article tagged with its own category lists it once, in every format; Atom
    // labels it with the category's title.
    let ksar = "ksar-el-kebir-floods-evacuations";
    let rss = rss_doc(&get_ok(&server, "/feeds/morocco.rss").await);
    let item = rss
        .items()
        .iter()
        .find(|i| i.link().is_some_and(|l| l.ends_with(ksar)))
        .unwrap();
    let names: Vec<_> = item.categories().iter().map(|c| c.name()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "morocco").count(),
        1,
        "{names:?}"
    );
    let atom = atom_doc(&get_ok(&server, "/feeds/morocco.atom").await);
    let entry = atom
        .entries()
        .iter()
        .find(|e| e.id().ends_with(ksar))
        .unwrap();
    let terms: Vec<_> = entry
        .categories()
        .iter()
        .map(|c| (c.term(), c.label()))
        .collect();
    assert_eq!(
        terms.iter().filter(|(t, _)| *t == "morocco").count(),
        1,
        "{terms:?}"
    );
    assert_eq!(terms[0], ("morocco", Some("Morocco")));
    let json = json_doc(&get_ok(&server, "/feeds/morocco.json").await);
    let it = json_items(&json)
        .iter()
        .find(|i| i["id"].as_str().unwrap().ends_with(ksar))
        .unwrap();
    let tags: Vec<_> = it["tags"].as_array().unwrap().iter().collect();
    assert_eq!(
        tags.iter().filter(|t| **t == "morocco").count(),
        1,
        "{tags:?}"
    );

    // No noise from the page the seed was taken from, anywhere.
    for path in every_document_path() {
        let text = String::from_utf8(get_ok(&server, &path).await).unwrap();
        let lower = text.to_lowercase();
        for noise in ["fajr", "cookies", "read more"] {
            assert!(!lower.contains(noise), "{path} contains {noise:?}");
        }
    }
    assert!(server.stop());
}

// 3.
#[tokio::test]
async fn restart_on_the_same_or_a_fresh_data_dir_serves_the_same_bytes_and_validators() {
    let site = SiteDir::demo();
    let paths = every_document_path();
    let server = Server::start(&site, &[]);
    let first = snapshot(&server, &paths).await;
    assert!(server.stop(), "graceful shutdown exits 0");
    for (path, (_, etag, lm)) in &first {
        assert!(!etag.is_empty(), "{path} has an ETag");
        if path.starts_with("/feeds/") && !path.ends_with(".html") {
            assert!(!lm.is_empty(), "{path} has a Last-Modified");
        }
    }

    // A second later, so a clock-derived validator would show.
    std::thread::sleep(Duration::from_millis(1100));
    let server = Server::start(&site, &[]);
    let again = snapshot(&server, &paths).await;
    assert!(server.stop());

    let fresh_data = tempfile::tempdir().unwrap();
    let server = Server::start_with(site.config(), fresh_data.path(), &[], &[]);
    let fresh = snapshot(&server, &paths).await;
    assert!(server.stop());

    for (label, other) in [("same data dir", &again), ("fresh data dir", &fresh)] {
        for path in &paths {
            let (a, b) = (&first[path], &other[path]);
            assert!(a.0 == b.0, "{label}: {path} bytes differ after restart");
            assert_eq!(a.1, b.1, "{label}: {path} ETag");
            assert_eq!(a.2, b.2, "{label}: {path} Last-Modified");
        }
    }
    // Last-Modified is the newest item in the data: the 17:00 ticker item, 16:00 UTC.
    assert_eq!(
        first["/feeds/breaking.rss"].2,
        "Sun, 01 Feb 2026 16:00:00 GMT"
    );
    assert_eq!(first["/feeds/all.atom"].2, "Sun, 01 Feb 2026 16:00:00 GMT");
}

// 4.
#[tokio::test]
async fn conditional_get_answers_304_only_when_the_client_has_the_document() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for path in ["/feeds/all.rss", "/feeds/tech.atom", "/feeds/breaking.json"] {
        let url = server.url(path);
        let (status, h, body) = get(&url, &[]).await;
        assert_eq!(status, 200);
        let etag = header(&h, "etag");
        let lm = header(&h, "last-modified");

        let (status, h304, body304) = get(&url, &[("If-None-Match", &etag)]).await;
        assert_eq!(status, 304, "{path}: If-None-Match with the ETag");
        assert!(body304.is_empty(), "{path}: 304 has no body");
        assert_eq!(header(&h304, "etag"), etag, "{path}: 304 repeats the ETag");

        let (status, _, body304) = get(&url, &[("If-Modified-Since", &lm)]).await;
        assert_eq!(status, 304, "{path}: If-Modified-Since = Last-Modified");
        assert!(body304.is_empty());

        let older = httpdate::fmt_http_date(
            httpdate::parse_http_date(&lm).unwrap() - Duration::from_secs(3600),
        );
        let (status, _, b) = get(&url, &[("If-Modified-Since", &older)]).await;
        assert_eq!(status, 200, "{path}: If-Modified-Since an hour earlier");
        assert_eq!(b, body);

        let stale = "\"00000000000000000000000000000000\"";
        let (status, _, b) = get(&url, &[("If-None-Match", stale)]).await;
        assert_eq!(status, 200, "{path}: a stale ETag");
        assert_eq!(b, body);
        // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        let (status, _, _) = get(
            &url,
            &[("If-None-Match", stale), ("If-Modified-Since", &lm)],
        )
        .await;
        assert_eq!(status, 200, "{path}: a stale ETag with a matching date");

        // The gzip variant has its own tag, and it validates too.
        let (status, hgz, _) = get(&url, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(status, 200);
        assert_eq!(header(&hgz, "content-encoding"), "gzip");
        let gz_tag = header(&hgz, "etag");
        assert!(!gz_tag.is_empty());
        assert_ne!(gz_tag, etag, "{path}: gzip ETag differs from identity's");
        let (status, h, b) = get(
            &url,
            &[("Accept-Encoding", "gzip"), ("If-None-Match", &gz_tag)],
        )
        .await;
        assert_eq!(status, 304, "{path}: If-None-Match with the gzip ETag");
        assert!(b.is_empty());
        assert_eq!(header(&h, "etag"), gz_tag);
        // A list of tags, one of which matches.
        let list = format!("{stale}, {gz_tag}");
        let (status, _, _) = get(
            &url,
            &[("Accept-Encoding", "gzip"), ("If-None-Match", &list)],
        )
        .await;
        assert_eq!(status, 304, "{path}: a tag list containing the current tag");
    }
    assert!(server.stop());
}

// 5.
#[tokio::test]
async fn gzip_and_brotli_bodies_decompress_to_the_identity_bytes() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let mut paths = demo_feed_paths();
    paths.push("/feeds.opml".into());
    paths.push("/".into());
    for path in paths {
        let url = server.url(&path);
        let (status, h, identity) = get(&url, &[]).await;
        assert_eq!(status, 200);
        assert!(header(&h, "content-encoding").is_empty(), "{path}");
        let identity_tag = header(&h, "etag");

        let (status, h, b) = get(&url, &[("Accept-Encoding", "identity")]).await;
        assert_eq!(status, 200);
        assert!(
            header(&h, "content-encoding").is_empty(),
            "{path}: identity"
        );
        assert_eq!(b, identity, "{path}: identity bytes");

        let (status, h, gz) = get(&url, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "content-encoding"), "gzip", "{path}");
        // Feed URLs also answer browsers with their page; the index and OPML do not.
        let vary = if path.starts_with("/feeds/") {
            "Accept, Accept-Encoding"
        } else {
            "Accept-Encoding"
        };
        assert_eq!(header(&h, "vary"), vary, "{path}");
        assert_eq!(header(&h, "content-length"), gz.len().to_string());
        assert_ne!(gz, identity);
        assert_eq!(
            gunzip(&gz),
            identity,
            "{path}: gzip decompresses to identity"
        );

        // Before any answer in brotli (a render pass makes its bytes on the
        // first request that takes them): brotli's tag, as another instance
        // serves it, is already known, and a HEAD says the length.
        let br_tag = header(&h, "etag").replace("-gz\"", "-br\"");
        assert_ne!(br_tag, header(&h, "etag"), "{path}");
        let (status, h, _) = get(
            &url,
            &[
                ("Accept-Encoding", "br"),
                ("If-None-Match", br_tag.as_str()),
            ],
        )
        .await;
        assert_eq!(status, 304, "{path}");
        assert_eq!(header(&h, "etag"), br_tag, "{path}");
        let head = client()
            .head(&url)
            .header("Accept-Encoding", "br")
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        let head_length = head.headers()["content-length"]
            .to_str()
            .unwrap()
            .to_owned();

        let (status, h, br) = get(&url, &[("Accept-Encoding", "br")]).await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "content-encoding"), "br", "{path}");
        assert_eq!(header(&h, "etag"), br_tag, "{path}");
        assert_eq!(header(&h, "content-length"), br.len().to_string());
        assert_eq!(head_length, br.len().to_string(), "{path}");
        assert_ne!(header(&h, "etag"), identity_tag, "{path}: br ETag");
        assert_eq!(
            unbrotli(&br),
            identity,
            "{path}: br decompresses to identity"
        );

        // What browsers send: brotli is preferred.
        let (_, h, b) = get(&url, &[("Accept-Encoding", "gzip, deflate, br")]).await;
        assert_eq!(header(&h, "content-encoding"), "br");
        assert_eq!(b, br);
        // q=0 refuses a coding.
        let (_, h, b) = get(&url, &[("Accept-Encoding", "br;q=0, gzip")]).await;
        assert_eq!(header(&h, "content-encoding"), "gzip");
        assert_eq!(gunzip(&b), identity);
    }
    assert!(server.stop());
}

/// Reads one HTTP/1.1 response with a Content-Length (or none, for 304 and HEAD)
/// from a raw stream: (status line, headers lowercased, body).
fn read_response(
    r: &mut impl std::io::BufRead,
    head_only: bool,
) -> (String, BTreeMap<String, String>, Vec<u8>) {
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.insert(k.to_ascii_lowercase(), v.trim().to_owned());
    }
    let len = match headers.get("content-length") {
        Some(n) if !head_only && !status.contains(" 304 ") => n.parse().unwrap(),
        _ => 0,
    };
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (status.trim_end().to_owned(), headers, body)
}

// Large bodies leave from a file with sendfile(2), small ones and heads are copied:
// whatever mix a pipelining client asks for, and however slowly it reads, every
// response carries exactly the bytes of the document.
#[tokio::test]
async fn pipelined_requests_and_a_slow_reader_get_every_byte_right() {
    use std::io::Write as _;
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let mut expected = BTreeMap::new();
    for (path, enc) in [
        ("/feeds/all.rss", "identity"),
        ("/feeds/all.atom", "gzip"),
        ("/feeds/all.json", "br"),
        ("/feeds/sports.rss", "identity"),
    ] {
        let (status, h, body) = get(&server.url(path), &[("Accept-Encoding", enc)]).await;
        assert_eq!(status, 200);
        expected.insert((path, enc), (body, header(&h, "etag")));
    }
    let big = expected[&("/feeds/all.rss", "identity")].0.len();
    let small = expected[&("/feeds/sports.rss", "identity")].0.len();
    assert!(
        big > 16 * 1024,
        "all.rss is large enough to leave by sendfile ({big} bytes)"
    );
    assert!(
        small < 16 * 1024,
        "sports.rss is small enough to be copied ({small} bytes)"
    );

    // 2,000 requests in one write: bodies large and small in every encoding, HEADs and
    // 304s in between, megabytes in all, more than the socket buffers hold.
    let mut plan = Vec::new();
    let mut requests = String::new();
    for i in 0..2000 {
        let (&(path, enc), (_, etag)) = expected.iter().nth(i % expected.len()).unwrap();
        let (method, extra) = match i % 10 {
            3 => ("HEAD", String::new()),
            7 => ("GET", format!("If-None-Match: {etag}\r\n")),
            _ => ("GET", String::new()),
        };
        requests.push_str(&format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {enc}\r\n{extra}\r\n"
        ));
        plan.push((path, enc, method, !extra.is_empty()));
    }
    let addr = server.base.trim_start_matches("http://").to_owned();
    let reader = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(requests.as_bytes()).unwrap();
        // Let the server fill the socket buffers and wait for room mid-body.
        std::thread::sleep(Duration::from_millis(300));
        // Small reads, so the server's writes keep coming back partial.
        let mut r = std::io::BufReader::with_capacity(4096, stream);
        plan.into_iter()
            .map(|(path, enc, method, conditional)| {
                (
                    (path, enc, method, conditional),
                    read_response(&mut r, method == "HEAD"),
                )
            })
            .collect::<Vec<_>>()
    });
    for ((path, enc, method, conditional), (status, h, body)) in reader.await.unwrap() {
        let (want, etag) = &expected[&(path, enc)];
        let what = format!("{method} {path} ({enc}, conditional {conditional})");
        assert_eq!(h.get("etag"), Some(etag), "{what}");
        if conditional {
            assert_eq!(status, "HTTP/1.1 304 Not Modified", "{what}");
            continue;
        }
        assert_eq!(status, "HTTP/1.1 200 OK", "{what}");
        assert_eq!(h["content-length"], want.len().to_string(), "{what}");
        if method == "GET" {
            assert!(
                body == *want,
                "{what}: body differs ({} vs {} bytes)",
                body.len(),
                want.len()
            );
        }
    }
    assert!(server.stop());
}

// 6.
#[tokio::test]
async fn head_has_the_headers_of_get_and_no_body() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let mut paths = demo_feed_paths();
    paths.push("/feeds.opml".into());
    for path in paths {
        for enc in ["identity", "gzip", "br"] {
            let url = server.url(&path);
            let (status, gh, gbody) = get(&url, &[("Accept-Encoding", enc)]).await;
            assert_eq!(status, 200);
            let resp = client()
                .head(&url)
                .header("Accept-Encoding", enc)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200, "HEAD {path}");
            let hh = resp.headers().clone();
            let hbody = resp.bytes().await.unwrap();
            assert!(hbody.is_empty(), "HEAD {path} has no body");
            for name in [
                "content-type",
                "etag",
                "last-modified",
                "cache-control",
                "vary",
                "access-control-allow-origin",
                "content-encoding",
                "content-length",
            ] {
                assert_eq!(
                    header(&hh, name),
                    header(&gh, name),
                    "HEAD {path} ({enc}): {name}"
                );
            }
            assert_eq!(
                header(&hh, "content-length"),
                gbody.len().to_string(),
                "HEAD {path} ({enc}): Content-Length is the GET body length"
            );
        }
    }
    assert!(server.stop());
}

// 7.
#[tokio::test]
async fn errors_are_problem_json_and_preflight_allows_cors() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for path in ["/nope", "/feeds/nope.rss", "/feeds/all.xml", "/feeds/"] {
        let (status, h, body) = get(&server.url(path), &[]).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(header(&h, "content-type"), "application/problem+json");
        let p = json_doc(&body);
        assert_eq!(p["status"], 404, "{path}: {p}");
        assert!(p["title"].is_string());
    }
    for path in ["/feeds/all.rss", "/feeds/breaking.atom", "/feeds/tech.json"] {
        for method in [
            reqwest::Method::POST,
            reqwest::Method::DELETE,
            reqwest::Method::PUT,
        ] {
            let resp = client()
                .request(method.clone(), server.url(path))
                .body("x")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
            let h = resp.headers().clone();
            assert_eq!(header(&h, "content-type"), "application/problem+json");
            let allow = header(&h, "allow");
            assert!(
                allow.contains("GET") && allow.contains("HEAD"),
                "{method} {path}: Allow {allow:?}"
            );
            assert!(!allow.contains("POST"));
            let p = json_doc(&resp.bytes().await.unwrap());
            assert_eq!(p["status"], 405);
        }

        let resp = client()
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("Origin", "https://reader.example")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "if-none-match")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204, "OPTIONS {path}");
        let h = resp.headers().clone();
        assert_eq!(header(&h, "access-control-allow-origin"), "*");
        let methods = header(&h, "access-control-allow-methods");
        assert!(methods.contains("GET"), "{methods:?}");
        let allowed = header(&h, "access-control-allow-headers").to_lowercase();
        assert!(allowed.contains("if-none-match"), "{allowed:?}");
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    // The site still answers normally afterwards.
    get_ok(&server, "/feeds/all.rss").await;
    assert!(server.stop());
}

/// Waits until every path in `expect` has an ETag other than in `before`, then a
/// little longer, and returns the new ETags of all feeds.
async fn wait_for_change(
    server: &Server,
    before: &BTreeMap<String, String>,
    expect: &[String],
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = etags(server).await;
        if expect.iter().all(|p| now[p] != before[p]) {
            // Let any (wrong) extra re-render land before the caller compares.
            tokio::time::sleep(Duration::from_millis(700)).await;
            return etags(server).await;
        }
        if Instant::now() > deadline {
            let changed: Vec<_> = now.keys().filter(|p| now[*p] != before[*p]).collect();
            panic!(
                "within 5 s expected {expect:?} to change; changed: {changed:?}\nlog:\n{}",
                server.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn feeds_of(slugs: &[&str]) -> Vec<String> {
    slugs
        .iter()
        .flat_map(|s| ["rss", "atom", "json"].map(|e| format!("/feeds/{s}.{e}")))
        .collect()
}

fn assert_changed_exactly(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    changed: &[&str],
) {
    for (path, tag) in before {
        let slug = path
            .trim_start_matches("/feeds/")
            .split('.')
            .next()
            .unwrap();
        if changed.contains(&slug) {
            assert_ne!(&after[path], tag, "{path} should have changed");
        } else {
            assert_eq!(&after[path], tag, "{path} should not have changed");
        }
    }
}

// 8.
#[tokio::test]
async fn a_file_edit_changes_exactly_the_affected_feeds() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let before = etags(&server).await;

    // A corrected headline of a world article.
    let file = site.path("articles/us-winter-storm-new-system.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let old = "title = \"New winter storm hits the United States\"";
    assert!(text.contains(old));
    std::fs::write(
        &file,
        text.replace(
            old,
            "title = \"New winter storm sweeps across the United States\"",
        ),
    )
    .unwrap();
    let changed = ["world", "all"];
    let after = wait_for_change(&server, &before, &feeds_of(&changed)).await;
    assert_changed_exactly(&before, &after, &changed);
    let world = rss_doc(&get_ok(&server, "/feeds/world.rss").await);
    let item = world
        .items()
        .iter()
        .find(|i| i.title() == Some("New winter storm sweeps across the United States"))
        .expect("the corrected title");
    // Same id: a corrected headline is the same item.
    assert_eq!(
        item.guid().unwrap().value(),
        format!("{TAG}article/us-winter-storm-new-system")
    );
    assert_eq!(world.items().len(), rss_ids(&world).len());

    // A new sports item on top of the ticker.
    let before = after;
    let ids_before = rss_ids(&rss_doc(&get_ok(&server, "/feeds/breaking.rss").await));
    let file = site.path(TICKER_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let first = text.find("\n17:00 ").expect("the 17:00 line") + 1;
    let mut edited = text.clone();
    edited.insert_str(first, "17:30 New item | category=sports\n");
    std::fs::write(&file, edited).unwrap();
    let changed = ["breaking", "sports", "all"];
    let after = wait_for_change(&server, &before, &feeds_of(&changed)).await;
    assert_changed_exactly(&before, &after, &changed);
    let ids_after = rss_ids(&rss_doc(&get_ok(&server, "/feeds/breaking.rss").await));
    let new_id = format!("{TAG}breaking/2026-02-01/1730");
    assert_eq!(ids_after.first(), Some(&new_id), "the new item is first");
    assert_eq!(&ids_after[1..], &ids_before[..], "older ids are unchanged");
    let sports = json_doc(&get_ok(&server, "/feeds/sports.json").await);
    let it = json_items(&sports)
        .iter()
        .find(|i| i["id"] == new_id.as_str())
        .expect("the new item in sports");
    assert_eq!(it["date_published"], "2026-02-01T17:30:00+01:00");
    assert!(server.stop());
}

/// Breaks the demo content in three ways; returns the ticker's bad line number.
fn break_content(site: &SiteDir) -> usize {
    // 1. Front matter that is not TOML (an unterminated string), on line 2.
    let file = site.path(SALT_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let title_line = format!("title = \"{SALT}\"");
    assert!(text.lines().nth(1) == Some(title_line.as_str()));
    std::fs::write(
        &file,
        text.replace(&title_line, "title = \"Salt Typhoon, corrected"),
    )
    .unwrap();
    // 2. A new article in a category the site does not have (line 4).
    std::fs::write(
        site.path("articles/bad-category.md"),
        "+++\ntitle = \"Rain expected\"\ndate = \"2026-02-01 12:00\"\ncategory = \"weather\"\nauthor = \"Desk\"\nsummary = \"Rain.\"\n+++\nRain is expected.\n",
    )
    .unwrap();
    // 3. A ticker line without a time, above the first item.
    let file = site.path(TICKER_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("17:00 ")).unwrap();
    lines.insert(at, "Breaking: a line someone pasted without its time");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    at + 1
}

// 9.
#[tokio::test]
async fn bad_content_is_reported_and_never_takes_the_server_down() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let (_, _, h) = get(&server.url("/healthz"), &[]).await;
    assert_eq!(health_problems(&h), 0);
    let tech_before = rss_doc(&get_ok(&server, "/feeds/tech.rss").await);
    let salt_before = tech_before
        .items()
        .iter()
        .find(|i| i.title() == Some(SALT))
        .expect("Salt Typhoon in tech")
        .clone();
    let breaking_before = rss_ids(&rss_doc(&get_ok(&server, "/feeds/breaking.rss").await));

    let ticker_line = break_content(&site);

    let problems = eventually(Duration::from_secs(5), || async {
        let (status, _, body) = get(&server.url("/healthz"), &[]).await;
        (status == 200 && health_problems(&body) >= 3).then(|| health_problems(&body))
    })
    .await;
    assert!(
        problems.is_some(),
        "healthz reports the problems; log:\n{}",
        server.log_text()
    );
    // Give the renderer a moment after the sync that found the problems.
    tokio::time::sleep(Duration::from_millis(700)).await;

    // Still serving everything.
    for path in every_document_path() {
        get_ok(&server, &path).await;
    }
    // The broken article keeps its last good version.
    let tech = rss_doc(&get_ok(&server, "/feeds/tech.rss").await);
    let salt = tech
        .items()
        .iter()
        .find(|i| i.guid() == salt_before.guid())
        .expect("the broken article is not withdrawn");
    assert_eq!(salt.title(), Some(SALT));
    assert_eq!(salt.content(), salt_before.content());
    let all = String::from_utf8(get_ok(&server, "/feeds/all.json").await).unwrap();
    assert!(!all.contains("Salt Typhoon, corrected"));
    // The article with an unknown category is not published anywhere.
    for path in demo_feed_paths() {
        let text = String::from_utf8(get_ok(&server, &path).await).unwrap();
        assert!(!text.contains("Rain expected"), "{path}");
        assert!(!text.contains("pasted without its time"), "{path}");
    }
    // The ticker keeps its items.
    let breaking_after = rss_ids(&rss_doc(&get_ok(&server, "/feeds/breaking.rss").await));
    assert_eq!(breaking_after, breaking_before);

    let log = server.log_text();
    assert!(
        log.contains("salt-typhoon-telecom-metadata-theft.md:2:"),
        "front matter problem at line 2; log:\n{log}"
    );
    assert!(
        log.contains("bad-category.md:4:") && log.contains("weather"),
        "unknown category at line 4; log:\n{log}"
    );
    assert!(
        log.contains(&format!("2026-02-01.txt:{ticker_line}:")),
        "ticker line {ticker_line} without a time; log:\n{log}"
    );
    assert!(server.stop(), "still shuts down cleanly");

    // A brand-new server on the same broken content (and a fresh store) starts and
    // serves the rest.
    let fresh_data = tempfile::tempdir().unwrap();
    let server = Server::start_with(site.config(), fresh_data.path(), &[], &[]);
    for path in every_document_path() {
        get_ok(&server, &path).await;
    }
    let (_, _, h) = get(&server.url("/healthz"), &[]).await;
    assert!(health_problems(&h) >= 3, "{}", String::from_utf8_lossy(&h));
    let tech = rss_doc(&get_ok(&server, "/feeds/tech.rss").await);
    assert!(tech.items().iter().any(
        |i| i.guid().unwrap().value() == format!("{TAG}article/waymo-16-billion-funding-round")
    ));
    let breaking = rss_ids(&rss_doc(&get_ok(&server, "/feeds/breaking.rss").await));
    assert_eq!(
        breaking, breaking_before,
        "the ticker's good lines are served"
    );
    let log = server.log_text();
    assert!(
        has_file_line(&log, "salt-typhoon-telecom-metadata-theft.md"),
        "{log}"
    );
    assert!(has_file_line(&log, "bad-category.md"), "{log}");
    assert!(has_file_line(&log, "2026-02-01.txt"), "{log}");
    assert!(server.stop());
}

// 10.
#[tokio::test]
async fn opml_index_and_breaking_page_make_the_feeds_discoverable() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);

    let (status, h, opml) = get(&server.url("/feeds.opml"), &[]).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").contains("opml"), "{h:?}");
    let opml = String::from_utf8(opml).unwrap();
    assert!(opml.contains("<opml version=\"2.0\">"), "{opml}");
    assert!(opml.contains("<head>") && opml.contains("<body>"));
    for slug in SLUGS {
        let url = format!("xmlUrl=\"http://127.0.0.1:8080/feeds/{slug}.rss\"");
        assert_eq!(opml.matches(&url).count(), 1, "OPML lists {slug} once");
    }
    assert_eq!(opml.matches("<outline ").count(), SLUGS.len());

    let (status, h, index) = get(&server.url("/"), &[]).await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").starts_with("text/html"));
    let index = String::from_utf8(index).unwrap();
    // Readers that take the first autodiscovery link get everything.
    let first = index
        .lines()
        .find(|l| l.starts_with("<link rel=\"alternate\""))
        .unwrap();
    assert!(first.contains("/feeds/all.rss\""), "{first}");
    for slug in SLUGS {
        for (ext, mime) in [
            ("rss", "application/rss+xml"),
            ("atom", "application/atom+xml"),
            ("json", "application/feed+json"),
        ] {
            let href = format!("href=\"http://127.0.0.1:8080/feeds/{slug}.{ext}\"");
            let found = index.lines().any(|l| {
                l.starts_with(&format!("<link rel=\"alternate\" type=\"{mime}\""))
                    && l.contains(&href)
            });
            assert!(found, "index has a {mime} alternate link for {slug}");
        }
    }

    let page = String::from_utf8(get_ok(&server, "/feeds/breaking.html").await).unwrap();
    let json = json_doc(&get_ok(&server, "/feeds/breaking.json").await);
    // Items without a page of their own link to their day's ticker page
    // (`tests/ticker_days.rs`); the feed's page carries the same anchors.
    let prefix = "http://127.0.0.1:8080/breaking/";
    let mut anchored = 0;
    for it in json_items(&json) {
        let url = it["url"].as_str().expect("every ticker item has a url");
        if let Some((_, fragment)) = url.strip_prefix(prefix).and_then(|u| u.split_once('#')) {
            assert!(
                page.contains(&format!("id=\"{fragment}\"")),
                "breaking.html has the anchor {fragment}"
            );
            anchored += 1;
        }
    }
    // 29 ticker items, 5 of which link to their own articles.
    assert_eq!(anchored, 24);
    assert!(page.contains("id=\"b-2026-02-01-1700\""));
    assert!(page.contains("id=\"b-2026-02-01-1420-2\""));
    assert!(server.stop());
}

// 11.
#[tokio::test]
async fn slow_clients_are_cut_off_and_sigterm_exits_zero() {
    use std::io::Read as _;
    let site = SiteDir::demo();
    let config = std::fs::read_to_string(site.config()).unwrap();
    assert!(
        !config.lines().any(|l| l.trim() == "[server]"),
        "the demo config has no [server] table to redefine"
    );
    site.append_config("[server]\nheader_timeout = 1\n");
    let server = Server::start(&site, &[]);
    let addr = server.base.trim_start_matches("http://").to_owned();

    let started = Instant::now();
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let mut buf = [0u8; 1024];
    let outcome = silent.read(&mut buf);
    let waited = started.elapsed();
    match outcome {
        Ok(0) => {}
        // A reset also means the server hung up.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        // hyper may answer 408 before closing; then EOF follows.
        Ok(n) => {
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            assert!(
                head.starts_with("HTTP/1.1 408"),
                "unexpected bytes: {head:?}"
            );
            let mut rest = Vec::new();
            silent.read_to_end(&mut rest).expect("EOF after the 408");
        }
        Err(e) => panic!("silent connection not closed after {waited:?}: {e}"),
    }
    assert!(
        waited < Duration::from_secs(5),
        "closed after {waited:?}, header_timeout is 1 s"
    );
    assert!(
        waited >= Duration::from_millis(500),
        "closed too early ({waited:?})"
    );

    // A client that sends half a request head is cut off too.
    let started = Instant::now();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(&mut slow, b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "half a request head held the connection {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(!text.contains("<rss"), "no feed for an incomplete request");

    // The server still answers others.
    get_ok(&server, "/feeds/all.rss").await;
    assert!(server.stop(), "SIGTERM exits 0");
}

// A client that stops reading is cut off after send_timeout; one that keeps reading,
// however long the whole takes, is not. (Like nginx's send_timeout, the limit runs
// between two writes, and the kernel only asks for the next write once a third of
// the send buffer is free, so the steady reader reads at a few MB/s.)
#[tokio::test]
async fn clients_that_stop_reading_are_cut_off_and_slow_readers_are_not() {
    use std::io::Write as _;
    let site = SiteDir::demo();
    site.append_config("[server]\nsend_timeout = 2\n");
    let server = Server::start(&site, &[]);
    let one = get_ok(&server, "/feeds/all.rss").await.len();
    let addr = server.base.trim_start_matches("http://").to_owned();
    // 1,000 feeds in one write: 25 MB, far more than the socket buffers hold, and
    // more than the steady reader reads in 3 s.
    const N: usize = 1000;
    let requests = "GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n\r\n".repeat(N);
    let pipelined = move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(requests.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    let (stalled, reading) = tokio::task::spawn_blocking(move || {
        // Reads nothing for 5 s, then everything it can.
        let mut stalled = pipelined();
        std::thread::sleep(Duration::from_secs(5));
        let mut got = Vec::new();
        let outcome = stalled.read_to_end(&mut got).map_err(|e| e.kind());
        // Reads 64 KiB every 10 ms for 3 s, longer than the limit, then the rest.
        let mut reading = pipelined();
        let mut all = Vec::new();
        let mut seen = 0;
        let mut buf = vec![0; 64 * 1024];
        // Counts feeds in the new bytes only (and one across the seam): a debug build
        // scanning everything read so far would itself stop reading for seconds.
        let mut read = |all: &mut Vec<u8>, seen: &mut usize| {
            let n = reading.read(&mut buf).unwrap();
            assert!(n > 0, "slow reader cut off after {} bytes", all.len());
            let from = all.len().saturating_sub(5);
            all.extend_from_slice(&buf[..n]);
            *seen += all[from..].windows(6).filter(|w| w == b"</rss>").count();
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            read(&mut all, &mut seen);
            std::thread::sleep(Duration::from_millis(10));
        }
        let read_slowly = all.len();
        while seen < N {
            read(&mut all, &mut seen);
        }
        ((outcome, got.len()), (read_slowly, all))
    })
    .await
    .unwrap();
    match stalled {
        (Ok(_), n) => assert!(n < N * one, "the stalled client got all {n} bytes"),
        (Err(kind), _) => assert_eq!(kind, std::io::ErrorKind::ConnectionReset),
    }
    let (read_slowly, all) = reading;
    assert!(
        read_slowly > 1 << 20 && read_slowly < N * one,
        "the slow reader took {read_slowly} bytes in 3 s, out of {}",
        N * one
    );
    let text = String::from_utf8_lossy(&all);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), N);
    assert!(server.stop());
}

#[tokio::test]
async fn sigterm_with_an_idle_keep_alive_connection_still_exits_zero_quickly() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    // A reqwest client keeps its connection open after the response.
    let c = client();
    let resp = c.get(server.url("/feeds/all.rss")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let _ = resp.bytes().await.unwrap();
    let started = Instant::now();
    assert!(server.stop(), "SIGTERM exits 0");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "shutdown took {:?}",
        started.elapsed()
    );
    drop(c);
}

/// What syndication partners read: the site's copyright in every format, an
/// article's image as an enclosure with length and type and as Media RSS, and
/// ticker items without a description that repeats their headline.
#[tokio::test]
async fn partners_get_rights_media_and_no_repeated_headlines() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let copyright = "Copyright 2026 Newswire Demo";

    let rss = rss_doc(&get_ok(&server, "/feeds/all.rss").await);
    assert_eq!(rss.copyright(), Some(copyright));
    assert_eq!(
        rss.namespaces().get("media").map(String::as_str),
        Some("http://search.yahoo.com/mrss/")
    );
    let mut with_image = 0;
    for item in rss.items() {
        let id = item.guid().unwrap().value();
        if id.contains(":breaking/") {
            assert_eq!(
                item.description(),
                None,
                "{id}: a ticker item says its headline once"
            );
        }
        if let Some(enc) = item.enclosure() {
            with_image += 1;
            assert_eq!(enc.length(), "0", "{id}");
            assert_eq!(enc.mime_type(), "image/jpeg", "{id}");
            let media = &item.extensions()["media"];
            let content = &media["content"][0];
            assert_eq!(content.attrs()["url"], enc.url());
            assert_eq!(content.attrs()["medium"], "image");
            assert_eq!(content.attrs()["type"], "image/jpeg");
            assert_eq!(media["thumbnail"][0].attrs()["url"], enc.url());
        }
    }
    assert!(with_image >= 2, "the demo's articles with images");

    let atom = atom_doc(&get_ok(&server, "/feeds/all.atom").await);
    assert_eq!(atom.rights().map(|r| r.value.as_str()), Some(copyright));
    for entry in atom.entries() {
        if entry.id().contains(":breaking/") {
            assert!(
                entry.content().is_none(),
                "{}: no body repeating the title",
                entry.id()
            );
        }
        for link in entry.links().iter().filter(|l| l.rel() == "enclosure") {
            assert_eq!(link.length(), Some("0"), "{}", entry.id());
            assert_eq!(link.mime_type(), Some("image/jpeg"));
        }
    }

    let json = json_doc(&get_ok(&server, "/feeds/all.json").await);
    assert_eq!(json["_rights"]["copyright"], copyright);
    for item in json_items(&json) {
        if item["id"].as_str().unwrap().contains(":breaking/") {
            assert_eq!(
                item["content_text"], "",
                "JSON Feed needs a body; not the headline again"
            );
        }
    }
    assert!(server.stop());
}
