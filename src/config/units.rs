//! How people write values in the config: durations (`15m`), time zones by
//! IANA name, slugs; and `file:line` for the messages about them.

pub mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    /// A duration that is not one.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum DurationError {
        #[error("expected a duration such as \"15m\", got {0:?}")]
        Number(String),
        #[error("unknown unit in {0:?} (s, m, h or d)")]
        Unit(String),
    }

    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| DurationError::Number(text.to_owned()))?;
        let unit = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(DurationError::Unit(text.to_owned())),
        };
        Ok(Duration::from_secs(n.saturating_mul(unit)))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }

    fn from_raw(raw: Raw) -> Result<Duration, DurationError> {
        match raw {
            Raw::Seconds(n) => Ok(Duration::from_secs(n)),
            Raw::Text(t) => parse(&t),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_raw(Raw::deserialize(d)?).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Option::<Raw>::deserialize(d)?
                .map(from_raw)
                .transpose()
                .map_err(serde::de::Error::custom)
        }
    }
}

pub(super) mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer};
    fn zone<E: serde::de::Error>(name: String) -> Result<Tz, E> {
        name.parse::<Tz>().map_err(|_| {
            E::custom(format!(
                "unknown time zone {name:?} (an IANA name such as \"Africa/Casablanca\")"
            ))
        })
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        zone(String::deserialize(d)?)
    }
    pub mod option {
        use super::*;
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
            Option::<String>::deserialize(d)?.map(zone).transpose()
        }
    }
}

/// Lowercase ASCII letters, digits and `-`, not empty: names that fit a URL and
/// a file name as they are.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// 1-based line of a byte offset, for file:line messages.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
