//! HTML pages into items by configured selectors (`[[scrapes]]`): a site with
//! no feed and no CMS hook, read as a person reads it.
//!
//! - **The list page** gives one entry per `list.item` element. A ticker's
//!   `HH:MM` times are dated by the same code as the files' tickers
//!   ([`crate::content::ticker`]): the newest item is today's (yesterday's when
//!   its time is still to come), and the list steps back a day where it
//!   crosses midnight. A ticker that runs together in one element is split as
//!   `feeds/breaking` is.
//! - **Article pages** (`[scrapes.article]`) fill the body, date, author,
//!   category and image; `remove` drops noise first, relative URLs become
//!   absolute, and the gate sanitizes what is left. With `readability`, the
//!   main text is found by dom_smoothie (a port of Mozilla's Readability).
//! - **Ids** are the item's link, or for a ticker line without one its day,
//!   time and headline; so a headline corrected under the same link updates
//!   its item.
//! - **A layout change** that leaves a selector matching nothing is an error,
//!   never an empty list: the source is reported failing and keeps its items.
//!
//! Parsing is html5ever's (through scraper), as in a browser.

use super::parse::{self, Entry, Parsed, Text};
use crate::config::{ArticleSelectors, ScrapeConfig};
use crate::content::ticker;
use crate::localtime;
use crate::model::Person;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use std::borrow::Cow;
use url::Url;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ScrapeError {
    #[error("{field} `{css}` matched nothing on {url} (has the page's layout changed?)")]
    NoMatch {
        field: &'static str,
        css: String,
        url: String,
    },
    #[error("{field} `{css}` is not a CSS selector")]
    Selector { field: &'static str, css: String },
}

/// What one selector matched, for `newswire scrape --dry-run`.
#[derive(Debug, Clone)]
pub struct Probe {
    pub field: &'static str,
    pub css: String,
    /// Elements matched: in how many list items, or on the article page.
    pub matched: usize,
    /// What it gave, as text (cut short).
    pub sample: Option<String>,
}

fn selector(field: &'static str, css: &str) -> Result<Selector, ScrapeError> {
    Selector::parse(css).map_err(|_| ScrapeError::Selector {
        field,
        css: css.to_owned(),
    })
}

/// An element's text as a reader sees it: whitespace runs made one space.
fn text_of(el: ElementRef<'_>) -> String {
    squash(&el.text().collect::<String>())
}

/// Text with each run of whitespace made one space, as a browser shows it.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A page's text: the encoding from the BOM, the HTTP charset, then a
/// `<meta charset>` near the top, else UTF-8 (windows-1252 when it is not).
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let declared = parse::decode::charset(content_type).or_else(|| meta_charset(body));
    parse::decode::decode(body, declared)
}

fn meta_charset(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let name: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    encoding_rs::Encoding::for_label(name.as_bytes())
}

/// A list item's time as the page shows it.
enum Clock {
    /// `HH:MM`: a ticker time, dated by its place in the list.
    Time(NaiveTime),
    Full(DateTime<Utc>),
    None,
}

/// One item of the list, before dating.
struct Row {
    clock: Clock,
    title: String,
    link: Option<String>,
}

