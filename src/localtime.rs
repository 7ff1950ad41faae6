//! Local wall-clock times of the site to UTC and back, through chrono-tz so that
//! zone rules (Morocco's Ramadan switch to UTC+0) come from the tz database.

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Why a date string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DateError {
    #[error(
        "expected RFC 3339 (2026-02-01T17:00:00+01:00) or local \"YYYY-MM-DD HH:MM\", got {0:?}"
    )]
    Format(String),
    #[error("{0} does not exist in {1} (clocks jump over it)")]
    Skipped(NaiveDateTime, Tz),
}

/// A local date and time in the site's zone. An ambiguous time (clocks set back)
/// takes the earlier instant, so a ticker keeps its order.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, DateError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => Err(DateError::Skipped(local, tz)),
    }
}

pub fn local_date_time(
    date: NaiveDate,
    time: NaiveTime,
    tz: Tz,
) -> Result<DateTime<Utc>, DateError> {
    local_to_utc(date.and_time(time), tz)
}

/// Either an RFC 3339 timestamp (its own offset wins) or a local `YYYY-MM-DD HH:MM[:SS]`
/// read in the site's zone, as authors and CMSs write dates.
pub fn parse_date(s: &str, tz: Tz) -> Result<DateTime<Utc>, DateError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(s, fmt) {
            return local_to_utc(local, tz);
        }
    }
    Err(DateError::Format(s.to_owned()))
}

/// The instant as the site's readers see it, with the numeric offset in force then.
pub fn in_zone(t: DateTime<Utc>, tz: Tz) -> DateTime<FixedOffset> {
    t.with_timezone(&tz).fixed_offset()
}

/// The locale a site's `language` (`en`, `fr-MA`) names, for dates written
/// in words: the language with its region, else the language with the region
/// of its own name (`fr` is `fr_FR`), else English.
pub fn locale(language: &str) -> chrono::Locale {
    let tag = language.replace('-', "_");
    let lang = tag.split('_').next().unwrap_or("en").to_ascii_lowercase();
    [
        tag.clone(),
        format!("{lang}_{}", lang.to_ascii_uppercase()),
        "en_US".into(),
    ]
    .iter()
    .find_map(|t| chrono::Locale::try_from(t.as_str()).ok())
    .unwrap_or(chrono::Locale::en_US)
}

/// A time as readers of the site read it: in the site's zone and language,
/// day, month in words, year and time (`3 Dec 2026, 17:00`, `3 déc. 2026, 17:00`).
pub fn in_words(t: DateTime<Utc>, tz: Tz, locale: chrono::Locale) -> String {
    t.with_timezone(&tz)
        .format_localized("%-d %b %Y, %H:%M", locale)
        .to_string()
}

/// Languages whose month and day names dates may use (`date_format` of a
/// scrape): what [`to_english`] translates.
pub const LANGUAGES: &[&str] = &["en", "fr"];

/// Month and day names of `language` in English, which is all chrono reads.
pub fn to_english(text: &str, language: Option<&str>) -> String {
    if language != Some("fr") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            out.push_str(french(word).unwrap_or(word));
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            // "déc." is "Dec".
            if c != '.' || !out.ends_with(|c: char| c.is_ascii_alphabetic()) {
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

fn french(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    Some(match w.as_str() {
        "lundi" => "Monday",
        "mardi" => "Tuesday",
        "mercredi" => "Wednesday",
        "jeudi" => "Thursday",
        "vendredi" => "Friday",
        "samedi" => "Saturday",
        "dimanche" => "Sunday",
        "janvier" => "January",
        "février" | "fevrier" => "February",
        "mars" => "March",
        "avril" => "April",
        "mai" => "May",
        "juin" => "June",
        "juillet" => "July",
        "août" | "aout" => "August",
        "septembre" => "September",
        "octobre" => "October",
        "novembre" => "November",
        "décembre" | "decembre" => "December",
        // Abbreviations as chrono's `%b` reads them (`%B` takes both).
        "janv" => "Jan",
        "févr" | "fevr" | "fév" | "fev" => "Feb",
        "avr" => "Apr",
        "juil" => "Jul",
        "sept" => "Sep",
        "oct" => "Oct",
        "nov" => "Nov",
        "déc" | "dec" => "Dec",
        // "1er décembre".
        "1er" => "1",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn casablanca() -> Tz {
        chrono_tz::Africa::Casablanca
    }

    #[test]
    fn dates_in_the_sites_language_and_zone() {
        let t = Utc.with_ymd_and_hms(2026, 12, 3, 16, 0, 0).unwrap();
        let tz: Tz = "Africa/Casablanca".parse().unwrap();
        assert_eq!(in_words(t, tz, locale("en")), "3 Dec 2026, 17:00");
        assert_eq!(in_words(t, tz, locale("fr-MA")), "3 déc. 2026, 17:00");
        assert_eq!(locale("xx"), chrono::Locale::en_US);
    }

    #[test]
    fn casablanca_is_utc_plus_one_outside_ramadan() {
        let t = parse_date("2026-02-01 17:00", casablanca()).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-02-01T16:00:00+00:00");
        assert_eq!(
            in_zone(t, casablanca()).to_rfc3339(),
            "2026-02-01T17:00:00+01:00"
        );
    }

    #[test]
    fn casablanca_is_utc_during_ramadan_2026() {
        // Ramadan 1447 runs from about 2026-02-18 to 2026-03-19; Morocco keeps UTC+0 then.
        let t = parse_date("2026-03-01 12:00", casablanca()).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-01T12:00:00+00:00");
        assert_eq!(
            in_zone(t, casablanca()).to_rfc2822(),
            "Sun, 1 Mar 2026 12:00:00 +0000"
        );
    }

    #[test]
    fn explicit_offset_wins_over_site_zone() {
        let t = parse_date("2026-02-01T17:00:00+03:00", casablanca()).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-02-01T14:00:00+00:00");
    }

    #[test]
    fn garbage_is_a_format_error() {
        assert!(matches!(
            parse_date("yesterday", casablanca()),
            Err(DateError::Format(_))
        ));
        assert!(matches!(
            parse_date("2026-02-30 10:00", casablanca()),
            Err(DateError::Format(_))
        ));
    }
}
