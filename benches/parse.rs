//! The cost of taking external feeds, in ratios measured in one run:
//!
//! - **parse and normalize** (newswire's `sources::parse`: decoding, the
//!   format's parser, dates, entries to items, without the gate) against
//!   quick-xml's raw event loop (events plus text unescape; serde_json's
//!   `Value` for JSON Feed) on the same bytes: the floor any XML parse costs;
//! - a **re-poll of an unchanged body** from an upstream without validators
//!   (the body's hash, compared), and of a body whose only change is outside the
//!   entries (parsed and every entry's digest compared, nothing sanitized),
//!   against a first parse with the gate;
//! - **merge**: 1,000 feeds × 50 items with summaries into a 500-item
//!   timeline, one story in twenty carried by two feeds (the second's
//!   headline shorter), found and credited once; words drawn from a skewed
//!   vocabulary of 5,000 (see `story`); and as a render pass merges a
//!   timeline, its window of the newest 500 items of those feeds as one list.
//!
//! `cargo bench --bench parse` (NEWSWIRE_BENCH_FEEDS=200 by default).

#[path = "corpus.rs"]
mod corpus;

use chrono::{TimeZone, Utc};
use newswire::model::{Item, ItemKind, Origin, Source};
use newswire::sources::parse::{self, SourceInfo};
use quick_xml::events::Event;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Best of `runs` timings of `f`, for a figure that the machine's noise
/// inflates least.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("at least one run")
}

fn raw_events(body: &[u8]) -> usize {
    if body.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        return v["items"].as_array().map_or(0, Vec::len);
    }
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        match reader.read_event_into(&mut buf).expect("XML") {
            Event::Eof => break,
            Event::Text(t) => {
                n += t.xml10_content().expect("text").len();
            }
            Event::CData(t) => n += t.len(),
            Event::GeneralRef(r) => n += r.len(),
            Event::Start(e) | Event::Empty(e) => {
                for a in e.attributes() {
                    n += a.expect("attribute").value.len();
                }
            }
            _ => {}
        }
        buf.clear();
    }
    n
}

fn take(body: &[u8], url: &url::Url, gate: bool) -> usize {
    let mut parsed = parse::parse(body, None, url).expect("a feed");
    let info = SourceInfo {
        name: "bench",
        title: None,
        feed_url: url.as_str(),
        categories: &[],
        tag_prefix: "tag:bench.example,2026:",
    };
    let now = Utc::now();
    let mut n = 0;
    // As the poller does: each entry taken into its item.
    for e in std::mem::take(&mut parsed.entries) {
        let id = parse::upstream_id(&e);
        let item = parse::to_item(e, &parsed, &info, id, now);
        n += if gate {
            newswire::gate::admit(item, newswire::gate::Trust::Lenient, now)
                .map_or(0, |i| i.title.len())
        } else {
            item.title.len()
        };
    }
    n
}

/// Syllables of the merge corpus's made-up words.
const SYLLABLES: &[&str] = &[
    "ka", "lo", "ri", "ten", "mar", "so", "vi", "den", "tra", "pel", "no", "gu", "sha", "bel",
    "cor", "da",
];

/// Word `k` of the corpus's vocabulary: two syllables or more.
fn made_up(mut k: usize) -> String {
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[k % SYLLABLES.len()]);
        k /= SYLLABLES.len();
        if k == 0 && w.len() >= 4 {
            return w;
        }
    }
}

/// A xorshift generator: the corpus is the same on every run.
struct Draw(u64);

