//! Dates as feeds in the wild write them. feed-rs's own parser (which this one
//! replaces, through its `timestamp_parser` hook) silently drops W3C-DTF with
//! minute precision (`2024-11-18T21:54+00:00`, a valid `dc:date`: 9.5% of RDF
//! items in a corpus measured for this project) and RFC 850 (`Tuesday,
//! 19-Nov-2024 14:46:44 UTC`). chrono does the parsing; this file only lists the
//! shapes to try, after naming the time zone abbreviations chrono cannot read.
//! Pages write dates their own way too ([`on_page`]: a scrape's `date_format`,
//! in its language).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

/// Shapes with an offset, tried in order after RFC 3339 and RFC 2822 (weekday
/// already removed; chrono's `%B` also reads full month names).
const ZONED: &[&str] = &[
    // W3C-DTF and ISO 8601 variants: minutes only, offsets without a colon,
    // a space instead of the `T`.
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M%:z",
    // RFC 822 family: RFC 850's dashes, missing seconds, two-digit years.
    // Two-digit years first: `%Y` would read `24` as the year 24.
    "%d-%B-%y %H:%M:%S %z",
    "%d %B %y %H:%M:%S %z",
    "%d %B %y %H:%M %z",
    "%d-%B-%Y %H:%M:%S %z",
    "%d %B %Y %H:%M:%S %z",
    "%d %B %Y %H:%M %z",
    "%B %d %Y %H:%M:%S %z",
    "%B %d, %Y %H:%M:%S %z",
    "%d %B %Y %H.%M.%S %z",
];

/// Shapes without a zone: read as UTC, which is what feeds that omit it mean
/// most often and what other aggregators assume.
const NAIVE: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%d %B %Y %H:%M:%S",
    "%d %B %Y %H:%M",
    "%d-%B-%Y %H:%M:%S",
    // asctime, as some old RSS 0.9x feeds write it.
    "%B %e %H:%M:%S %Y",
    "%B %d %H:%M:%S %Y",
];

/// Date-only shapes: midnight UTC.
const DAYS: &[&str] = &["%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%Y/%m/%d"];

/// Zone abbreviations RFC 822 and RFC 850 allow (and a few feeds use), as
/// offsets chrono can parse.
const ZONES: &[(&str, &str)] = &[
    ("UTC", "+0000"),
    ("GMT", "+0000"),
    ("UT", "+0000"),
    ("Z", "+0000"),
    ("EST", "-0500"),
    ("EDT", "-0400"),
    ("CST", "-0600"),
    ("CDT", "-0500"),
    ("MST", "-0700"),
    ("MDT", "-0600"),
    ("PST", "-0800"),
    ("PDT", "-0700"),
    ("CET", "+0100"),
    ("CEST", "+0200"),
];

/// Parses a feed date; `None` when no known shape matches.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 100 {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_utc());
    }
    // RFC 822's weekday says nothing the date does not, and is wrong as often
    // as not: chrono refuses a date whose weekday disagrees, and reads the
    // same date without one.
    if let Ok(t) = DateTime::parse_from_rfc2822(without_weekday(text)) {
        return Some(t.to_utc());
    }
    // W3C-DTF to the minute, RSS 1.0's usual `dc:date`, as it comes.
    if let Some(t) = ZONED[..2]
        .iter()
        .find_map(|f| DateTime::<FixedOffset>::parse_from_str(text, f).ok())
    {
        return Some(t.to_utc());
    }
    let normal = normalize(text);
    let s = normal.as_str();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.to_utc());
    }
    ZONED
        .iter()
        .find_map(|f| DateTime::<FixedOffset>::parse_from_str(s, f).ok())
        .map(|t| t.to_utc())
        .or_else(|| {
            NAIVE
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            DAYS.iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// One space between words, no leading weekday (`Tuesday,`, `Tue`), and a
/// trailing zone abbreviation (or `Z` after a time) as a numeric offset.
fn normalize(text: &str) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if let Some(first) = words.first() {
        let day = first.trim_end_matches(',');
        if day.len() >= 3 && day.chars().all(|c| c.is_ascii_alphabetic()) && is_weekday(day) {
            words.remove(0);
        }
    }
    let mut out = words.join(" ");
    if let Some((rest, zone)) = out.rsplit_once(' ')
        && let Some((_, offset)) = ZONES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(zone))
    {
        out = format!("{rest} {offset}");
    } else if out.ends_with('Z') && out.len() > 1 {
        out.pop();
        out.push_str("+00:00");
    }
    out
}

fn is_weekday(word: &str) -> bool {
    word.get(..3).is_some_and(|w| {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .any(|d| w.eq_ignore_ascii_case(d))
    })
}

