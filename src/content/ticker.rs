//! Breaking-news ticker lists: `HH:MM headline` items, newest first, for one day.
//!
//! The seed page runs every item together on one line (`17:00 Sudan: … 16:40 …`), so an
//! item starts wherever a `HH:MM ` token starts a word, not only at a line start.
//! A headline may hold digits and colons (`6.55%`, `Saudi Arabia-Pakistan`), but not
//! a `HH:MM ` word; one item per line is the unambiguous form.

use super::Diagnostic;
use crate::localtime::{self, DateError};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// One parsed ticker item, dated and with its permanent key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerItem {
    /// `2026-02-01/1420`, or `2026-02-01/1420-2` for the second item of that minute
    /// counted from the oldest, or the author's own `id=`.
    pub key: String,
    pub headline: String,
    pub published: DateTime<Utc>,
    pub link: Option<String>,
    pub category: Option<String>,
    /// 1-based line in the list, for messages about this item.
    pub line: usize,
}

struct Raw<'a> {
    time: NaiveTime,
    text: &'a str,
    line: usize,
}

/// Parses a day's list. Items that cannot be read are reported and left out;
/// the others are still returned, so one bad line does not hide a whole day.
pub fn parse(text: &str, day: NaiveDate, tz: Tz) -> (Vec<TickerItem>, Vec<Diagnostic>) {
    let mut raws = Vec::new();
    let mut diags = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if time_tokens(trimmed).first() != Some(&0) {
            diags.push(Diagnostic::at(
                line_no,
                "ticker line does not start with a time (expected \"HH:MM headline\")",
            ));
            continue;
        }
        raws.extend(split(trimmed).into_iter().map(|(time, text)| Raw {
            time,
            text,
            line: line_no,
        }));
    }

    let days = days(raws.iter().map(|r| r.time), day);
    let dated: Vec<_> = days.into_iter().zip(raws).collect();

    // Keys count same-minute items from the oldest, so a newer item at the top
    // of the list never shifts the key of one published before it.
    let mut items = Vec::with_capacity(dated.len());
    let mut seen = std::collections::HashMap::new();
    for (date, raw) in dated.into_iter().rev() {
        match item(date, &raw, tz, &mut seen) {
            Ok(item) => items.push(item),
            Err(e) => diags.push(Diagnostic::at(raw.line, e.to_string())),
        }
    }
    items.reverse();
    let mut keys = std::collections::HashSet::new();
    for it in &items {
        if !keys.insert(&it.key) {
            diags.push(Diagnostic::at(
                it.line,
                format!("ticker id {:?} is used twice", it.key),
            ));
        }
    }
    (items, diags)
}

/// What is wrong with one line of a ticker.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("ticker item at {} has no headline", .0.format("%H:%M"))]
    NoHeadline(NaiveTime),
    #[error("expected key=value after '|', got {0:?}")]
    Attribute(String),
    #[error("unknown ticker attribute {0:?} (expected category, link or id)")]
    UnknownAttribute(String),
    #[error(transparent)]
    Date(#[from] DateError),
}

fn item(
    date: NaiveDate,
    raw: &Raw<'_>,
    tz: Tz,
    seen: &mut std::collections::HashMap<(NaiveDate, NaiveTime), u32>,
) -> Result<TickerItem, LineError> {
    let mut parts = raw.text.split(" | ");
    let headline = parts.next().unwrap_or("").trim();
    if headline.is_empty() {
        return Err(LineError::NoHeadline(raw.time));
    }
    let (mut link, mut category, mut id) = (None, None, None);
    for attr in parts {
        let (key, value) = attr
            .split_once('=')
            .ok_or_else(|| LineError::Attribute(attr.to_owned()))?;
        let value = value.trim().to_owned();
        match key.trim() {
            "link" => link = Some(value),
            "category" => category = Some(value),
            "id" => id = Some(value),
            other => return Err(LineError::UnknownAttribute(other.to_owned())),
        }
    }
    let n = seen
        .entry((date, raw.time))
        .and_modify(|n| *n += 1)
        .or_insert(1);
    let key = match id {
        Some(id) => id,
        None if *n == 1 => format!("{}/{}", date.format("%Y-%m-%d"), raw.time.format("%H%M")),
        None => format!(
            "{}/{}-{n}",
            date.format("%Y-%m-%d"),
            raw.time.format("%H%M")
        ),
    };
    let published = localtime::local_date_time(date, raw.time, tz)?;
    Ok(TickerItem {
        key,
        headline: headline.to_owned(),
        published,
        link,
        category,
        line: raw.line,
    })
}

/// The items of one run of ticker text: each `HH:MM ` word starts one, and
/// what precedes the first is not an item. Shared with scraped tickers, whose
/// page may run a whole list together in one element.
pub fn split(text: &str) -> Vec<(NaiveTime, &str)> {
    let starts = time_tokens(text);
    starts
        .iter()
        .enumerate()
        .map(|(n, &start)| {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            let time = NaiveTime::parse_from_str(&text[start..start + 5], "%H:%M")
                .expect("checked by time_tokens");
            (time, text[start + 5..end].trim())
        })
        .collect()
}