impl Draw {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One of `n`, the first far more often than the last (as a news
    /// vocabulary: a few words in many headlines, most in few).
    fn skewed(&mut self, n: usize) -> usize {
        (n as f64 * self.unit().powi(3)) as usize
    }

    fn word(&mut self, n: usize) -> String {
        made_up(self.skewed(n))
    }

    fn name(&mut self, n: usize) -> String {
        let w = self.word(n);
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }
}

/// One story's headline and summary, drawn from its seed: words from a
/// vocabulary of 5,000 and names from one of 500, and a number.
fn story(seed: u64) -> (String, String) {
    let mut d = Draw(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (who, place) = (d.name(500), d.name(500));
    let w: Vec<String> = (0..4).map(|_| d.word(5000)).collect();
    let n = 2 + (5000.0 * d.unit()) as usize;
    let title = format!(
        "{who} {} {} {} of {n} in {place} {}",
        w[0], w[1], w[2], w[3]
    );
    let lead: Vec<String> = (0..28).map(|_| d.word(5000)).collect();
    let summary = format!(
        "Officials in {place} said {who} {} {n} {}.",
        lead[..14].join(" "),
        lead[14..].join(" ")
    );
    (title, summary)
}

/// `feeds` feeds of `per` items each, newest first, as the poller stores
/// them (prints worked out). One story in twenty is carried by two feeds,
/// the second's headline shorter, so the merge finds copies as well as
/// tells stories apart.
fn merge_lists(feeds: usize, per: usize) -> Vec<Vec<Item>> {
    (0..feeds)
        .map(|f| {
            (0..per)
                .map(|j| {
                    let copy = f % 10 == 1 && j % 2 == 0;
                    // A copy is published a minute after its original.
                    let at = |f: usize| {
                        Utc.with_ymd_and_hms(2026, 11, 28, 23, 0, 0).unwrap()
                            - chrono::Duration::minutes((j * 37 + f % 37) as i64)
                    };
                    let t = if copy {
                        at(f - 1) + chrono::Duration::minutes(1)
                    } else {
                        at(f)
                    };
                    let seed = if copy { (f - 1) * per + j } else { f * per + j } as u64;
                    let (mut title, summary) = story(seed);
                    if copy {
                        // Another outlet's shorter headline: its second
                        // and last words dropped.
                        let words: Vec<&str> = title.split(' ').collect();
                        let last = words.len() - 1;
                        title = words
                            .iter()
                            .enumerate()
                            .filter(|&(i, _)| i != 1 && i != last)
                            .map(|(_, w)| *w)
                            .collect::<Vec<_>>()
                            .join(" ");
                    }
                    let origin = Origin::new(
                        &format!("s{f}"),
                        &format!("{f}-{j}"),
                        &format!("https://s{f}.example/feed"),
                    );
                    let mut item = Item {
                        id: format!("tag:x:{f}-{j}"),
                        key: format!("s{f}/{j}"),
                        kind: ItemKind::Article,
                        source: Source::Feed(format!("s{f}")),
                        category: None,
                        title,
                        link: Some(format!("https://s{f}.example/{j}")),
                        summary: Some(summary),
                        content_html: None,
                        published: t,
                        updated: t,
                        authors: vec![],
                        tags: vec![],
                        image: None,
                        origin: Some(origin),
                        story: None,
                    };
                    // As the poller stores them.
                    item.story = Some(Box::new(item.story_print()));
                    item
                })
                .collect()
        })
        .collect()
}

fn main() {
    let feeds: usize = std::env::var("NEWSWIRE_BENCH_FEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // NEWSWIRE_BENCH_WRITE=DIR: write the corpus (and as many small feeds as
    // NEWSWIRE_BENCH_SMALL says) to DIR for benches/aggregate-vs-reader.sh.
    if let Ok(dir) = std::env::var("NEWSWIRE_BENCH_WRITE") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).expect("corpus folder");
        for i in 0..feeds {
            let (name, _, body) = corpus::feed(i);
            std::fs::write(dir.join(name), body).expect("write");
        }
        let small: usize = std::env::var("NEWSWIRE_BENCH_SMALL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for i in 0..small {
            let (name, body) = corpus::small(i);
            std::fs::write(dir.join(name), body).expect("write");
        }
        return;
    }
    let corpus: Vec<(String, Vec<u8>)> = (0..feeds)
        .map(|i| {
            let (name, _, body) = corpus::feed(i);
            (name, body.into_bytes())
        })
        .collect();
    // NEWSWIRE_BENCH_PROFILE=rss: only parse that format, over and over (for perf).
    if std::env::var("NEWSWIRE_BENCH_PROFILE").as_deref() == Ok("merge") {
        let lists = merge_lists(1000, 50);
        for _ in 0..300 {
            black_box(newswire::merge::merge(&lists, 500));
        }
        return;
    }
    if let Ok(ext) = std::env::var("NEWSWIRE_BENCH_PROFILE") {
        let url = url::Url::parse("https://upstream.example/feed").unwrap();
        for _ in 0..20 {
            for (_, b) in corpus.iter().filter(|(n, _)| n.ends_with(&ext)) {
                black_box(take(b, &url, false));
            }
        }
        return;
    }
    let bytes: usize = corpus.iter().map(|(_, b)| b.len()).sum();
    let url = url::Url::parse("https://upstream.example/feed").unwrap();
    println!(
        "corpus: {feeds} feeds, {} items, {:.1} MB",
        feeds * corpus::ITEMS,
        bytes as f64 / 1e6
    );

    let raw = best(3, || {
        for (_, b) in &corpus {
            black_box(raw_events(b));
        }
    });
    let parse = best(3, || {
        for (_, b) in &corpus {
            black_box(take(b, &url, false));
        }
    });
    let first = best(3, || {
        for (_, b) in &corpus {
            black_box(take(b, &url, true));
        }
    });
    // The same bytes again: what the poller does first is hash them.
    let same = best(3, || {
        for (_, b) in &corpus {
            black_box(newswire::hash::fingerprint(b));
        }
    });
    // A body that changed outside its entries: parsed, each entry's digest
    // compared with the stored one (all equal), nothing through the gate.
    let digests_only = best(3, || {
        for (_, b) in &corpus {
            black_box(newswire::hash::fingerprint(b));
            let parsed = parse::parse(b, None, &url).expect("a feed");
            black_box(parsed.entries.iter().map(|e| e.digest.len()).sum::<usize>());
        }
    });
    let mb = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "quick-xml raw events (JSON: serde_json Value): {:>8.1} MB/s",
        mb(raw)
    );
    println!(
        "parse + normalize, no gate:                    {:>8.1} MB/s  {:.2}x raw",
        mb(parse),
        raw.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "first poll (parse + normalize + gate):         {:>8.1} MB/s  {:.2}x raw",
        mb(first),
        raw.as_secs_f64() / first.as_secs_f64()
    );
    println!(
        "re-poll, same body (hash):                      {:>8.4} of a first poll",
        same.as_secs_f64() / first.as_secs_f64()
    );
    println!(
        "re-poll, entries unchanged (parse + digests):   {:>8.4} of a first poll",
        digests_only.as_secs_f64() / first.as_secs_f64()
    );

