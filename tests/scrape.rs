//! Scraping end to end: a small news site of our own (`tests/fixtures/site/`,
//! shaped like the seed page: a ticker, article pages wrapped in noise, a
//! French edition in ISO-8859-1) served from 127.0.0.1, read by `[[scrapes]]`
//! selectors into the site's feeds. Asserted through the served documents,
//! `/api/v1/sources`, `POST /api/v1/sources/{name}/fetch`, `/metrics`, the
//! site's own request log, and the CLI (`fetch`, `scrape --dry-run`).

mod common;
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use common::upstream::Upstream;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const SITE_TZ: chrono_tz::Tz = chrono_tz::Africa::Casablanca;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/site/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The ticker's three times, relative to now so that the list always
/// crosses a day boundary: 5 minutes ago, 65 minutes ago, and a time still
/// to come today, which a list read newest first can only mean yesterday.
struct Times {
    clocks: [String; 3],
    /// When each really was, to the minute.
    at: [DateTime<Utc>; 3],
}

fn times(now: DateTime<Utc>) -> Times {
    let at = [
        now - Span::minutes(5),
        now - Span::minutes(65),
        now + Span::minutes(30) - Span::days(1),
    ]
    .map(|t| t.with_second(0).unwrap().with_nanosecond(0).unwrap());
    Times {
        clocks: at.map(|t| t.with_timezone(&SITE_TZ).format("%H:%M").to_string()),
        at,
    }
}

fn list_page(t: &Times) -> Vec<u8> {
    let mut page = String::from_utf8(fixture("index.html")).unwrap();
    for (i, clock) in t.clocks.iter().enumerate() {
        page = page.replace(&format!("{{T{i}}}"), clock);
    }
    page.into_bytes()
}

const HTML: &str = "text/html; charset=utf-8";

fn site(t: &Times) -> Upstream {
    let up = Upstream::start();
    up.set("/", HTML, list_page(t));
    up.set("/news/sudan.html", HTML, fixture("news/sudan.html"));
    up.set("/news/venezuela.html", HTML, fixture("news/venezuela.html"));
    // No charset in the header: the page's <meta> says ISO-8859-1.
    up.set("/fr/", "text/html", fixture("fr/index.html"));
    up.set("/fr/tramway.html", "text/html", fixture("fr/tramway.html"));
    up
}

/// The fetch policy for a local site, and `tests/fixtures/site/scrapes.toml`.
fn config(up: &Upstream) -> String {
    let scrapes = String::from_utf8(fixture("scrapes.toml")).unwrap();
    format!(
        r#"
[fetch]
allow_private_networks = true
min_interval = "1s"
timeout = "3s"
retention = "3650d"

{}"#,
        scrapes
            .replace("{home}", &up.url("/"))
            .replace("{fr}", &up.url("/fr/"))
    )
}

