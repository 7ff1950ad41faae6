//! Rows to values and back: items as JSON documents with their hash, times
//! as unix milliseconds, `sources` rows as fetch states, and the JSON lists
//! both backends expand in SQL.

use super::{FeedState, Result, StoreError};
use crate::model::{FeedId, FetchState, Item, ItemKind};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// The feeds of a write as JSON `[[feed, newest data date or 0], ...]`, which both
/// backends expand in SQL to bump versions and Last-Modified in one statement.
pub(crate) fn feed_changes(changed: &BTreeSet<FeedId>, dates: &BTreeMap<String, i64>) -> String {
    let rows: Vec<(std::borrow::Cow<str>, i64)> = changed
        .iter()
        .map(|f| (f.key(), dates.get(f.key().as_ref()).copied().unwrap_or(0)))
        .collect();
    serde_json::to_string(&rows).expect("strings and numbers serialize")
}

/// Feed keys as the JSON array the archive queries bind (each backend
/// expands it in SQL with its `FEEDS_IN`).
pub(crate) fn feed_keys(feeds: &[FeedId]) -> String {
    let keys: Vec<std::borrow::Cow<str>> = feeds.iter().map(FeedId::key).collect();
    serde_json::to_string(&keys).expect("strings serialize")
}

/// `feed_versions` rows (feed, version, modified) as the map `versions()` returns.
pub(crate) fn feed_states(rows: Vec<(String, i64, i64)>) -> BTreeMap<FeedId, FeedState> {
    rows.into_iter()
        .map(|(feed, version, modified)| {
            let modified = from_millis(modified);
            (FeedId::from_key(&feed), FeedState { version, modified })
        })
        .collect()
}

/// A `sources` row: name, url, origin, etag, last_modified, last_status,
/// last_error, failures, last_fetch, next_fetch, lease_owner, lease_until,
/// body_hash, items, paused_at.
pub(crate) type SourceRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

pub(crate) const SOURCE_COLUMNS: &str = "name, url, origin, etag, last_modified, last_status, \
     last_error, failures, last_fetch, next_fetch, lease_owner, lease_until, body_hash, items, \
     paused_at";

pub(crate) fn fetch_state(row: SourceRow) -> FetchState {
    let (
        source,
        url,
        origin,
        etag,
        last_modified,
        status,
        last_error,
        failures,
        last,
        next,
        owner,
        until,
        body_hash,
        items,
        paused,
    ) = row;
    FetchState {
        body_hash,
        items: u64::try_from(items).unwrap_or(0),
        source,
        // A row from before origins were kept had its URL as its origin.
        origin: origin.unwrap_or_else(|| url.clone()),
        url,
        etag,
        last_modified,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error,
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_fetch: last.map(from_millis),
        next_fetch: from_millis(next),
        lease_owner: owner,
        lease_until: until.map(from_millis),
        paused: paused.map(from_millis),
    }
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The `seen` a new row of an external item starts with: the document that
/// brought it first carried it when it was first seen, so the take's
/// [`crate::store::Store::carried`] finds the row marked already instead of
/// writing every new row a second time (SQLite rewrites a whole row, body
/// included, to change one column).
pub(crate) fn carried_since(item: &Item) -> Option<i64> {
    item.origin.as_ref()?.first_seen.map(millis)
}

/// Items handed to a write with their stored form worked out: each one's
/// document and the document's hash ([`encode`]), made by the caller where
/// it has a core of its own (the poller's gate threads, each API request's
/// task, the importer's writing task). The one committer otherwise
/// serialized and hashed every item of every group in turn, on the path of
/// every later group.
pub struct Encoded {
    pub(crate) items: Vec<Item>,
    pub(crate) docs: Vec<(String, String)>,
}

impl Encoded {
    pub fn new(items: Vec<Item>) -> Encoded {
        let docs = items.iter().map(encode).collect();
        Encoded { items, docs }
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }
}

pub(crate) fn encode(item: &Item) -> (String, String) {
    let doc = serde_json::to_string(item).expect("an Item always serializes");
    let hash = crate::hash::hash_hex(doc.as_bytes());
    (doc, hash)
}

pub(crate) fn decode(id: &str, doc: &str) -> Result<Item, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        message: e.to_string(),
    })
}

/// A kept archive document's bytes: as stored, or its gzip's unzipped
/// where it is kept compressed only (migrations `0018` on SQLite and
/// `0020` on PostgreSQL). `at` names the document in an error.
pub(crate) fn kept_bytes(at: &str, body: Option<Vec<u8>>, gzip: Option<&[u8]>) -> Result<Vec<u8>> {
    if let Some(body) = body {
        return Ok(body);
    }
    let corrupt = |message: String| StoreError::Corrupt {
        id: at.to_owned(),
        message,
    };
    let gz = gzip.ok_or_else(|| corrupt("a kept document with neither bytes nor gzip".into()))?;
    // Sized by the member's ISIZE (its length modulo 2^32, RFC 1952), so
    // that 1.4 MB is not reached by doubling; a hint only, bounded.
    let size = gz
        .last_chunk::<4>()
        .map_or(0, |n| u32::from_le_bytes(*n) as usize);
    let mut out = Vec::with_capacity(size.min(64 << 20));
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut out)
        .map_err(|e| corrupt(format!("its gzip: {e}")))?;
    Ok(out)
}

pub(crate) fn kind_str(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Article => "article",
        ItemKind::Breaking => "breaking",
    }
}

/// The least string above every string that starts with `prefix`, in the
/// byte order both backends compare `source` in (UTF-8 keeps code point
/// order): the prefix with its last character raised by one. A scope's
/// items are then a range of the `items_source` index, where a `substr`
/// test read every row. None for an empty prefix or one ending in the
/// last code point.
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    let last = chars.pop()?;
    let next = match last as u32 + 1 {
        0xD800 => '\u{E000}',
        n => char::from_u32(n)?,
    };
    chars.push(next);
    Some(chars.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_end_bounds_exactly_the_strings_with_the_prefix() {
        assert_eq!(prefix_end("file:").as_deref(), Some("file;"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        for prefix in ["file:", "scrape:x", "é", "a\u{7F}", "z\u{FFFF}"] {
            let end = prefix_end(prefix).unwrap();
            for s in [
                prefix.to_string(),
                format!("{prefix}\u{0}"),
                format!("{prefix}zzz"),
                format!("{prefix}\u{10FFFF}\u{10FFFF}"),
            ] {
                assert!(
                    prefix.as_bytes() <= s.as_bytes() && s.as_bytes() < end.as_bytes(),
                    "{s:?} in [{prefix:?}, {end:?})"
                );
            }
            let outside = [end.clone(), format!("{end}a")];
            for s in outside {
                assert!(s.as_bytes() >= end.as_bytes(), "{s:?} outside");
            }
        }
    }

    #[test]
    fn a_kept_document_s_bytes_come_from_its_gzip_or_a_clear_error() {
        use super::kept_bytes;
        let body = b"<rss>a kept page</rss>".repeat(500);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &body).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(kept_bytes("p", None, Some(&gz)).unwrap(), body);
        // Stored bytes win over the gzip.
        assert_eq!(
            kept_bytes("p", Some(b"as is".to_vec()), Some(&gz)).unwrap(),
            b"as is"
        );
        for (bad, why) in [
            (None, "neither bytes nor gzip"),
            (Some(&b"not a gzip"[..]), "its gzip"),
            (Some(&gz[..gz.len() / 2]), "its gzip"),
        ] {
            let e = kept_bytes("world/3.rss", None, bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("world/3.rss") && e.contains(why), "{e}");
        }
    }
}