/// Reads the list page into entries, dated at `now` in `tz`. Errors when
/// `list.item` (or `list.title`, in every item) matches nothing.
pub fn list(
    body: &[u8],
    content_type: Option<&str>,
    page: &Url,
    scrape: &ScrapeConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<(Parsed, Vec<Probe>), ScrapeError> {
    let text = decode(body, content_type);
    let doc = Html::parse_document(&text);
    let l = &scrape.list;
    let item_sel = selector("list.item", &l.item)?;
    let time_sel = l
        .time
        .as_deref()
        .map(|c| selector("list.time", c))
        .transpose()?;
    let title_sel = l
        .title
        .as_deref()
        .map(|c| selector("list.title", c))
        .transpose()?;
    let link_sel = l
        .link
        .as_deref()
        .map(|c| selector("list.link", c))
        .transpose()?;
    let format = l.date_format.as_deref().or(scrape
        .article
        .as_ref()
        .and_then(|a| a.date_format.as_deref()));
    let language = l
        .language
        .as_deref()
        .or(scrape.article.as_ref().and_then(|a| a.language.as_deref()));

    let mut probes = vec![Probe {
        field: "list.item",
        css: l.item.clone(),
        matched: 0,
        sample: None,
    }];
    let mut counts = [0usize; 3];
    let mut rows = Vec::new();
    for item in doc.select(&item_sel) {
        probes[0].matched += 1;
        let own = text_of(item);
        let first = |sel: &Option<Selector>| sel.as_ref().and_then(|s| item.select(s).next());
        let time_el = first(&time_sel);
        let title_el = first(&title_sel);
        let link = match &link_sel {
            Some(sel) => item
                .select(sel)
                .find_map(|a| href(a))
                .or_else(|| href(item))
                .and_then(|h| page.join(h.trim()).ok())
                // A page to fetch and a link for readers: http(s) only
                // (`javascript:`, `mailto:` and the like are no item's page).
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| crate::merge::untracked(u).into()),
            None => None,
        };
        counts[0] += usize::from(time_el.is_some());
        counts[1] += usize::from(title_el.is_some());
        counts[2] += usize::from(link.is_some());
        if title_sel.is_some() && title_el.is_none() {
            continue;
        }
        match time_el {
            Some(t) => {
                let clock = clock(t, format, language, tz);
                let title = match title_el {
                    Some(el) => text_of(el),
                    None => {
                        let time = text_of(t);
                        own.strip_prefix(time.as_str())
                            .unwrap_or(&own)
                            .trim()
                            .to_owned()
                    }
                };
                rows.push(Row { clock, title, link });
            }
            None if time_sel.is_some() => rows.push(Row {
                clock: Clock::None,
                title: title_el.map_or(own, text_of),
                link,
            }),
            // No time element: the item's own text may be `HH:MM headline`,
            // or a whole ticker run together.
            None => {
                let pieces = ticker::split(&own);
                match (pieces.len(), title_el) {
                    (0, el) => rows.push(Row {
                        clock: Clock::None,
                        title: el.map_or(own.clone(), text_of),
                        link,
                    }),
                    (1, el) => rows.push(Row {
                        clock: Clock::Time(pieces[0].0),
                        title: el.map_or_else(|| pieces[0].1.to_owned(), text_of),
                        link,
                    }),
                    // Several items in one element: none has a link of its own.
                    _ => rows.extend(pieces.into_iter().map(|(time, title)| Row {
                        clock: Clock::Time(time),
                        title: title.to_owned(),
                        link: None,
                    })),
                }
            }
        }
    }
    for ((field, css), matched) in [
        ("list.time", &l.time),
        ("list.title", &l.title),
        ("list.link", &l.link),
    ]
    .into_iter()
    .zip(counts)
    {
        if let Some(css) = css {
            probes.push(Probe {
                field,
                css: css.clone(),
                matched,
                sample: None,
            });
        }
    }
    let missing = |field: &'static str, css: &str| ScrapeError::NoMatch {
        field,
        css: css.to_owned(),
        url: page.to_string(),
    };
    if probes[0].matched == 0 {
        return Err(missing("list.item", &l.item));
    }
    if let Some(css) = &l.title
        && counts[1] == 0
    {
        return Err(missing("list.title", css));
    }
    rows.retain(|r| !r.title.is_empty());
    if rows.is_empty() {
        return Err(missing("list.item", &l.item));
    }

    let entries = date_rows(rows, tz, now);
    let title = doc
        .select(&Selector::parse("title").expect("a valid selector"))
        .next()
        .map(text_of)
        .filter(|t| !t.is_empty());
    Ok((
        Parsed {
            title,
            link: Some(page.to_string()),
            id: None,
            entries,
            advertised: Default::default(),
        },
        probes,
    ))
}

/// Entries from list rows: ticker times dated newest first from the day of
/// the fetch, as files are from the day of their name.
fn date_rows(rows: Vec<Row>, tz: Tz, now: DateTime<Utc>) -> Vec<Entry> {
    let times: Vec<NaiveTime> = rows
        .iter()
        .filter_map(|r| match r.clock {
            Clock::Time(t) => Some(t),
            _ => None,
        })
        .collect();
    let local_now = now.with_timezone(&tz).naive_local();
    let mut days = match times.first() {
        Some(&top) => ticker::days(times.iter().copied(), ticker::newest_day(top, local_now)),
        None => Vec::new(),
    }
    .into_iter();
    rows.into_iter()
        .map(|row| {
            let (published, id) = match row.clock {
                Clock::Time(time) => {
                    let day = days.next().expect("a day per time");
                    let at = localtime::local_date_time(day, time, tz).ok();
                    let key = format!("{day} {} {}", time.format("%H:%M"), row.title);
                    (at, Some(row.link.clone().unwrap_or(key)))
                }
                Clock::Full(at) => (Some(at), row.link.clone()),
                Clock::None => (None, row.link.clone()),
            };
            let mut entry = Entry {
                id,
                title: Some(Text {
                    value: row.title,
                    html: false,
                }),
                link: row.link,
                summary: None,
                content: None,
                published,
                updated: None,
                authors: Vec::new(),
                tags: Vec::new(),
                image: None,
                digest: String::new(),
            };
            entry.digest = parse::digest(&entry);
            entry
        })
        .collect()
}

fn href(el: ElementRef<'_>) -> Option<&str> {
    el.value().attr("href").filter(|h| !h.trim().is_empty())
}