async fn json(url: &str) -> Value {
    let (status, _, body) = get(url, &[]).await;
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Fetches a source now; the report of a fetch that ran.
async fn poll(server: &Server, name: &str) -> Value {
    let (status, report) = fetch_now(server, name).await;
    assert_eq!(status, 200, "{name}: {report}");
    report
}

async fn sources(server: &Server) -> Vec<Value> {
    let (status, _, body) = get(
        &server.url("/api/v1/sources"),
        &[("authorization", &format!("Bearer {TOKEN}"))],
    )
    .await;
    assert_eq!(status, 200);
    serde_json::from_slice::<Value>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn published(item: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(item["date_published"].as_str().unwrap())
        .unwrap()
        .to_utc()
}

fn ids(items: &BTreeMap<String, Value>) -> Vec<String> {
    let mut ids: Vec<String> = items
        .values()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

const SUDAN: &str = "Sudan: first commercial flight lands in Khartoum after nearly three years";
const VENEZUELA: &str =
    "Venezuela: human rights activist Javier Tarazona freed after over four years in prison";
const TETOUAN: &str = "Tetouan schools closed on Monday due to severe weather";
const TRAMWAY: &str = "Le tramway ira jusqu'à l'aéroport";

/// The scraped items of a local feed (by title), once it holds `n`.
async fn scraped(server: &Server, feed: &str, n: usize) -> BTreeMap<String, Value> {
    eventually(Duration::from_secs(30), || async {
        let doc = json(&server.url(&format!("/feeds/{feed}.json"))).await;
        let items: BTreeMap<String, Value> = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["id"].as_str().unwrap().contains(":source/"))
            .map(|i| (i["title"].as_str().unwrap().to_owned(), i.clone()))
            .collect();
        (items.len() == n).then_some(items)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{feed} never had {n} scraped items; log:\n{}",
            server.log_text()
        )
    })
}

/// The scraped items of `world` once one of them is titled `title` (the
/// renderer follows writes shortly after they commit).
async fn holding(server: &Server, n: usize, title: &str) -> BTreeMap<String, Value> {
    for _ in 0..100 {
        let world = scraped(server, "world", n).await;
        if world.contains_key(title) {
            return world;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {title:?} in world; log:\n{}", server.log_text())
}

/// The ids of the scraped items in `world` and `breaking`.
async fn all_ids(server: &Server, world: usize) -> Vec<String> {
    let mut all = ids(&scraped(server, "world", world).await);
    all.extend(ids(&scraped(server, "breaking", 3).await));
    all.sort();
    all
}

#[tokio::test]
async fn a_news_site_becomes_feeds_with_full_text_right_dates_and_stable_ids() {
    let t = times(Utc::now());
    let up = site(&t);
    let dir = SiteDir::demo();
    dir.append_config(&config(&up));
    let server = Server::start(&dir, &[]);

    // Poll 1, by the poller on start: 3 walaw items (two with article pages,
    // one ticker line without) and the French article in `world`, 3 flash
    // items split from one run-together element in `breaking`.
    let world = scraped(&server, "world", 4).await;
    let first = all_ids(&server, 4).await;

    // The full article, without the noise, with absolute URLs and no script.
    let sudan = &world[SUDAN];
    let body = sudan["content_html"].as_str().unwrap();
    assert!(
        body.contains("first since fighting closed the airport"),
        "{body}"
    );
    assert!(body.contains("two flights a week"), "{body}");
    for noise in [
        "cookie",
        "Fajr",
        "Read more",
        "<script",
        "tracker",
        "onerror",
        "steal",
    ] {
        assert!(!body.contains(noise), "{noise:?} left in {body}");
    }
    let img = up.url("/img/runway.jpg");
    assert!(body.contains(&format!("src=\"{img}\"")), "{body}");
    assert!(
        body.contains(&format!("href=\"{}\"", up.url("/news/timeline.html"))),
        "{body}"
    );
    assert_eq!(sudan["image"], up.url("/img/khartoum.jpg"));
    assert_eq!(sudan["authors"][0]["name"], "Walaw Desk");
    assert_eq!(sudan["url"], up.url("/news/sudan.html"));
    // The article's own date, local with its offset.
    assert_eq!(sudan["date_published"], "2024-12-05T10:36:00+01:00");
    // Scraped from the site itself: nothing credited as a feed.
    assert!(sudan.get("_source").is_none(), "{sudan}");

    // The list said "Venezuela: activist freed"; the page's headline is the
    // full one. No date on the page: the ticker's time, today.
    let venezuela = &world[VENEZUELA];
    assert_eq!(published(venezuela), t.at[1], "{venezuela}");
    let vbody = venezuela["content_html"].as_str().unwrap();
    assert!(
        vbody.contains("FundaRedes") && !vbody.contains("iframe") && !vbody.contains("Fajr"),
        "{vbody}"
    );
    // A ticker line without a page: dated across the day boundary.
    let tetouan = &world[TETOUAN];
    assert_eq!(published(tetouan), t.at[2], "{tetouan}");
    assert_eq!(
        tetouan["url"],
        up.url("/"),
        "a line without a page links to the list"
    );

    // The French edition: ISO-8859-1, a French date in Paris time.
    let tram = &world[TRAMWAY];
    assert_eq!(published(tram).to_rfc3339(), "2024-12-05T09:36:00+00:00");
    let tbody = tram["content_html"].as_str().unwrap();
    assert!(
        tbody.contains("évoqué depuis dix ans") && !tbody.contains("Publicité"),
        "{tbody}"
    );

    // The run-together ticker, split into the breaking feed, dated the same.
    let flash = scraped(&server, "breaking", 3).await;
    let mut dates: Vec<DateTime<Utc>> = flash.values().map(published).collect();
    dates.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, t.at.to_vec(), "{flash:#?}");
    assert_eq!(published(&flash[SUDAN]), t.at[0]);

    // Poll 2: the site corrects a headline under the same link, on the list
    // and on the page. The same item, retitled; only that page is fetched
    // again, and conditionally.
    const CORRECTED: &str = "Venezuela: rights activist Javier Tarazona freed after four years";
    let corrected = String::from_utf8(list_page(&t)).unwrap().replace(
        "Venezuela: activist freed",
        "Venezuela: activist Tarazona freed",
    );
    up.set("/", HTML, corrected.clone());
    let page = String::from_utf8(fixture("news/venezuela.html"))
        .unwrap()
        .replace(VENEZUELA, CORRECTED);
    up.set("/news/venezuela.html", HTML, page);
    let report = poll(&server, "walaw").await;
    assert_eq!(report["outcome"], "fetched", "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    let venezuela_requests = up.requests("/news/venezuela.html");
    assert_eq!(venezuela_requests.len(), 2);
    assert!(
        venezuela_requests[1].if_none_match.is_some(),
        "conditional GET for a page seen before"
    );
    assert_eq!(
        up.requests("/news/sudan.html").len(),
        1,
        "an unchanged item's page is not fetched again"
    );
    let world = holding(&server, 4, CORRECTED).await;
    assert_eq!(world[CORRECTED]["id"], venezuela["id"], "{world:#?}");
    // Poll 3: nothing changed.
    let report = poll(&server, "walaw").await;
    assert!(
        matches!(
            report["outcome"].as_str(),
            Some("not_modified" | "unchanged")
        ),
        "{report}"
    );
    assert_eq!(first, all_ids(&server, 4).await, "ids kept across polls");

    // A restart, and a poll of each source: the same ids, nothing added.
    server.stop();
    let server = Server::start(&dir, &[]);
    for name in ["walaw", "flash", "quotidien"] {
        let r = poll(&server, name).await;
        assert_ne!(r["outcome"], "failed", "{r}");
        assert_eq!(r["created"], 0, "{r}");
    }
    assert_eq!(
        first,
        all_ids(&server, 4).await,
        "ids kept across a restart"
    );
    // Then news on top of the list: one item more, the others untouched.
    let newer = t.at[0] + Span::minutes(3);
    let clock = newer.with_timezone(&SITE_TZ).format("%H:%M");
    let updated = corrected.replace(
        "<ul class=\"ticker\">",
        &format!("<ul class=\"ticker\">\n<li><span class=\"time\">{clock}</span> Rabat: the new tram line opens</li>"),
    );
    up.set("/", HTML, updated.clone());
    let report = poll(&server, "walaw").await;
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );
    let world = holding(&server, 5, "Rabat: the new tram line opens").await;
    assert_eq!(published(&world["Rabat: the new tram line opens"]), newer);
    let now_ids = all_ids(&server, 5).await;
    assert!(
        first.iter().all(|id| now_ids.contains(id)),
        "{first:?} {now_ids:?}"
    );

    // The layout changes: the source fails, says why, keeps its items.
    up.set("/", HTML, fixture("redesign.html"));
    let report = poll(&server, "walaw").await;
    assert_eq!(report["outcome"], "failed", "{report}");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("list.item `ul.ticker li` matched nothing"),
        "{error}"
    );
    let listed = sources(&server).await;
    let walaw = listed.iter().find(|s| s["name"] == "walaw").unwrap();
    assert_eq!(walaw["status"], "failing", "{walaw}");
    assert_eq!(walaw["kind"], "scrape", "{walaw}");
    assert!(
        walaw["error"].as_str().unwrap().contains("matched nothing"),
        "{walaw}"
    );
    let (_, _, metrics) = get(&server.url("/metrics"), &[]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("newswire_source_up{source=\"walaw\"} 0"),
        "{metrics}"
    );
    assert!(
        server.log_text().contains("matched nothing"),
        "in the log too"
    );
    assert_eq!(now_ids, all_ids(&server, 5).await, "its last items stay");

    // An article page whose body selector stopped matching: the source
    // fails, the list's items are still written, and the page is tried
    // again at the next poll, though the list has not changed.
    up.set(
        "/",
        HTML,
        updated.replace("/news/sudan.html", "/news/sudan-2.html"),
    );
    up.set(
        "/news/sudan-2.html",
        HTML,
        "<html><body><h1>New look</h1><div class=entry>Text</div></body></html>",
    );
    let report = poll(&server, "walaw").await;
    assert_eq!(report["outcome"], "failed", "{report}");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("article.body `.post-body` matched nothing"),
        "{report}"
    );
    up.set("/news/sudan-2.html", HTML, fixture("news/sudan.html"));
    let report = poll(&server, "walaw").await;
    assert_eq!(report["outcome"], "fetched", "{report}");
    assert_eq!(
        up.requests("/news/sudan-2.html").len(),
        2,
        "the unread page was tried again"
    );
}

