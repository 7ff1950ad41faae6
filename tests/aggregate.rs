//! Aggregation end to end: a local upstream serves feeds in every format and
//! encoding (and misbehaves on purpose); newswire polls them into a timeline,
//! served over HTTP. Asserted through the real interfaces: the served
//! documents, `/api/v1/sources`, `POST /api/v1/sources/{name}/fetch`,
//! `/healthz`, `/metrics`, the upstream's own request log, and the CLI.

mod common;
use common::upstream::Upstream;
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Every fixture source, with the name it gets.
const SOURCES: &[(&str, &str)] = &[
    ("agency", "/rss2.xml"),
    ("oldschool", "/rss091.xml"),
    ("ninetytwo", "/rss092.xml"),
    ("rdf", "/rdf.xml"),
    ("atom", "/atom10.xml"),
    ("atom03", "/atom03.xml"),
    ("json10", "/feed10.json"),
    ("json11", "/feed11.json"),
    ("undated", "/undated.xml"),
    ("partner", "/partner.xml"),
    ("laughs", "/billion-laughs.xml"),
    ("latin", "/cp1252.xml"),
    ("utf16", "/utf16.xml"),
    // Control characters in the feed's own title, dates out of range, a
    // refused link on an item without a body: check-feed below sees them.
    ("hostile", "/hostile.xml"),
];

/// Sources that misbehave.
const BAD: &[(&str, &str)] = &[
    ("moved", "/moved"),
    ("temp", "/temp"),
    ("gone", "/gone"),
    ("busy", "/busy"),
    ("flaky", "/flaky"),
    ("stall", "/stall"),
    ("big", "/big"),
];

fn config(up: &Upstream, interval: &str) -> String {
    let mut toml = format!(
        r#"
[fetch]
allow_private_networks = true
min_interval = "1s"
interval = "{interval}"
timeout = "2s"
connect_timeout = "1s"
retention = "3650d"
"#
    );
    for (name, path) in SOURCES.iter().chain(BAD) {
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nurl = \"{}\"\n",
            up.url(path)
        ));
        if *name == "agency" {
            toml.push_str("exclude = [\"sponsored\"]\ncategories = [\"world\"]\n");
        }
    }
    let names: Vec<String> = SOURCES
        .iter()
        .chain(BAD)
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    toml.push_str(&format!(
        "\n[[timelines]]\nname = \"wire\"\ntitle = \"The wire\"\ncategories = [\"world\"]\nsources = [{}]\nlimit = 200\n",
        names.join(", ")
    ));
    toml
}

/// The upstream, with the UTF-16 document served under a charset header that
/// says otherwise (the BOM wins).
fn upstream() -> Upstream {
    let up = Upstream::start();
    let utf16 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/upstream/utf16.xml"
    ))
    .unwrap();
    up.set("/utf16.xml", "application/atom+xml; charset=utf-8", utf16);
    up
}

async fn json(url: &str, headers: &[(&str, &str)]) -> Value {
    let (status, _, body) = get(url, headers).await;
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

async fn sources(server: &Server) -> Vec<Value> {
    let auth = format!("Bearer {TOKEN}");
    json(&server.url("/api/v1/sources"), &[("authorization", &auth)])
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// One source as `GET /api/v1/sources/{name}` shows it, its attempt log
/// included.
async fn source_detail(server: &Server, name: &str) -> Value {
    let auth = format!("Bearer {TOKEN}");
    let url = server.url(&format!("/api/v1/sources/{name}"));
    json(&url, &[("authorization", &auth)]).await
}

fn source<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter().find(|s| s["name"] == name).unwrap()
}

/// Waits until every listed source has been fetched once.
async fn fetched_once(server: &Server, names: &[&str]) -> Vec<Value> {
    eventually(Duration::from_secs(30), || async {
        let list = sources(server).await;
        names
            .iter()
            .all(|n| !source(&list, n)["last_fetch"].is_null())
            .then_some(list)
    })
    .await
    .unwrap_or_else(|| panic!("sources not fetched; log:\n{}", server.log_text()))
}

fn items(feed: &Value) -> Vec<Value> {
    feed["items"].as_array().unwrap().clone()
}

/// One string field of every item of a JSON Feed, sorted.
fn sorted(feed: &Value, field: &str) -> Vec<String> {
    let mut values: Vec<String> = items(feed)
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect();
    values.sort();
    values
}

fn by_title<'a>(items: &'a [Value], title: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| {
            panic!(
                "no item {title:?} in {:#?}",
                items.iter().map(|i| &i["title"]).collect::<Vec<_>>()
            )
        })
}