/// A list item's time: `HH:MM` (or `HHhMM`) alone is a ticker time; anything
/// else is read as a full date.
fn clock(el: ElementRef<'_>, format: Option<&str>, language: Option<&str>, tz: Tz) -> Clock {
    let text = text_of(el);
    if let Some(t) = hh_mm(&text) {
        return Clock::Time(t);
    }
    let machine = el.value().attr("datetime");
    match machine
        .and_then(|d| date(d, None, None, tz))
        .or_else(|| date(&text, format, language, tz))
    {
        Some(at) => Clock::Full(at),
        None => Clock::None,
    }
}

fn hh_mm(text: &str) -> Option<NaiveTime> {
    let t = text.trim();
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%Hh%M"))
        .ok()
        .filter(|_| t.len() <= 5)
}

/// A date as a page writes it: with `format` (chrono's, month and day names
/// in `language`), else RFC 3339, RFC 2822 and the forms feeds use, else a
/// local `YYYY-MM-DD HH:MM`. Text around the date ("Published on …", "| 3 min
/// read") is skipped.
pub fn date(
    text: &str,
    format: Option<&str>,
    language: Option<&str>,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let text = squash(text);
    if let Some(format) = format {
        let english = localtime::to_english(&text, language);
        // From each word on, so a label before the date does not stop it.
        let starts = std::iter::once(0).chain(english.match_indices(' ').map(|(i, _)| i + 1));
        for start in starts.take(12) {
            if let Some(at) = with_format(&english[start..], format, tz) {
                return Some(at);
            }
        }
    }
    super::dates::parse(&text).or_else(|| localtime::parse_date(&text, tz).ok())
}

fn with_format(text: &str, format: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok((at, _)) = DateTime::parse_and_remainder(text, format) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok((local, _)) = NaiveDateTime::parse_and_remainder(text, format) {
        return localtime::local_to_utc(local, tz).ok();
    }
    let (day, _) = NaiveDate::parse_and_remainder(text, format).ok()?;
    localtime::local_to_utc(day.and_time(NaiveTime::MIN), tz).ok()
}

/// Longest summary taken from an article's first paragraph, in characters.
const SUMMARY_CHARS: usize = 400;

/// What an article page adds to its list entry.
#[derive(Debug, Clone, Default)]
pub struct Article {
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub author: Option<String>,
    pub category: Option<String>,
    pub image: Option<String>,
    /// Sanitized, with absolute URLs.
    pub body: Option<String>,
}

impl Article {
    /// Fills an entry; its digest stays that of the list entry, so the page
    /// is not fetched again until the list says the item changed.
    pub fn fill(self, entry: &mut Entry) {
        if let Some(title) = self.title.filter(|t| !t.is_empty()) {
            entry.title = Some(Text {
                value: title,
                html: false,
            });
        }
        if self.published.is_some() {
            entry.published = self.published;
        }
        if let Some(name) = self.author.filter(|a| !a.is_empty()) {
            entry.authors = vec![Person {
                name,
                email: None,
                uri: None,
            }];
        }
        if let Some(c) = self.category.filter(|c| !c.is_empty()) {
            entry.tags = vec![c];
        }
        if self.image.is_some() {
            entry.image = self.image;
        }
        if let Some(body) = self.body {
            // The first paragraph as the summary, as for the site's own
            // articles (RSS readers show it; validators expect it).
            let lead = crate::gate::html_text(&body, true);
            entry.summary = Some(Text {
                value: crate::gate::cut(lead.trim(), SUMMARY_CHARS),
                html: false,
            })
            .filter(|s| !s.value.is_empty());
            entry.content = Some(Text {
                value: body,
                html: true,
            });
        }
    }
}