    // Per format: the same two measures on each kind of document.
    for ext in ["rss", "atom", "rdf", "json"] {
        let docs: Vec<&Vec<u8>> = corpus
            .iter()
            .filter(|(n, _)| n.ends_with(ext))
            .map(|(_, b)| b)
            .collect();
        let raw = best(3, || {
            for b in &docs {
                black_box(raw_events(b));
            }
        });
        let parse = best(3, || {
            for b in &docs {
                black_box(take(b, &url, false));
            }
        });
        let feed_rs_alone = best(3, || {
            for b in &docs {
                black_box(feed_rs::parser::parse(&b[..]).map(|f| f.entries.len()).ok());
            }
        });
        let crate_alone = best(3, || {
            for b in &docs {
                let n = match ext {
                    "rss" => rss::Channel::read_from(&b[..])
                        .map(|c| c.items.len())
                        .unwrap_or(0),
                    "atom" => atom_syndication::Feed::read_from(&b[..])
                        .map(|f| f.entries.len())
                        .unwrap_or(0),
                    _ => 0,
                };
                black_box(n);
            }
        });
        // RDF has no crate of its own here (feed-rs reads it), and JSON's
        // crate is the baseline itself.
        let alone = match ext {
            "rss" | "atom" => format!(
                "; its crate alone {:.2}x",
                raw.as_secs_f64() / crate_alone.as_secs_f64()
            ),
            _ => String::new(),
        };
        println!(
            "  {ext:<5} parse + normalize {:.2}x raw; feed-rs alone {:.2}x{alone}",
            raw.as_secs_f64() / parse.as_secs_f64(),
            raw.as_secs_f64() / feed_rs_alone.as_secs_f64(),
        );
    }

    let lists = merge_lists(1000, 50);
    let merged = newswire::merge::merge(&lists, 500);
    let credited = merged
        .iter()
        .filter(|i| i.origin.as_ref().is_some_and(|o| !o.also.is_empty()))
        .count();
    // Copies shown beside their original: missed.
    let ids: std::collections::HashSet<&str> = merged.iter().map(|i| i.id.as_str()).collect();
    let missed = merged
        .iter()
        .filter_map(|i| {
            let (f, j) = i.id.strip_prefix("tag:x:")?.split_once('-')?;
            let (f, j): (usize, usize) = (f.parse().ok()?, j.parse().ok()?);
            let original = format!("tag:x:{}-{j}", f.checked_sub(1)?);
            (f % 10 == 1 && j % 2 == 0 && ids.contains(original.as_str())).then_some(())
        })
        .count();
    let merge = best(20, || {
        black_box(newswire::merge::merge(&lists, 500));
    });
    println!(
        "merge 1,000 feeds x 50 items into 500:         {:>8.3} ms ({credited} of {} stories carried twice found)",
        merge.as_secs_f64() * 1e3,
        credited + missed
    );
    // What a render pass does for a timeline: its window (the newest items
    // of all its sources, read from the store in one query, date order) is
    // one list, merged into itself.
    let mut window: Vec<Item> = lists.iter().flatten().cloned().collect();
    window.sort_by(|a, b| (b.published, &b.id).cmp(&(a.published, &a.id)));
    window.truncate(500);
    let shown = newswire::merge::merge(std::slice::from_ref(&window), 500).len();
    let one = best(20, || {
        black_box(newswire::merge::merge(std::slice::from_ref(&window), 500));
    });
    println!(
        "merge a 1,000-source window of 500 into {shown}:     {:>8.3} ms",
        one.as_secs_f64() * 1e3
    );
    // As the render pass and an archive page do it: the window read for
    // the merge alone, dropped after it, or given up to it (its kept items
    // moved rather than copied). Copies of it made beforehand.
    let mut windows: Vec<Vec<Item>> = (0..40).map(|_| window.clone()).collect();
    let copied = best(20, || {
        let window = windows.pop().expect("a window per run");
        black_box(newswire::merge::merge(std::slice::from_ref(&window), 500));
    });
    let owned = best(20, || {
        let window = windows.pop().expect("a window per run");
        black_box(newswire::merge::merge_owned(vec![window], 500));
    });
    println!(
        "  the window dropped after: copied {:.3} ms, moved {:.3} ms",
        copied.as_secs_f64() * 1e3,
        owned.as_secs_f64() * 1e3
    );
}