#[tokio::test]
async fn every_format_and_encoding_merges_into_one_sanitized_timeline() {
    let up = upstream();
    let site = SiteDir::demo();
    site.append_config(&config(&up, "1h"));
    let server = Server::start(&site, &[]);
    let names: Vec<&str> = SOURCES.iter().map(|(n, _)| *n).collect();
    fetched_once(&server, &names).await;
    // Each format and version.
    const TITLES: [&str; 13] = [
        "Rabat hosts the regional water summit",
        "Port of Tanger Med breaks its record",
        "Desert rally reaches Dakhla",
        "Minute-precision dates are valid W3C-DTF",
        "RFC 850 dates still circulate",
        "Relative links under xml:base",
        "An XHTML title",
        "An Atom 0.3 entry",
        "A JSON Feed 1.0 item",
        "A JSON Feed 1.1 item",
        "An undated item keeps the date it was first seen",
        "Caf\u{e9} \u{201c}quoted\u{201d} \u{2013} dash",
        "\u{dc}n\u{ef}c\u{f6}d\u{e9} in UTF-16 \u{2014} ok",
    ];
    // The renderer follows the writes shortly after they commit.
    let wire = eventually(Duration::from_secs(10), || async {
        let wire = json(&server.url("/timelines/wire.json"), &[]).await;
        let all = items(&wire);
        TITLES
            .iter()
            .all(|t| all.iter().any(|i| i["title"] == *t))
            .then_some(wire)
    })
    .await;
    let wire = match wire {
        Some(wire) => wire,
        None => json(&server.url("/timelines/wire.json"), &[]).await,
    };
    let all = items(&wire);
    for title in TITLES {
        by_title(&all, title);
    }
    // Filters: the agency's sponsored item is excluded.
    assert!(
        !all.iter()
            .any(|i| i["title"].as_str().unwrap().starts_with("Sponsored"))
    );

    // Dates feed-rs alone drops, in the site's zone (Africa/Casablanca, +01:00).
    assert_eq!(
        by_title(&all, "Minute-precision dates are valid W3C-DTF")["date_published"],
        "2026-11-18T22:54:00+01:00"
    );
    assert_eq!(
        by_title(&all, "RFC 850 dates still circulate")["date_published"],
        "2026-11-19T15:46:44+01:00"
    );

    // Relative URLs under xml:base are absolute.
    let rel = by_title(&all, "Relative links under xml:base");
    assert_eq!(rel["url"], "https://atom.example/news/2026/relative-links");
    let html = rel["content_html"].as_str().unwrap();
    assert!(
        html.contains("href=\"https://atom.example/about\""),
        "{html}"
    );

    // Hostile payloads are gone, relative images made absolute.
    let summit = by_title(&all, "Rabat hosts the regional water summit");
    let body = summit["content_html"].as_str().unwrap();
    for bad in [
        "<script",
        "alert",
        "onerror",
        "javascript:",
        "<iframe",
        "style=",
    ] {
        assert!(!body.contains(bad), "{bad} in {body}");
    }
    // RSS has no xml:base: a relative URL in a description resolves against
    // the document's URL (RFC 3986), not the item's link.
    assert!(
        body.contains(&format!("src=\"{}\"", up.url("/img/summit.jpg"))),
        "{body}"
    );
    // The agency's source credits it, and the partner's copy of the same story
    // (same canonical link) is merged into it, crediting the partner too.
    assert_eq!(summit["_source"]["title"], "Agency Wire");
    assert_eq!(summit["_source"]["feed_url"], up.url("/rss2.xml"));
    assert_eq!(
        summit["_source"]["also"][0]["feed_url"],
        up.url("/partner.xml")
    );
    let copies = all
        .iter()
        .filter(|i| {
            i["title"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("water summit")
        })
        .count();
    assert_eq!(copies, 1, "the same story from two sources shows once");
    // The same title within 48 hours, from another source and link: once too.
    let markets = all
        .iter()
        .filter(|i| {
            i["title"]
                .as_str()
                .unwrap()
                .starts_with("Markets close higher")
        })
        .count();
    assert_eq!(markets, 1);

    // The billion-laughs document expanded nothing.
    let laugh = all
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Laugh"));
    if let Some(laugh) = laugh {
        let t = laugh["title"].as_str().unwrap();
        assert!(
            t.len() < 100 && !t.contains("lollol") && !t.contains("root:"),
            "{t}"
        );
    }

    // Ids are ours and stable; the agency's items also reach the world category.
    let world = json(&server.url("/feeds/world.json"), &[]).await;
    assert!(items(&world).iter().any(|i| i["id"] == summit["id"]));
    assert!(summit["id"].as_str().unwrap().starts_with("tag:"));

    // Atom and RSS carry the credit as <source>.
    let (_, _, atom) = get(&server.url("/timelines/wire.atom"), &[]).await;
    let atom = String::from_utf8(atom).unwrap();
    assert!(
        atom.contains("<source>") && atom.contains("<title>Agency Wire</title>"),
        "{atom}"
    );
    assert!(
        atom.contains(&format!("rel=\"via\" href=\"{}\"", up.url("/partner.xml")))
            || atom.contains(&format!("href=\"{}\" rel=\"via\"", up.url("/partner.xml")))
    );
    let (_, _, rss) = get(&server.url("/timelines/wire.rss"), &[]).await;
    let rss = String::from_utf8(rss).unwrap();
    assert!(
        rss.contains(&format!(
            "<source url=\"{}\">Agency Wire</source>",
            up.url("/rss2.xml")
        )),
        "{rss}"
    );

    // The undated item keeps its first-seen date across polls.
    let undated =
        by_title(&all, "An undated item keeps the date it was first seen")["date_published"]
            .clone();
    // Whole seconds: a fraction with an offset is misread by some readers.
    assert!(!undated.as_str().unwrap().contains('.'), "{undated}");
    up.set(
        "/undated.xml",
        "application/rss+xml",
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/upstream/undated.xml"
        ))
        .unwrap()
        .replace("Another undated item", "Another undated item, reworded"),
    );
    let (status, report) = fetch_now(&server, "undated").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcome"], "fetched");
    let again = eventually(Duration::from_secs(10), || async {
        let wire = json(&server.url("/timelines/wire.json"), &[]).await;
        let all = items(&wire);
        all.iter()
            .any(|i| i["title"] == "Another undated item, reworded")
            .then_some(all)
    })
    .await
    .expect("the reworded item is served");
    assert_eq!(
        by_title(&again, "An undated item keeps the date it was first seen")["date_published"],
        undated
    );
    // Reworded under the same link, it is the same item (no guid: the link is its id).
    assert!(!again.iter().any(|i| i["title"] == "Another undated item"));

    // check-feed on every timeline document, where the tool is present.
    check_feed(&server, &["/timelines/wire"]).await;
}