/// Reads an article page. The probes say what each selector matched; a
/// `body` selector that matched nothing is an error (the page's layout
/// changed), the others only leave their field empty.
pub fn article(
    body: &[u8],
    content_type: Option<&str>,
    page: &Url,
    a: &ArticleSelectors,
    tz: Tz,
) -> Result<(Article, Vec<Probe>), ScrapeError> {
    let text = decode(body, content_type);
    let mut doc = Html::parse_document(&text);
    for css in &a.remove {
        let sel = selector("article.remove", css)?;
        let ids: Vec<_> = doc.select(&sel).map(|e| e.id()).collect();
        for id in ids {
            if let Some(mut node) = doc.tree.get_mut(id) {
                node.detach();
            }
        }
    }
    let mut probes = Vec::new();
    let mut pick = |field: &'static str,
                    css: &Option<String>|
     -> Result<Option<ElementRef<'_>>, ScrapeError> {
        let Some(css) = css else { return Ok(None) };
        let sel = selector(field, css)?;
        let found = doc.select(&sel).next();
        probes.push(Probe {
            field,
            css: css.clone(),
            matched: doc.select(&sel).count(),
            sample: found
                .map(|el| crate::gate::cut(&text_of(el), 80))
                .filter(|t| !t.is_empty()),
        });
        Ok(found)
    };
    let title = pick("article.title", &a.title)?.map(text_of);
    let published = pick("article.date", &a.date)?.and_then(|el| {
        let machine = el.value().attr("datetime").or(el.value().attr("content"));
        machine.and_then(|d| date(d, None, None, tz)).or_else(|| {
            date(
                &text_of(el),
                a.date_format.as_deref(),
                a.language.as_deref(),
                tz,
            )
        })
    });
    let author = pick("article.author", &a.author)?.map(text_of);
    let category = pick("article.category", &a.category)?.map(text_of);
    let image = pick("article.image", &a.image)?
        .and_then(|el| {
            let v = el.value();
            v.attr("src")
                .or(v.attr("data-src"))
                .or(v.attr("content"))
                .or(v.attr("href"))
        })
        .and_then(|src| page.join(src.trim()).ok())
        .map(String::from);
    let raw_body = match pick("article.body", &a.body)? {
        Some(el) => Some(el.inner_html()),
        None if a.body.is_some() => {
            return Err(ScrapeError::NoMatch {
                field: "article.body",
                css: a.body.clone().unwrap_or_default(),
                url: page.to_string(),
            });
        }
        None if a.readability => readable_html(&doc.html(), page),
        None => None,
    };
    let body = raw_body
        .map(|html| crate::gate::sanitize_html(&html, Some(page.as_str())))
        .filter(|h| !h.trim().is_empty());
    if let (Some(b), Some(p)) = (&body, probes.iter_mut().find(|p| p.field == "article.body")) {
        p.sample = Some(crate::gate::cut(
            &squash(&crate::gate::html_text(b, false)),
            80,
        ));
    }
    Ok((
        Article {
            title,
            published,
            author,
            category,
            image,
            body,
        },
        probes,
    ))
}

/// The main text of a page, by readability, sanitized with absolute URLs:
/// for sources whose feed carries only a summary.
pub fn readable(body: &[u8], content_type: Option<&str>, page: &Url) -> Option<String> {
    let text = decode(body, content_type);
    readable_html(&text, page)
        .map(|html| crate::gate::sanitize_html(&html, Some(page.as_str())))
        .filter(|h| !h.trim().is_empty())
}

/// Elements readability may score on one page: a bound on its work, far
/// above any article page (a 8 MiB page of empty divs would be refused).
const READABILITY_ELEMENTS: usize = 50_000;

fn readable_html(html: &str, page: &Url) -> Option<String> {
    let config = dom_smoothie::Config {
        max_elements_to_parse: READABILITY_ELEMENTS,
        // The page's JSON-LD is the site's metadata, not its text.
        disable_json_ld: true,
        ..Default::default()
    };
    let mut r = dom_smoothie::Readability::new(html, Some(page.as_str()), Some(config)).ok()?;
    let article = r.parse().ok()?;
    Some(article.content.to_string()).filter(|c| !c.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ListSelectors;

    const TZ: Tz = chrono_tz::Africa::Casablanca;

    fn scrape(list: ListSelectors) -> ScrapeConfig {
        ScrapeConfig {
            name: "s".into(),
            url: "https://s.example/".into(),
            title: None,
            interval: None,
            category: "breaking".into(),
            timezone: None,
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
        let html = "<div class=bar>Breaking 17:00 Sudan: flight lands 16:40 Venezuela: activist freed</div>";
        let s = scrape(selectors("div.bar", None, None, None));
        let (p, _) = list(
            html.as_bytes(),
            None,
            &page(),
            &s,
            TZ,
            at("2026-02-01T18:00:00Z"),
        )
        .unwrap();
        let titles: Vec<_> = p
            .entries
            .iter()
            .map(|e| e.title.clone().unwrap().value)
            .collect();
        assert_eq!(titles, ["Sudan: flight lands", "Venezuela: activist freed"]);
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
            let page: String = parts.iter().map(|&i| BITS[i]).collect();
            if let Ok((parsed, _)) = list(page.as_bytes(), None, &super::tests::page(), &s, TZ, now) {
                for e in &parsed.entries {
                    prop_assert!(!e.title.as_ref().unwrap().value.is_empty());
                    if let Some(d) = e.published {
                        prop_assert!((d - now).num_hours().abs() <= 48, "{d} from {page}");
                    }
                }
            }
            if let Ok((a, _)) = article(page.as_bytes(), None, &super::tests::page(), &article_sel, TZ) {
                let body = a.body.unwrap_or_default();
                prop_assert!(!body.contains("<script") && !body.contains("onerror") && !body.contains("javascript:"), "{body}");
            }
        });
    }
}