/// The day of each time of a list that runs newest first from `day`: a time
/// later than the one before it means the list crossed midnight going back,
/// so it and everything after it belong to the day before.
pub fn days(times: impl IntoIterator<Item = NaiveTime>, day: NaiveDate) -> Vec<NaiveDate> {
    let mut date = day;
    let mut previous: Option<NaiveTime> = None;
    times
        .into_iter()
        .map(|time| {
            if previous.is_some_and(|p| time > p) {
                date -= Duration::days(1);
            }
            previous = Some(time);
            date
        })
        .collect()
}

/// How far a page's clock may run ahead of ours before its newest item is
/// taken for yesterday's.
pub const CLOCK_SLACK: Duration = Duration::minutes(10);

/// The day of the newest item of a list read at `now` (local time): today,
/// unless its time is still to come today (beyond [`CLOCK_SLACK`]), when it
/// is yesterday's.
pub fn newest_day(top: NaiveTime, now: chrono::NaiveDateTime) -> NaiveDate {
    let today = now.date();
    if today.and_time(top) > now + CLOCK_SLACK {
        today - Duration::days(1)
    } else {
        today
    }
}

/// Byte offsets where a `HH:MM` word followed by a space starts.
fn time_tokens(line: &str) -> Vec<usize> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 6 <= b.len() {
        let at_word_start = i == 0 || b[i - 1].is_ascii_whitespace();
        if at_word_start
            && b[i].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && b[i + 2] == b':'
            && b[i + 3].is_ascii_digit()
            && b[i + 4].is_ascii_digit()
            && b[i + 5] == b' '
            && (b[i] - b'0') * 10 + (b[i + 1] - b'0') < 24
            && b[i + 3] < b'6'
        {
            out.push(i);
            i += 6;
        } else {
            i += 1;
        }
    }
    out
}

/// The list's day from a file name such as `2026-02-01.txt`.
pub fn day_of_file(stem: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(stem, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Africa::Casablanca;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn run_together_form_splits_on_time_words_only() {
        let line = "14:40 Waymo aims to raise 16 billion dollars 14:20 New car sales in France down 6.55% in January \
                    14:20 Team of the week 10:40 Saudi Arabia-Pakistan defense pact will not include Turkey";
        let (items, diags) = parse(line, day("2026-02-01"), TZ);
        assert!(diags.is_empty(), "{diags:?}");
        let heads: Vec<_> = items.iter().map(|i| i.headline.as_str()).collect();
        assert_eq!(
            heads,
            [
                "Waymo aims to raise 16 billion dollars",
                "New car sales in France down 6.55% in January",
                "Team of the week",
                "Saudi Arabia-Pakistan defense pact will not include Turkey"
            ]
        );
    }

    #[test]
    fn same_minute_items_get_keys_counted_from_the_oldest() {
        let (items, _) = parse(
            "14:20 newer\n14:20 older\n14:00 before",
            day("2026-02-01"),
            TZ,
        );
        let keys: Vec<_> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["2026-02-01/1420-2", "2026-02-01/1420", "2026-02-01/1400"]
        );
        // A newer item at the same minute added on top keeps the others' keys.
        let (more, _) = parse(
            "14:20 newest\n14:20 newer\n14:20 older\n14:00 before",
            day("2026-02-01"),
            TZ,
        );
        assert_eq!(more[1].key, items[0].key);
        assert_eq!(more[2].key, items[1].key);
    }

    #[test]
    fn list_running_past_midnight_steps_back_a_day() {
        let (items, diags) = parse("00:20 a\n00:05 b\n23:50 c\n23:10 d", day("2026-02-01"), TZ);
        assert!(diags.is_empty());
        let when: Vec<_> = items.iter().map(|i| i.published.to_rfc3339()).collect();
        assert_eq!(
            when,
            [
                "2026-01-31T23:20:00+00:00",
                "2026-01-31T23:05:00+00:00",
                "2026-01-31T22:50:00+00:00",
                "2026-01-31T22:10:00+00:00"
            ]
        );
        assert_eq!(items[2].key, "2026-01-31/2350");
    }

    #[test]
    fn a_list_read_now_starts_today_unless_its_top_time_is_yet_to_come() {
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert_eq!(
            newest_day(t("09:50"), at("2026-02-01 10:00")),
            day("2026-02-01")
        );
        // A page clock a few minutes ahead of ours is still today.
        assert_eq!(
            newest_day(t("10:05"), at("2026-02-01 10:00")),
            day("2026-02-01")
        );
        assert_eq!(
            newest_day(t("23:50"), at("2026-02-01 00:10")),
            day("2026-01-31")
        );
        assert_eq!(
            days([t("00:05"), t("23:40"), t("22:00")], day("2026-02-01")),
            [day("2026-02-01"), day("2026-01-31"), day("2026-01-31")]
        );
    }

    #[test]
    fn ramadan_day_is_utc_plus_zero() {
        let (items, _) = parse("17:00 during Ramadan", day("2026-03-01"), TZ);
        assert_eq!(items[0].published.to_rfc3339(), "2026-03-01T17:00:00+00:00");
    }

    #[test]
    fn attributes_and_bad_lines() {
        let text = "17:00 Sudan | category=world | link=https://x.example/a\nno time here\n16:00 x | colour=red\n15:00 y | id=fixed";
        let (items, diags) = parse(text, day("2026-02-01"), TZ);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].category.as_deref(), Some("world"));
        assert_eq!(items[0].link.as_deref(), Some("https://x.example/a"));
        assert_eq!(items[1].key, "fixed");
        let lines: Vec<_> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(diags[0].message.contains("does not start with a time"));
    }
}
