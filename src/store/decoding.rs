//! A large read's documents (an archive page's 500, 2 MB) decoded on the
//! blocking threads while the rest of the read is still arriving.
//!
//! PostgreSQL sends a page's rows as it reads them: decoded only once the
//! last had come, the page waited for the read and then for the decoding
//! (3.6 ms of a 23 ms first request). Here every batch of rows starts
//! decoding as soon as it is full, on both cores, and the read goes on.
//! SQLite's read is one joined value; it is decoded in two halves at once.

use super::{Result, StoreError, decode};
use crate::model::Item;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The record separator (U+001E), between joined documents. A `char`: as
/// a pattern it is found with memchr, where the one-character `&str` went
/// through the two-way string search, 4% of the CPU of serving archive
/// pages on demand.
pub(crate) const DOCS_SEPARATOR: char = '\u{1e}';

/// The bytes of documents a blocking thread is given at once: large enough
/// that a hop to a thread (a few microseconds) is a small share of it,
/// small enough that the first batch starts while most rows are still on
/// their way.
const BATCH: usize = 128 << 10;

/// Documents arriving one or several at a time, decoded in batches.
#[derive(Default)]
pub(crate) struct Decoding {
    batch: Vec<String>,
    bytes: usize,
    running: Vec<JoinHandle<Result<Vec<Item>>>>,
}

impl Decoding {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// One document, or several joined by [`DOCS_SEPARATOR`] (in SQL:
    /// `PAGE_DOCS`). The separator cannot be part of a document: JSON
    /// writes control characters escaped, in strings and out of them.
    pub(crate) fn push(&mut self, docs: String) {
        self.bytes += docs.len();
        self.batch.push(docs);
        if self.bytes >= BATCH {
            self.start();
        }
    }

    /// The batch handed to the blocking threads: one joined value of two
    /// batches or more in two halves (a reader waits half the time), else
    /// whole.
    fn start(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.bytes = 0;
        if let [joined] = batch.as_slice()
            && let Some(split) = middle(joined).filter(|_| joined.len() >= 2 * BATCH)
        {
            let joined = Arc::new(batch.into_iter().next().unwrap_or_default());
            let later = joined.clone();
            self.running.push(tokio::task::spawn_blocking(move || {
                decode_pieces(&later[split + 1..])
            }));
            self.running.push(tokio::task::spawn_blocking(move || {
                decode_pieces(&joined[..split])
            }));
            return;
        }
        self.running.push(tokio::task::spawn_blocking(move || {
            let mut items = Vec::new();
            for docs in &batch {
                items.extend(decode_pieces(docs)?);
            }
            Ok(items)
        }));
    }

    /// Every document's item, in no order. A read smaller than a batch is
    /// decoded here, without a hop to another thread.
    pub(crate) async fn finish(mut self) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        for docs in std::mem::take(&mut self.batch) {
            items.extend(decode_pieces(&docs)?);
        }
        for task in self.running {
            items.extend(task.await.expect("decoding does not panic")?);
        }
        Ok(items)
    }
}

/// The separator nearest after the middle (an ASCII byte: a boundary).
fn middle(joined: &str) -> Option<usize> {
    let half = joined.len() / 2;
    memchr::memchr(DOCS_SEPARATOR as u8, &joined.as_bytes()[half..]).map(|at| half + at)
}

fn decode_pieces(joined: &str) -> Result<Vec<Item>, StoreError> {
    if joined.is_empty() {
        return Ok(Vec::new());
    }
    joined
        .split(DOCS_SEPARATOR)
        .map(|doc| decode("(one of several read at once)", doc))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{BATCH, DOCS_SEPARATOR, Decoding};
    use crate::store::{StoreError, encode};

    async fn decoded(pushed: &[String]) -> Result<Vec<crate::model::Item>, StoreError> {
        let mut decoding = Decoding::new();
        for docs in pushed {
            decoding.push(docs.clone());
        }
        let mut items = decoding.finish().await?;
        items.sort_by_key(|i| i.published);
        Ok(items)
    }

    /// Documents come back whole, each once, whether they arrive joined
    /// (as `PAGE_DOCS` joins them: on either side of the split of a large
    /// value) or a row each (in batches decoded while more arrive), and
    /// whatever their text holds (the separator itself, escaped;
    /// characters of several bytes where the middle falls). A document
    /// that is not one is an error, not a shorter list.
    #[tokio::test]
    async fn documents_decode_whole_and_each_once() {
        assert!(decoded(&[String::new()]).await.unwrap().is_empty());
        assert!(decoded(&[]).await.unwrap().is_empty());
        for n in [1, 3, 400] {
            let items: Vec<_> = (0..n)
                .map(|i| {
                    let mut item = crate::store::conformance::item(&format!("i{i}"), "world", i);
                    item.title = format!("\u{1e}é{i}\u{1e}");
                    item.content_html = Some(format!("<p>{}</p>", "ßé✓".repeat(300 + i as usize)));
                    item
                })
                .collect();
            let docs: Vec<String> = items.iter().map(|i| encode(i).0).collect();
            let joined = docs.join(DOCS_SEPARATOR.encode_utf8(&mut [0; 4]));
            assert_eq!(n < 400, joined.len() < 2 * BATCH, "{}", joined.len());
            assert_eq!(decoded(std::slice::from_ref(&joined)).await.unwrap(), items);
            assert_eq!(decoded(&docs).await.unwrap(), items);
            // A document cut short, on either side of the middle.
            for at in [10, joined.len() - 10] {
                let mut broken = joined.clone();
                let at = (at..).find(|&i| broken.is_char_boundary(i)).unwrap();
                broken.insert(at, DOCS_SEPARATOR);
                assert!(matches!(
                    decoded(&[broken]).await,
                    Err(StoreError::Corrupt { .. })
                ));
            }
            // One row of many broken, in whichever batch it falls.
            let mut rows = docs.clone();
            rows[n as usize / 2].truncate(20);
            assert!(matches!(
                decoded(&rows).await,
                Err(StoreError::Corrupt { .. })
            ));
        }
    }
}
