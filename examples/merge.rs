//! Merges feeds into one timeline through the library, the way the poller and
//! the renderer do: each document is parsed (any format, any encoding), its
//! entries pass the gate, and the lists are merged newest first, one story
//! once, crediting every source that carried it.
//!
//! `cargo run --example merge -- tests/fixtures/upstream/rss2.xml tests/fixtures/upstream/partner.xml`
//!
//! Prints one line per item of the timeline: date, source(s), title.

use chrono::Utc;
use newswire::gate::{self, Trust};
use newswire::sources::parse::{self, SourceInfo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.len() < 2 {
        return Err("usage: merge FEED FEED... (files in any feed format)".into());
    }
    let now = Utc::now();
    let mut lists = Vec::new();
    for (n, path) in files.iter().enumerate() {
        let body = std::fs::read(path)?;
        let base = url::Url::parse(&format!("file:///{}", path.trim_start_matches('/')))?;
        let mut feed = parse::parse(&body, None, &base).map_err(|e| format!("{path}: {e}"))?;
        let name = format!("feed{n}");
        let source = SourceInfo {
            name: &name,
            title: None,
            feed_url: base.as_str(),
            categories: &[],
            tag_prefix: "tag:example.org,2026:",
        };
        let entries = std::mem::take(&mut feed.entries);
        let mut items: Vec<_> = entries
            .into_iter()
            .map(|e| {
                let id = parse::upstream_id(&e);
                parse::to_item(e, &feed, &source, id, now)
            })
            .filter_map(|item| gate::admit(item, Trust::Lenient, now).ok())
            .collect();
        // merge() takes lists that are each newest first, as the store keeps them.
        items.sort_by(|a, b| (b.published, &b.id).cmp(&(a.published, &a.id)));
        lists.push(items);
    }
    for item in newswire::merge::merge(&lists, 100) {
        let origin = item.origin.as_ref().expect("external items have an origin");
        let mut credits = vec![origin.feed_title.clone().unwrap_or_default()];
        credits.extend(
            origin
                .also
                .iter()
                .map(|c| c.title.clone().unwrap_or_default()),
        );
        println!(
            "{}  {:<32}  {}",
            item.published.format("%Y-%m-%d %H:%M"),
            credits.join(" + "),
            item.title
        );
    }
    Ok(())
}