#[tokio::test]
async fn misbehaving_upstreams_are_contained_and_reported() {
    let up = upstream();
    let site = SiteDir::demo();
    site.append_config(&config(&up, "1h"));
    let server = Server::start(&site, &[]);
    let names: Vec<&str> = BAD.iter().chain(SOURCES).map(|(n, _)| *n).collect();

    // While the stalled source hangs, the service answers at once.
    let healthz = server.url("/healthz");
    let started = Instant::now();
    let (status, _, _) = get(&healthz, &[]).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    let list = fetched_once(&server, &names).await;
    let started = Instant::now();
    let (status, _, _) = get(&healthz, &[]).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    // 301: the stored URL follows; 302: it does not.
    assert_eq!(source(&list, "moved")["url"], up.url("/rss092.xml"));
    assert_eq!(source(&list, "moved")["status"], "ok");
    assert_eq!(source(&list, "temp")["url"], up.url("/temp"));
    assert_eq!(source(&list, "temp")["status"], "ok");
    // 410 stops the source.
    assert_eq!(source(&list, "gone")["status"], "gone");
    assert_eq!(source(&list, "gone")["http_status"], 410);
    // 429 with Retry-After: an hour, for this source only.
    let busy = source(&list, "busy");
    assert_eq!(busy["http_status"], 429);
    let next = chrono::DateTime::parse_from_rfc3339(busy["next_fetch"].as_str().unwrap()).unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(55),
        "{busy}"
    );
    // The stall times out, the 50 MiB body is cut at the limit: failures, with why.
    let stall = source(&list, "stall");
    assert_eq!(stall["status"], "failing", "{stall}");
    assert!(
        stall["error"].as_str().unwrap().contains("within"),
        "{stall}"
    );
    let big = source(&list, "big");
    assert_eq!(big["status"], "failing", "{big}");
    assert!(big["error"].as_str().unwrap().contains("limit"), "{big}");
    // 500, then recovery on the next fetch.
    let flaky = source(&list, "flaky");
    assert_eq!(
        (flaky["status"].as_str(), flaky["http_status"].as_u64()),
        (Some("failing"), Some(500)),
        "{flaky}"
    );
    let (status, report) = fetch_now(&server, "flaky").await;
    assert_eq!(status, 200);
    assert_eq!(report["outcome"], "fetched", "{report}");
    assert_eq!(source(&sources(&server).await, "flaky")["status"], "ok");
    // Its attempt log: the fetch that worked, then the failures, newest first.
    let detail = source_detail(&server, "flaky").await;
    assert_eq!(detail["name"], "flaky");
    assert_eq!(detail["status"], "ok");
    let attempts = detail["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{detail}");
    assert_eq!(attempts[0]["outcome"], "fetched", "{detail}");
    assert_eq!(attempts[0]["status"], 200);
    assert!(attempts[0]["bytes"].as_u64().unwrap() > 0);
    assert!(attempts[0]["millis"].is_u64() && attempts[0]["at"].is_string());
    assert_eq!(attempts[1]["outcome"], "failed", "{detail}");
    assert_eq!(attempts[1]["status"], 500);
    assert!(attempts[1]["error"].is_string(), "{detail}");
    let resp = client()
        .get(server.url("/api/v1/sources/nope"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    // One failing source never affects the others: the good ones are served.
    let wire = json(&server.url("/timelines/wire.json"), &[]).await;
    assert!(items(&wire).len() > 10);

    // A second poll sends the stored ETag, and the upstream answers 304.
    let (status, report) = fetch_now(&server, "agency").await;
    assert_eq!(status, 200);
    assert_eq!(report["outcome"], "not_modified", "{report}");
    // The 304 is kept by the attempt log, not by a line of the log at the
    // default level: a line per poll that found nothing new would be most
    // of it.
    let detail = source_detail(&server, "agency").await;
    assert_eq!(detail["attempts"][0]["outcome"], "not_modified", "{detail}");
    let log = server.log_text();
    assert!(
        log.contains(r#"source="agency" outcome="fetched""#),
        "{log}"
    );
    assert!(!log.contains(r#"outcome="not_modified""#), "{log}");
    let seen = up.requests("/rss2.xml");
    assert!(seen.len() >= 2);
    assert!(seen[0].if_none_match.is_none());
    assert!(seen.last().unwrap().if_none_match.is_some(), "{seen:?}");
    assert!(
        seen[0].user_agent.starts_with("newswire/")
            && seen[0].user_agent.contains("news.example.com"),
        "{seen:?}"
    );

    // Unknown source: 404; no token: 401.
    let (status, _) = fetch_now(&server, "nope").await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&server.url("/api/v1/sources"), &[]).await;
    assert_eq!(status, 401);

    // Fetch metrics.
    let (_, _, metrics) = get(&server.url("/metrics"), &[]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    for want in [
        "newswire_fetches_total{outcome=\"not_modified\"}",
        "newswire_fetches_total{outcome=\"failed\"}",
        "newswire_fetch_bytes_total",
        "newswire_source_up{source=\"stall\"} 0",
        "newswire_source_up{source=\"agency\"} 1",
        "newswire_source_failures{source=\"agency\"} 0",
        "newswire_source_failures{source=\"flaky\"} 0",
    ] {
        assert!(metrics.contains(want), "{want} in\n{metrics}");
    }
    // Per source: its items, as the API counts them, and when it last worked.
    let list = sources(&server).await;
    let agency_items = source(&list, "agency")["items"].as_u64().unwrap();
    assert!(agency_items > 0);
    let series = format!("newswire_source_items{{source=\"agency\"}} {agency_items}");
    assert!(metrics.contains(&series), "{series} in\n{metrics}");
    let last: i64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("newswire_source_last_success_timestamp_seconds{source=\"agency\"} ")
        })
        .expect("agency's last success")
        .parse()
        .unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - last).abs() < 120,
        "{last}"
    );
    assert!(
        !metrics.contains("newswire_source_last_success_timestamp_seconds{source=\"stall\"}"),
        "a source that never worked has no last success"
    );
    assert!(
        server.stop(),
        "clean shutdown with a stalled fetch in flight"
    );
}

