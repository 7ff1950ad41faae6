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
//! - **merge**: 1,000 feeds × 50 items into a 500-item timeline.
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

fn merge_lists(feeds: usize, per: usize) -> Vec<Vec<Item>> {
    (0..feeds)
        .map(|f| {
            (0..per)
                .map(|j| {
                    let t = Utc.with_ymd_and_hms(2026, 11, 28, 23, 0, 0).unwrap()
                        - chrono::Duration::minutes((j * 37 + f % 37) as i64);
                    let origin = Origin {
                        source: format!("s{f}"),
                        upstream_id: format!("{f}-{j}"),
                        feed_title: None,
                        feed_url: format!("https://s{f}.example/feed"),
                        feed_id: None,
                        dated: true,
                        feed_link: None,
                        categories: vec![],
                        digest: String::new(),
                        story_link: None,
                        story_title: None,
                        first_seen: None,
                        page: false,
                        also: vec![],
                    };
                    let mut item = Item {
                        id: format!("tag:x:{f}-{j}"),
                        key: format!("s{f}/{j}"),
                        kind: ItemKind::Article,
                        source: Source::Feed(format!("s{f}")),
                        category: None,
                        title: format!("Story {j} of feed {f} about something"),
                        link: Some(format!("https://s{f}.example/{j}")),
                        summary: None,
                        content_html: None,
                        published: t,
                        updated: t,
                        authors: vec![],
                        tags: vec![],
                        image: None,
                        origin: Some(origin),
                    };
                    // As the poller stores them.
                    newswire::merge::keep_story_keys(&mut item);
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
    let merge = best(20, || {
        black_box(newswire::merge::merge(&lists, 500));
    });
    println!(
        "merge 1,000 feeds x 50 items into 500:         {:>8.3} ms",
        merge.as_secs_f64() * 1e3
    );
}
