//! The scraper on hand-written pages: ticker dating, run-together tickers,
//! layout changes, dates in two languages, noise and URLs, and any page.

use super::*;
use crate::config::{ArticleSelectors, ListSelectors, ScrapeConfig};
use crate::sources::dates::on_page as date;
use crate::sources::parse::Parsed;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

const TZ: Tz = chrono_tz::Africa::Casablanca;

fn scrape(list: ListSelectors) -> ScrapeConfig {
    ScrapeConfig {
        name: "s".into(),
        url: "https://s.example/".into(),
        title: None,
        interval: None,
        category: "breaking".into(),
        timezone: None,
        max_items: None,
        list,
        article: None,
    }
}

fn selectors(
    item: &str,
    time: Option<&str>,
    title: Option<&str>,
    link: Option<&str>,
) -> ListSelectors {
    ListSelectors {
        item: item.into(),
        time: time.map(Into::into),
        title: title.map(Into::into),
        link: link.map(Into::into),
        date_format: None,
        language: None,
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn page() -> Url {
    Url::parse("https://s.example/news/").unwrap()
}

fn titles(p: &Parsed) -> Vec<String> {
    p.entries
        .iter()
        .map(|e| e.title.clone().unwrap().value)
        .collect()
}

fn read(html: &str, s: &ScrapeConfig, now: &str) -> Parsed {
    list(html.as_bytes(), None, &page(), s, TZ, at(now))
        .unwrap()
        .0
}

#[test]
fn ticker_times_are_dated_from_the_day_of_the_fetch() {
    let html = r#"<ul class="t"><li><span class="time">00:10</span> <a href="/a">A</a></li>
        <li><span class="time">23:50</span> <a href="b">B</a></li><li><span class="time">23:50</span> C</li></ul>"#;
    let s = scrape(selectors("ul.t li", Some(".time"), None, Some("a")));
    // 00:30 on 2 February in Casablanca (UTC+1).
    let p = read(html, &s, "2026-02-01T23:30:00Z");
    let got: Vec<_> = p
        .entries
        .iter()
        .map(|e| {
            (
                e.published.unwrap().to_rfc3339(),
                e.link.clone(),
                e.id.clone(),
            )
        })
        .collect();
    assert_eq!(got[0].0, "2026-02-01T23:10:00+00:00");
    assert_eq!(got[0].1.as_deref(), Some("https://s.example/a"));
    assert_eq!(got[1].0, "2026-02-01T22:50:00+00:00");
    assert_eq!(got[1].1.as_deref(), Some("https://s.example/news/b"));
    assert_eq!(
        got[2].2.as_deref(),
        Some("2026-02-01 23:50 C"),
        "no link: day, time, headline"
    );
    // Read at 10:00, a top item at 23:50 is yesterday's.
    let p = read(html, &s, "2026-02-02T09:00:00Z");
    assert_eq!(
        p.entries[1].published.unwrap().to_rfc3339(),
        "2026-02-01T22:50:00+00:00"
    );
}

#[test]
fn a_run_together_ticker_is_split_as_in_files() {
    let html =
        "<div class=bar>Breaking 17:00 Sudan: flight lands 16:40 Venezuela: activist freed</div>";
    let s = scrape(selectors("div.bar", None, None, None));
    let p = read(html, &s, "2026-02-01T18:00:00Z");
    assert_eq!(
        titles(&p),
        ["Sudan: flight lands", "Venezuela: activist freed"]
    );
    assert_eq!(
        p.entries[1].published.unwrap().to_rfc3339(),
        "2026-02-01T15:40:00+00:00"
    );
}

#[test]
fn selectors_that_match_nothing_are_an_error_not_an_empty_list() {
    let s = scrape(selectors("ul.ticker li", None, Some("a"), None));
    let e = list(b"<ol><li>x</li></ol>", None, &page(), &s, TZ, Utc::now()).unwrap_err();
    assert!(
        e.to_string()
            .contains("list.item `ul.ticker li` matched nothing"),
        "{e}"
    );
    let e = list(
        b"<ul class=ticker><li>x</li></ul>",
        None,
        &page(),
        &s,
        TZ,
        Utc::now(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("list.title `a`"), "{e}");
}

#[test]
fn dates_in_english_and_french_with_the_configured_format() {
    let f = Some("%A %d %B %Y - %H:%M");
    let en = date("Thursday 05 December 2024 - 10:36", f, Some("en"), TZ).unwrap();
    assert_eq!(en.to_rfc3339(), "2024-12-05T09:36:00+00:00");
    let fr = date(
        "Publié le jeudi 05 décembre 2024 - 10:36",
        f,
        Some("fr"),
        TZ,
    )
    .unwrap();
    assert_eq!(fr, en);
    let short = date(
        "1er déc. 2024 à 08h05",
        Some("%d %b %Y à %Hh%M"),
        Some("fr"),
        TZ,
    )
    .unwrap();
    assert_eq!(short.to_rfc3339(), "2024-12-01T07:05:00+00:00");
    assert_eq!(
        date("2024-12-05T10:36:00+01:00", None, None, TZ).unwrap(),
        en
    );
    assert!(date("yesterday", f, Some("fr"), TZ).is_none());
}

#[test]
fn an_article_loses_its_noise_and_gets_absolute_urls() {
    let html = r#"<html><body><div class="cookie-banner">We use cookies</div>
        <article><h1> Title  here </h1><p class="post-date">Thursday 05 December 2024 - 10:36</p>
        <div class="post-body"><p>Text <img src="../img/a.jpg" onerror="x()"></p><script>alert(1)</script>
        <div class="prayer-times">Fajr 06:00</div><p><a class="read-more" href="/more">Read more</a></p></div></article></body></html>"#;
    let a = ArticleSelectors {
        title: Some("h1".into()),
        date: Some(".post-date".into()),
        date_format: Some("%A %d %B %Y - %H:%M".into()),
        body: Some(".post-body".into()),
        remove: vec![
            ".cookie-banner".into(),
            ".prayer-times".into(),
            ".read-more".into(),
        ],
        ..Default::default()
    };
    let url = Url::parse("https://s.example/news/2024/a.html").unwrap();
    let (art, probes) = article(html.as_bytes(), None, &url, &a, TZ).unwrap();
    assert_eq!(art.title.as_deref(), Some("Title here"));
    assert_eq!(
        art.published.unwrap().to_rfc3339(),
        "2024-12-05T09:36:00+00:00"
    );
    let body = art.body.unwrap();
    assert!(
        body.contains(r#"src="https://s.example/news/img/a.jpg""#),
        "{body}"
    );
    for gone in ["onerror", "script", "alert", "Fajr", "Read more", "cookies"] {
        assert!(!body.contains(gone), "{gone} in {body}");
    }
    assert!(probes.iter().all(|p| p.matched == 1), "{probes:?}");
    // The layout changed: no body.
    let a = ArticleSelectors {
        body: Some(".entry-content".into()),
        ..a
    };
    let e = article(html.as_bytes(), None, &url, &a, TZ).unwrap_err();
    assert!(
        e.to_string()
            .contains("article.body `.entry-content` matched nothing"),
        "{e}"
    );
}

#[test]
fn readability_finds_the_main_text() {
    let para = "The council voted on Tuesday to extend the tram line to the airport, a project first proposed a decade ago. ";
    let html = format!(
        "<html><head><title>T</title></head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>\
         <div class='main'><h1>Tram</h1><p>{}</p><p>{}</p><p><img src='/t.jpg'></p></div><footer>© Site</footer></body></html>",
        para.repeat(4),
        para.repeat(3)
    );
    let body = readable(
        html.as_bytes(),
        None,
        &Url::parse("https://s.example/a").unwrap(),
    )
    .unwrap();
    assert!(body.contains("tram line"), "{body}");
    assert!(!body.contains("© Site"), "{body}");
    assert!(body.contains("https://s.example/t.jpg"), "{body}");
}

/// Whatever a page says, reading it neither panics nor lets active
/// content through, and ticker dates stay within a day of the fetch.
#[test]
fn any_page_reads_without_panic_or_script() {
    use proptest::prelude::*;
    const BITS: &[&str] = &[
        "<ul class=t>",
        "</ul>",
        "<li>",
        "</li>",
        "<span class=time>",
        "</span>",
        "<a href=\"/x\">",
        "<a href=\"javascript:alert(1)\">",
        "</a>",
        "23:59 ",
        "00:00 ",
        "12:30",
        "24:61 ",
        "9:5 ",
        "17h05",
        "Headline ",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<div class=body>",
        "</div>",
        "&amp;",
        "&#0;",
        "\u{0}",
        "<!--",
        "-->",
        "jeudi 5 décembre 2024 à 10h36",
        "1er déc.",
        "é",
        "<h1>",
        "</h1>",
        "<time datetime=\"9999-99-99\">",
        "</time>",
        "<meta charset=\"utf-16\">",
    ];
    let s = scrape(selectors(
        "ul.t li, div.body",
        Some(".time"),
        None,
        Some("a"),
    ));
    let article_sel = ArticleSelectors {
        title: Some("h1".into()),
        date: Some("time, .time".into()),
        date_format: Some("%A %d %B %Y à %Hh%M".into()),
        language: Some("fr".into()),
        body: Some("div.body".into()),
        remove: vec!["h1".into()],
        ..Default::default()
    };
    let now = at("2026-02-01T12:00:00Z");
    proptest!(ProptestConfig::with_cases(300), |(parts in proptest::collection::vec(0..BITS.len(), 0..60))| {
        let html: String = parts.iter().map(|&i| BITS[i]).collect();
        if let Ok((parsed, _)) = list(html.as_bytes(), None, &page(), &s, TZ, now) {
            for e in &parsed.entries {
                prop_assert!(!e.title.as_ref().unwrap().value.is_empty());
                if let Some(d) = e.published {
                    prop_assert!((d - now).num_hours().abs() <= 48, "{d} from {html}");
                }
            }
        }
        if let Ok((a, _)) = article(html.as_bytes(), None, &page(), &article_sel, TZ) {
            let body = a.body.unwrap_or_default();
            prop_assert!(!body.contains("<script") && !body.contains("onerror") && !body.contains("javascript:"), "{body}");
        }
    });
}

#[test]
fn items_nested_in_items_are_one_item_read_once() {
    // 400 `div.i` nested in one another: each would read the text of all it
    // holds (quadratic); the outermost is the item.
    let html = format!(
        "<html><body>{}12:00 Headline{}<div class=i>12:30 Another</div></body></html>",
        "<div class=i>".repeat(400),
        "</div>".repeat(400)
    );
    let s = scrape(selectors("div.i", None, None, None));
    let (p, probes) = list(
        html.as_bytes(),
        None,
        &page(),
        &s,
        TZ,
        at("2026-02-01T18:00:00Z"),
    )
    .unwrap();
    assert_eq!(titles(&p), ["Headline", "Another"]);
    assert_eq!(probes[0].matched, 2);
}

#[test]
fn a_page_nested_past_the_bound_is_refused() {
    let html = format!("<ul>{}<li>12:00 x</li></ul>", "<div>".repeat(100_000));
    let s = scrape(selectors("li", None, None, None));
    let e = list(html.as_bytes(), None, &page(), &s, TZ, Utc::now()).unwrap_err();
    assert!(e.to_string().contains("nests"), "{e}");
}