/// The CLI with the test's config: exit code, and stdout then stderr.
fn newswire(args: &[&str], dir: &SiteDir) -> (Option<i32>, String) {
    let config = dir.config();
    let mut all = args.to_vec();
    all.extend(["--config", config.to_str().unwrap()]);
    let (code, stdout, stderr) = run_cli(&all);
    (code, stdout + &stderr)
}

#[tokio::test]
async fn dry_run_shows_what_the_selectors_extract() {
    let t = times(Utc::now());
    let up = site(&t);
    let dir = SiteDir::demo();
    dir.append_config(&config(&up));

    // From the URL: the list, then its article pages.
    let (code, out) = newswire(
        &["scrape", "--dry-run", "--name", "walaw", &up.url("/")],
        &dir,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("list.item") && out.contains("3 matched"),
        "{out}"
    );
    assert!(
        out.contains("list.link") && out.contains("2 of 3 items"),
        "{out}"
    );
    let local = |i: usize| t.at[i].with_timezone(&SITE_TZ).to_rfc3339();
    assert!(
        out.contains(&format!("{}  Tetouan", local(2))),
        "dates with offsets:\n{out}"
    );
    assert!(
        out.contains("2024-12-05T10:36:00+01:00"),
        "the article's date:\n{out}"
    );
    assert!(
        out.contains("first since fighting closed"),
        "the body, cut short:\n{out}"
    );
    assert!(
        out.contains("article.author") && out.contains("\"Walaw Desk\""),
        "{out}"
    );
    // Nothing was stored.
    assert!(!dir.data().exists());

    // A saved file with the new layout: the selector that matches nothing says so.
    let saved = dir.path("redesign.html");
    std::fs::write(&saved, fixture("redesign.html")).unwrap();
    let (code, out) = newswire(
        &[
            "scrape",
            "--dry-run",
            "--name",
            "walaw",
            saved.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("list.item `ul.ticker li` matched nothing"),
        "{out}"
    );
    // ... and read as an article page, since it may be one.
    assert!(out.contains("as an article page"), "{out}");

    // Several scrapes and no --name; an unknown name; no --dry-run.
    let (code, out) = newswire(&["scrape", "--dry-run", &up.url("/")], &dir);
    assert_eq!(code, Some(2));
    assert!(
        out.contains("--name") && out.contains("walaw, flash, quotidien"),
        "{out}"
    );
    let (code, out) = newswire(
        &["scrape", "--dry-run", "--name", "nope", &up.url("/")],
        &dir,
    );
    assert_eq!(code, Some(2));
    assert!(out.contains("no [[scrapes]] entry named \"nope\""), "{out}");
    let (code, out) = newswire(&["scrape", &up.url("/")], &dir);
    assert_eq!(code, Some(2));
    assert!(out.contains("--dry-run"), "{out}");
}

#[tokio::test]
async fn scrapes_are_sources_for_the_fetch_command_and_config_errors_name_the_key() {
    let t = times(Utc::now());
    let up = site(&t);
    let dir = SiteDir::demo();
    dir.append_config(&config(&up));
    let (code, out) = newswire(
        &["fetch", "--once", "--data", dir.data().to_str().unwrap()],
        &dir,
    );
    assert_eq!(code, Some(0), "{out}");
    for name in ["walaw", "flash", "quotidien"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(row.contains("fetched"), "{row}");
    }
    up.set("/", HTML, fixture("redesign.html"));
    let (code, out) = newswire(
        &["fetch", "walaw", "--data", dir.data().to_str().unwrap()],
        &dir,
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("matched nothing"), "{out}");

    // A bad selector, an unknown category, an unknown language.
    // A bad selector, an unknown category, an unknown language, a name
    // taken by a source: each named by its key.
    let taken = "[[sources]]\nname = \"flash\"\nurl = \"https://feeds.example/a.xml\"\n";
    for (bad, good, key) in [
        (
            "item = \"ul.ticker li\"",
            "item = \"ul..ticker[\"",
            "scrapes[0].list.item",
        ),
        (
            "category = \"world\"",
            "category = \"sport\"",
            "scrapes[0].category",
        ),
        (
            "language = \"en\"",
            "language = \"tlh\"",
            "scrapes[0].article.language",
        ),
        (
            "[[scrapes]]",
            &format!("{taken}\n[[scrapes]]"),
            "scrapes[1].name",
        ),
    ] {
        let broken = config(&up).replacen(bad, good, 1);
        let dir = SiteDir::demo();
        dir.append_config(&broken);
        let (code, out) = newswire(&["check"], &dir);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(key), "{key}: {out}");
    }
}

