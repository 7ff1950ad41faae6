//! Labelled pairs of headlines with summaries (tests/fixtures/stories/),
//! each put through a timeline's merge as two outlets' items: shared by the
//! report (`examples/stories`) and its test (`tests/stories.rs`).

use chrono::{Duration, TimeZone, Utc};
use newswire::gate::{self, Trust};
use newswire::model::{Item, ItemKind, Origin, Source};
use serde::Deserialize;

#[derive(Deserialize)]
struct Pairs {
    pair: Vec<Pair>,
}

/// Two outlets' headlines and summaries, and whether they tell one story.
#[derive(Deserialize, Clone)]
pub struct Pair {
    pub same: bool,
    pub kind: String,
    pub a: [String; 2],
    pub b: [String; 2],
}

pub fn load(path: &str) -> anyhow::Result<Vec<Pair>> {
    let pairs: Pairs = toml::from_str(&std::fs::read_to_string(path)?)?;
    Ok(pairs.pair)
}

/// One outlet's item, as the poller stores it: through the gate, which
/// works out its story print.
fn item(outlet: &str, text: &[String; 2], minutes: i64) -> Item {
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap() + Duration::minutes(minutes);
    let item = Item {
        id: format!("tag:{outlet}.example,2026:1"),
        key: format!("{outlet}/1"),
        kind: ItemKind::Article,
        source: Source::Feed(outlet.into()),
        category: None,
        title: text[0].clone(),
        link: Some(format!("https://{outlet}.example/news/1")),
        summary: Some(text[1].clone()),
        content_html: None,
        published: at,
        updated: at,
        authors: vec![],
        tags: vec![],
        image: None,
        origin: Some(Origin {
            feed_title: Some(outlet.into()),
            ..Origin::new(outlet, "1", &format!("https://{outlet}.example/feed"))
        }),
        story: None,
    };
    gate::admit(item, Trust::Lenient, at + Duration::hours(1)).expect("a valid item")
}

/// Whether a timeline over the two outlets shows the pair as one item,
/// with `a` published first and `b` two hours later (`b_first`: the other
/// way round).
pub fn merged_in_order(pair: &Pair, b_first: bool) -> bool {
    let (ta, tb) = if b_first { (120, 0) } else { (0, 120) };
    let lists = [
        vec![item("alpha", &pair.a, ta)],
        vec![item("beta", &pair.b, tb)],
    ];
    newswire::merge::merge(&lists, 10).len() == 1
}

/// The verdict a report counts: one story only if merged whichever outlet
/// published first; two only if kept apart both ways.
pub fn merged(pair: &Pair) -> (bool, bool) {
    (merged_in_order(pair, false), merged_in_order(pair, true))
}

/// Precision and recall over labelled pairs: a same-story pair counts as
/// found only when merged in both orders, a look-alike as merged when
/// merged in either.
#[derive(Default, Debug, Clone, Copy)]
pub struct Tally {
    pub same: usize,
    pub found: usize,
    pub apart: usize,
    pub merged: usize,
}

impl Tally {
    pub fn add(&mut self, pair: &Pair) -> bool {
        let (one, other) = merged(pair);
        if pair.same {
            self.same += 1;
            self.found += usize::from(one && other);
            one && other
        } else {
            self.apart += 1;
            self.merged += usize::from(one || other);
            one || other
        }
    }

    pub fn precision(&self) -> f64 {
        let merged = self.found + self.merged;
        if merged == 0 {
            1.0
        } else {
            self.found as f64 / merged as f64
        }
    }

    pub fn recall(&self) -> f64 {
        self.found as f64 / self.same.max(1) as f64
    }
}