/// A site of one source (its own lines after its url: `more`), polled
/// hourly and kept for ten years, and the timeline `wire` of it alone.
fn wire_of_one(name: &str, url: &str, more: &str) -> String {
    format!(
        r#"
[fetch]
allow_private_networks = true
min_interval = "1s"
interval = "1h"
timeout = "2s"
retention = "3650d"

[[sources]]
name = "{name}"
url = "{url}"
{more}
[[timelines]]
name = "wire"
title = "The wire"
sources = ["{name}"]
"#
    )
}

#[tokio::test]
async fn ids_survive_restarts_and_guid_churn() {
    let up = upstream();
    let site = SiteDir::demo();
    // Only the churning source: its guid changes on every poll, its link not.
    site.append_config(&wire_of_one("churn", &up.url("/churn.xml"), ""));
    let churn = |n: u32| {
        format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Churn</title><link>https://churn.example/</link><description>d</description>
<item><title>Stable story</title><link>https://churn.example/story</link><guid>guid-{n}</guid><pubDate>Sat, 28 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title>Second story</title><link>https://churn.example/second</link><guid>second-{n}</guid><pubDate>Sat, 28 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"#
        )
    };
    up.set("/churn.xml", "application/rss+xml", churn(1));
    let server = Server::start(&site, &[]);
    fetched_once(&server, &["churn"]).await;
    let ids = |wire: Value| sorted(&wire, "id");
    let first = eventually(Duration::from_secs(10), || async {
        let ids = ids(json(&server.url("/timelines/wire.json"), &[]).await);
        (ids.len() == 2).then_some(ids)
    })
    .await
    .expect("two items");
    for n in 2..=3 {
        up.set("/churn.xml", "application/rss+xml", churn(n));
        let (status, report) = fetch_now(&server, "churn").await;
        assert_eq!(
            (status, report["outcome"].as_str()),
            (200, Some("fetched")),
            "{report}"
        );
        assert_eq!(
            report["created"], 0,
            "new guids on the same links are the same items: {report}"
        );
    }
    assert_eq!(
        ids(json(&server.url("/timelines/wire.json"), &[]).await),
        first
    );
    assert!(server.stop());
    // After a restart (a fresh process with no memory), the next poll too.
    up.set("/churn.xml", "application/rss+xml", churn(4));
    let server = Server::start(&site, &[]);
    let (status, report) = fetch_now(&server, "churn").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 0, "{report}");
    assert_eq!(
        ids(json(&server.url("/timelines/wire.json"), &[]).await),
        first
    );
}