#[tokio::test]
async fn readability_finds_the_main_text_for_summaries_and_bodiless_scrapes() {
    let up = Upstream::start();
    up.set("/news/tram.html", HTML, fixture("news/tram.html"));
    up.set("/long/", HTML, fixture("long/index.html"));
    up.set(
        "/summaries.xml",
        "application/rss+xml",
        fixture("summaries.xml"),
    );
    let dir = SiteDir::demo();
    dir.append_config(&format!(
        r#"
[fetch]
allow_private_networks = true
retention = "3650d"

[[sources]]
name = "summaries"
url = "{feed}"
readability = true
categories = ["economy"]

[[scrapes]]
name = "longreads"
url = "{list}"
category = "economy"
[scrapes.list]
item = "ul.reads li"
link = "a"
[scrapes.article]
readability = true
remove = [".cookie-banner"]
"#,
        feed = up.url("/summaries.xml"),
        list = up.url("/long/")
    ));
    let server = Server::start(&dir, &[]);
    let items = eventually(Duration::from_secs(30), || async {
        let doc = json(&server.url("/feeds/economy.json")).await;
        let items: Vec<Value> = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["id"].as_str().unwrap().contains(":source/"))
            .cloned()
            .collect();
        (items.len() == 2).then_some(items)
    })
    .await
    .unwrap_or_else(|| panic!("economy never had both; log:\n{}", server.log_text()));
    for item in &items {
        let body = item["content_html"].as_str().unwrap();
        assert!(body.contains("six kilometres and five stations"), "{body}");
        assert!(body.contains(&up.url("/img/tram.jpg")), "absolute: {body}");
        for noise in ["Most read", "All rights reserved", "cookies", "Sports"] {
            assert!(!body.contains(noise), "{noise:?} in {body}");
        }
        assert_eq!(item["url"], up.url("/news/tram.html"));
    }
    // The feed's own summary gave way to the page's text, once: the page is
    // not fetched again while the feed's entry stays the same.
    let feed = String::from_utf8(fixture("summaries.xml")).unwrap().replace(
        "<item>",
        "<item><title>Markets close higher</title><guid>m1</guid><description>Up.</description></item>\n<item>",
    );
    up.set("/summaries.xml", "application/rss+xml", feed);
    let (status, report) = fetch_now(&server, "summaries").await;
    assert_eq!(status, 200);
    assert_eq!(report["outcome"], "fetched", "{report}");
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(up.requests("/news/tram.html").len(), 2, "one per source");
}

