//! The list page: one entry per `list.item` element, its time, headline
//! and link, ticker times dated as the files' tickers are.

use super::{Probe, ScrapeError, decode, selector, text_of};
use crate::config::ScrapeConfig;
use crate::content::ticker;
use crate::localtime;
use crate::sources::dates;
use crate::sources::parse::{self, Entry, Parsed, Text};
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use url::Url;

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

/// Most items read from one list page (the poller keeps `fetch.max_entries`
/// of them).
const MAX_ITEMS: usize = 10_000;

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
    crate::depth::html(&text, crate::depth::MAX_HTML)?;
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
    // Only the outermost of items nested in one another is an item: each
    // element's text is then read once, where an item inside an item read
    // its whole subtree again (quadratic in the nesting).
    let mut outer = std::collections::HashSet::new();
    for item in doc.select(&item_sel) {
        if item.ancestors().any(|a| outer.contains(&a.id())) {
            continue;
        }
        outer.insert(item.id());
        probes[0].matched += 1;
        if probes[0].matched > MAX_ITEMS {
            break;
        }
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
                .map(|u| crate::story::link::untracked(u).into()),
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
                base: None,
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
        .and_then(|d| dates::on_page(d, None, None, tz))
        .or_else(|| dates::on_page(&text, format, language, tz))
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