/// `text` without a leading weekday (`Tue,`, `Tuesday`), as is.
fn without_weekday(text: &str) -> &str {
    let end = text.find([',', ' ']).unwrap_or(0);
    let day = &text[..end];
    if day.len() >= 3 && day.bytes().all(|b| b.is_ascii_alphabetic()) && is_weekday(day) {
        text[end..].trim_start_matches([',', ' '])
    } else {
        text
    }
}

/// A date as a page writes it: with `format` (chrono's, month and day names
/// in `language`), else RFC 3339, RFC 2822 and the forms feeds use, else a
/// local `YYYY-MM-DD HH:MM`. Text around the date ("Published on …", "| 3 min
/// read") is skipped.
pub fn on_page(
    text: &str,
    format: Option<&str>,
    language: Option<&str>,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(format) = format {
        let english = crate::localtime::to_english(&text, language);
        // From each word on, so a label before the date does not stop it.
        let starts = std::iter::once(0).chain(english.match_indices(' ').map(|(i, _)| i + 1));
        for start in starts.take(12) {
            if let Some(at) = with_format(&english[start..], format, tz) {
                return Some(at);
            }
        }
    }
    parse(&text).or_else(|| crate::localtime::parse_date(&text, tz).ok())
}

fn with_format(text: &str, format: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok((at, _)) = DateTime::parse_and_remainder(text, format) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok((local, _)) = NaiveDateTime::parse_and_remainder(text, format) {
        return crate::localtime::local_to_utc(local, tz).ok();
    }
    let (day, _) = NaiveDate::parse_and_remainder(text, format).ok()?;
    crate::localtime::local_to_utc(day.and_time(NaiveTime::MIN), tz).ok()
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn utc(text: &str) -> String {
        parse(text)
            .unwrap_or_else(|| panic!("no date from {text:?}"))
            .to_rfc3339()
    }

    #[test]
    fn the_shapes_feed_rs_drops() {
        assert_eq!(utc("2024-11-18T21:54+00:00"), "2024-11-18T21:54:00+00:00");
        assert_eq!(utc("2024-11-18T21:54+01:00"), "2024-11-18T20:54:00+00:00");
        assert_eq!(utc("2024-11-18T21:54Z"), "2024-11-18T21:54:00+00:00");
        assert_eq!(
            utc("Tuesday, 19-Nov-2024 14:46:44 UTC"),
            "2024-11-19T14:46:44+00:00"
        );
        assert_eq!(
            utc("Tuesday, 19-Nov-24 14:46:44 GMT"),
            "2024-11-19T14:46:44+00:00"
        );
    }

    #[test]
    fn the_common_shapes() {
        for (text, want) in [
            ("2024-11-18T21:54:10Z", "2024-11-18T21:54:10+00:00"),
            (
                "2024-11-18T21:54:10.123+02:00",
                "2024-11-18T19:54:10.123+00:00",
            ),
            ("2024-11-18T21:54:10+0200", "2024-11-18T19:54:10+00:00"),
            ("2024-11-18 21:54:10", "2024-11-18T21:54:10+00:00"),
            ("2024-11-18", "2024-11-18T00:00:00+00:00"),
            (
                "Mon, 18 Nov 2024 21:54:10 +0100",
                "2024-11-18T20:54:10+00:00",
            ),
            ("Mon, 18 Nov 2024 21:54:10 GMT", "2024-11-18T21:54:10+00:00"),
            ("Mon, 18 Nov 2024 21:54:10 EST", "2024-11-19T02:54:10+00:00"),
            ("Mon, 18 Nov 2024 21:54 +0000", "2024-11-18T21:54:00+00:00"),
            ("18 Nov 2024 21:54:10 +0000", "2024-11-18T21:54:10+00:00"),
            (
                "Monday, 18 November 2024 21:54:10 +0000",
                "2024-11-18T21:54:10+00:00",
            ),
            (
                "Mon,  18 Nov 2024   21:54:10 UTC",
                "2024-11-18T21:54:10+00:00",
            ),
            ("Mon Nov 18 21:54:10 2024", "2024-11-18T21:54:10+00:00"),
            // A weekday that disagrees with the date is not read.
            (
                "Fri, 18 Nov 2024 21:54:10 +0100",
                "2024-11-18T20:54:10+00:00",
            ),
            (
                "Thursday, 18 Nov 2024 21:54 GMT",
                "2024-11-18T21:54:00+00:00",
            ),
        ] {
            assert_eq!(utc(text), want, "{text}");
        }
    }

    #[test]
    fn nonsense_is_no_date() {
        for text in [
            "",
            "yesterday",
            "2024-13-45",
            "Mon, 32 Foo 2024",
            &"9".repeat(500),
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