/// Whatever a scraped site serves (scripts and handlers everywhere, control
/// characters, dates at the ends of time, `javascript:` links, bytes that are
/// not UTF-8, a truncated page, a body over the size limit, a kilobyte-long
/// headline), the service keeps serving and every document the scrape feeds
/// passes check-feed with no active content.
#[tokio::test]
async fn a_hostile_site_cannot_break_or_poison_the_feeds() {
    let up = Upstream::start();
    let now = Utc::now().with_timezone(&SITE_TZ);
    let clock = |m: i64| (now - Span::minutes(m)).format("%H:%M").to_string();
    let long = "Long ".repeat(1000);
    let list = format!(
        r#"<html><body><ul class="t">
<li><span class="time">{}</span> <a href="/a/script">Title <script>alert(1)</script> with CTRL chars ]]&gt; &amp;#0;</a></li>
<li><span class="time">{}</span> <a href="javascript:alert(1)">A script link</a></li>
<li><time class="time" datetime="9999-12-31T23:59:59Z">far</time> <a href="/a/future">Dated the year 9999</a></li>
<li><time class="time" datetime="0001-01-01T00:00:00Z">old</time> <a href="/a/ancient">Dated the year 1</a></li>
<li><span class="time">{}</span> <a href="/a/truncated">A truncated page</a></li>
<li><span class="time">{}</span> <a href="/a/huge">A page over the size limit</a></li>
<li><span class="time">{}</span> <a href="/a/latin">Caf</a></li>
<li><span class="time">{}</span> <a href="/a/long">{long}</a></li>
<li><span class="time">25:99</span> <a href="  ">Not a time, no link</a></li>
</ul></body></html>"#,
        clock(1),
        clock(2),
        clock(3),
        clock(4),
        clock(5),
        clock(6)
    )
    .replace("CTRL", "\u{1}control\u{b}");
    up.set("/", HTML, list);
    let article = |body: &str| {
        format!(
            r#"<html><body><h1 onmouseover="x()">Hostile <img src=x onerror=alert(1)></h1>
<p class="date"><time datetime="-0001-13-45T99:99:99Z">never</time></p>
<div class="body">{body}</div></body></html>"#
        )
    };
    let payload = r#"<p>Text<script>document.cookie</script><iframe src="//e.vil"></iframe>