/// A source's first document stays whole whatever `max_items` says (what a
/// source carries stays); once a later document leaves entries out, those
/// go past `max_items`, the newest of them staying. A new source's first
/// poll skips the marking and pruning that could change nothing there: its
/// rows come out of their write marked, and the second poll's pruning reads
/// those marks.
#[tokio::test]
async fn a_first_document_stays_whole_and_a_later_one_lets_go_past_max_items() {
    let up = upstream();
    let site = SiteDir::demo();
    site.append_config(&wire_of_one(
        "short",
        &up.url("/short.xml"),
        "max_items = 2\n",
    ));
    let doc = |entries: &[(&str, &str, u32)]| {
        let items: String = entries
            .iter()
            .map(|(key, title, hour)| {
                format!(
                    "<item><title>{title}</title><link>https://short.example/{key}</link><guid>{key}</guid><pubDate>Sat, 28 Nov 2026 {hour:02}:00:00 GMT</pubDate></item>"
                )
            })
            .collect();
        format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Short</title><link>https://short.example/</link><description>d</description>{items}</channel></rss>"#
        )
        .into_bytes()
    };
    up.set(
        "/short.xml",
        "application/rss+xml",
        doc(&[
            ("a", "Harbour reopens after the storm", 10),
            ("b", "Council votes on the water budget", 9),
            ("c", "Museum lends its maps to the archive", 8),
        ]),
    );
    let server = Server::start(&site, &[]);
    fetched_once(&server, &["short"]).await;
    let titles = |wire: Value| sorted(&wire, "title");
    let shown = |want: Vec<&'static str>| {
        let server = &server;
        async move {
            eventually(Duration::from_secs(10), || async {
                let now = titles(json(&server.url("/timelines/wire.json"), &[]).await);
                (now == want).then_some(())
            })
            .await
            .unwrap_or_else(|| panic!("never {want:?}; log:\n{}", server.log_text()))
        }
    };
    shown(vec![
        "Council votes on the water budget",
        "Harbour reopens after the storm",
        "Museum lends its maps to the archive",
    ])
    .await;
    up.set(
        "/short.xml",
        "application/rss+xml",
        doc(&[("d", "Ferry timetable changes for winter", 11)]),
    );
    let (status, report) = fetch_now(&server, "short").await;
    assert_eq!(
        (status, &report["created"]),
        (200, &Value::from(1)),
        "{report}"
    );
    // Room for one of the three left out: the newest.
    shown(vec![
        "Ferry timetable changes for winter",
        "Harbour reopens after the storm",
    ])
    .await;
}