<a href="javascript:alert(1)">j</a><a href="JaVaScRiPt:alert(1)">J</a><img src="data:image/svg+xml;base64,PHN2Zz4=">
<svg onload=alert(1)></svg><style>p{}</style><form action=//e.vil><input></form>
<p style="background:url(javascript:x)">s</p>]]> &#0; &#xFFFE; CTRL</p>"#
        .replace("CTRL", "\u{0}\u{1}\u{8}\u{c}");
    up.set("/a/script", HTML, article(&payload));
    for path in ["/a/future", "/a/ancient", "/a/long"] {
        up.set(path, HTML, article(&payload));
    }
    let full = article(&payload);
    up.set("/a/truncated", HTML, full[..full.len() / 2].to_owned());
    up.set("/a/huge", HTML, article(&"<p>x</p>".repeat(2 << 20)));
    // windows-1252 bytes under a UTF-8 header.
    let mut latin =
        b"<html><body><div class=body><p>Caf\xe9 cr\xe8me \x93quoted\x94</p></div></body></html>"
            .to_vec();
    latin.extend(std::iter::repeat_n(b' ', 10));
    up.set("/a/latin", HTML, latin);

    let dir = SiteDir::demo();
    dir.append_config(&format!(
        r#"
[fetch]
allow_private_networks = true
timeout = "5s"
max_body = 4194304

[[scrapes]]
name = "hostile"
url = "{home}"
category = "world"
[scrapes.list]
item = "ul.t li"
time = ".time"
link = "a"
[scrapes.article]
title = "h1"
date = ".date"
body = ".body"

[[scrapes]]
name = "hostile-ticker"
url = "{home}"
category = "breaking"
[scrapes.list]
item = "ul.t li"

[[timelines]]
name = "hostile"
title = "Hostile"
sources = ["hostile", "hostile-ticker"]
"#,
        home = up.url("/")
    ));
    let server = Server::start(&dir, &[]);
    // The poller takes both at start.
    let listed = eventually(Duration::from_secs(30), || async {
        let list = sources(&server).await;
        list.iter()
            .all(|s| !s["last_fetch"].is_null())
            .then_some(list)
    })
    .await
    .unwrap_or_else(|| panic!("never fetched; log:\n{}", server.log_text()));
    // The page over the limit is reported; its item is kept from the list.
    let hostile = listed.iter().find(|s| s["name"] == "hostile").unwrap();
    assert!(
        hostile["error"].as_str().unwrap_or("").contains("/a/huge"),
        "{hostile}"
    );
    assert!(hostile["items"].as_u64().unwrap() >= 8, "{hostile}");
    let (status, _, _) = get(&server.url("/healthz"), &[]).await;
    assert_eq!(status, 200);

    let world = eventually(Duration::from_secs(20), || async {
        let doc = json(&server.url("/timelines/hostile.json")).await;
        let items = doc["items"].as_array().unwrap().clone();
        (items.len() >= 10).then_some(items)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the hostile timeline never filled; log:\n{}",
            server.log_text()
        )
    });
    let now = Utc::now();
    for item in &world {
        let when = published(item);
        assert!(when <= now + Span::days(1), "dates are clamped: {item}");
        if let Some(url) = item["url"].as_str() {
            assert!(url.starts_with("http://"), "{url}");
        }
        let title = item["title"].as_str().unwrap();
        assert!(
            title.chars().count() <= 1000 && !title.contains(char::is_control),
            "{title:?}"
        );
    }
    let latin = world
        .iter()
        .find(|i| i["url"] == up.url("/a/latin"))
        .unwrap();
    assert!(
        latin["content_html"]
            .as_str()
            .unwrap()
            .contains("Café crème “quoted”"),
        "{latin}"
    );
    for feed in ["/timelines/hostile", "/feeds/world", "/feeds/breaking"] {
        for ext in ["rss", "atom", "json", "html"] {
            let (status, _, body) = get(&server.url(&format!("{feed}.{ext}")), &[]).await;
            assert_eq!(status, 200);
            let body = String::from_utf8(body).unwrap().to_lowercase();
            // A page ends with the embed builder: our own form, preview
            // frame and script, showing no item.
            let body = body.split("<section id=\"embed\">").next().unwrap_or(&body);
            for active in [
                "<script",
                "onerror",
                "onmouseover",
                "onload",
                "javascript:",
                "<iframe",
                "data:image/svg",
            ] {
                let at = body
                    .find(active)
                    .map(|i| &body[i.saturating_sub(200)..(i + 100).min(body.len())]);
                assert!(at.is_none(), "{active} in {feed}.{ext}: {at:?}");
            }
        }
    }
    check_feed(
        &server,
        &["/timelines/hostile", "/feeds/world", "/feeds/breaking"],
    )
    .await;
}