/// `newswire fetch ARGS --config … --data …` on a site: (exit code, stdout, stderr).
fn fetch_command(site: &SiteDir, args: &[&str]) -> (Option<i32>, String, String) {
    let (config, data) = (site.config(), site.data());
    let mut all = vec!["fetch"];
    all.extend(args);
    all.extend([
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    run_cli(&all)
}

#[tokio::test]
async fn the_fetch_command_prints_a_summary_and_fails_on_failures() {
    let up = upstream();
    let site = SiteDir::demo();
    site.append_config(&config(&up, "1h"));
    let (code, stdout, _) = fetch_command(&site, &["--once"]);
    assert_eq!(code, Some(1), "failures make exit 1:\n{stdout}");
    assert!(
        stdout.lines().next().unwrap().starts_with("source"),
        "{stdout}"
    );
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in\n{stdout}"))
            .to_owned()
    };
    assert!(row("agency").contains("fetched"), "{stdout}");
    assert!(row("gone").contains("gone"), "{stdout}");
    assert!(row("stall").contains("failed"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} sources, ", SOURCES.len() + BAD.len())),
        "{stdout}"
    );
    // One source, again: its ETag makes it a 304, exit 0.
    let (code, stdout, _) = fetch_command(&site, &["agency"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("not_modified"), "{stdout}");
    // An unknown source is an error naming the known ones.
    let (code, _, stderr) = fetch_command(&site, &["nope"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("agency"), "{stderr}");
}

/// `examples/merge.rs`, as the README runs it: two feeds carrying one story
/// give one line crediting both.
#[test]
fn the_merge_example_merges_two_feeds() {
    let example = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("examples/merge"))
        .unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upstream");
    let out = std::process::Command::new(&example)
        .arg(format!("{fixtures}/rss2.xml"))
        .arg(format!("{fixtures}/partner.xml"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo test builds the examples)",
                example.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summit: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("water summit"))
        .collect();
    assert_eq!(summit.len(), 1, "{stdout}");
    assert!(
        summit[0].contains("Agency Wire + Partner Daily"),
        "{stdout}"
    );
    // 4 entries, 2 of them copies; the sponsored one stays (no filter here).
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

/// `fetch.opml`: every outline with an `xmlUrl` becomes a source, named by the
/// slug of its text, and is polled like a `[[sources]]` entry.
#[tokio::test]
async fn sources_from_an_opml_file() {
    let up = upstream();
    let site = SiteDir::demo();
    std::fs::write(
        site.path("partners.opml"),
        format!(
            r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>Partners</title></head><body>
  <outline text="Wires">
    <outline text="Agency Wire" type="rss" xmlUrl="{}"/>
    <outline text="Agency Wire" type="rss" xmlUrl="{}"/>
  </outline>
</body></opml>"#,
            up.url("/rss2.xml"),
            up.url("/feed11.json")
        ),
    )
    .unwrap();
    site.append_config(
        "[fetch]\nallow_private_networks = true\nopml = \"partners.opml\"\nretention = \"3650d\"\n\n[[timelines]]\nname = \"wire\"\ntitle = \"The wire\"\nsources = [\"agency-wire\", \"agency-wire-2\"]\n",
    );
    let server = Server::start(&site, &[]);
    let list = fetched_once(&server, &["agency-wire", "agency-wire-2"]).await;
    assert_eq!(source(&list, "agency-wire")["url"], up.url("/rss2.xml"));
    assert_eq!(source(&list, "agency-wire-2")["status"], "ok");
    let wire = eventually(Duration::from_secs(10), || async {
        let wire = json(&server.url("/timelines/wire.json"), &[]).await;
        (items(&wire).len() >= 4).then_some(wire)
    })
    .await
    .expect("both sources in the timeline");
    by_title(&items(&wire), "A JSON Feed 1.1 item");
}

/// A source whose URL changes in the config file is fetched at its new URL
/// from the next start on, as a new one (no validators of the old), and one
/// left alone is not started again.
#[tokio::test]
async fn a_source_whose_configured_url_changes_is_fetched_there() {
    let up = Upstream::start();
    let rss = |title: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title>\
             <link>http://example.com/</link><description>d</description><item>\
             <title>{title} story</title><link>http://example.com/{title}</link>\
             <guid>http://example.com/{title}</guid>\
             <pubDate>Sat, 05 Dec 2026 10:00:00 GMT</pubDate></item></channel></rss>"
        )
    };
    up.set("/old.xml", "application/rss+xml", rss("old"));
    up.set("/new.xml", "application/rss+xml", rss("new"));
    up.set("/still.xml", "application/rss+xml", rss("still"));
    let site = SiteDir::demo();
    let sources = |moving: &str| {
        format!(
            "[fetch]\nallow_private_networks = true\n\n\
             [[sources]]\nname = \"moving\"\nurl = \"{}\"\n\n\
             [[sources]]\nname = \"staying\"\nurl = \"{}\"\n",
            up.url(moving),
            up.url("/still.xml")
        )
    };
    let base = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(site.config(), format!("{base}\n{}", sources("/old.xml"))).unwrap();
    let (code, stdout, _) = fetch_command(&site, &["--once"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(up.requests("/old.xml").len(), 1);
    std::fs::write(site.config(), format!("{base}\n{}", sources("/new.xml"))).unwrap();
    let (code, stdout, _) = fetch_command(&site, &["--once"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(up.requests("/old.xml").len(), 1, "the old URL is left");
    let new = up.requests("/new.xml");
    assert_eq!(new.len(), 1, "the new URL is fetched:\n{stdout}");
    assert_eq!(new[0].if_none_match, None, "with no validator of the old");
    let row = |name: &str| {
        (stdout.lines())
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in\n{stdout}"))
            .to_owned()
    };
    assert!(
        row("moving").contains("fetched"),
        "a new source's first fetch:\n{stdout}"
    );
    // The one whose URL stayed kept its validators: a 304.
    assert!(row("staying").contains("not_modified"), "{stdout}");
}
