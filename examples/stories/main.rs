//! Precision and recall of story matching on labelled pairs of headlines
//! with summaries (tests/fixtures/stories/*.toml): how often two outlets'
//! copies of one story become one item in a timeline, and whether
//! headlines that only look alike ever do. Each pair goes through the gate
//! and the merge as two sources' items, in both orders.
//!
//! `cargo run --release --example stories -- tests/fixtures/stories/*.toml`
//! (`-v`: every pair decided wrongly, with what the comparison weighed).

mod eval;

use newswire::story::{Features, Print, Verdict, compare};
use std::collections::BTreeMap;

fn main() -> anyhow::Result<()> {
    let mut verbose = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "-v" {
            verbose = true;
        } else {
            files.push(arg);
        }
    }
    anyhow::ensure!(!files.is_empty(), "usage: stories [-v] PAIRS.toml...");
    let mut total = eval::Tally::default();
    let mut sets = Vec::new();
    // (set, label, kind) -> (pairs, merged)
    let mut kinds: BTreeMap<(String, &str, String), (usize, usize)> = BTreeMap::new();
    for file in &files {
        let set = std::path::Path::new(file)
            .file_stem()
            .map_or(file.clone(), |s| s.to_string_lossy().into_owned());
        let mut tally = eval::Tally::default();
        for p in eval::load(file)? {
            let merged = tally.add(&p);
            total.add(&p);
            let label = if p.same { "same" } else { "apart" };
            let row = kinds
                .entry((set.clone(), label, p.kind.clone()))
                .or_default();
            row.0 += 1;
            row.1 += usize::from(merged);
            if verbose && merged != p.same {
                let (a, b) = (
                    Print::from_text(&p.a[0], &p.a[1]),
                    Print::from_text(&p.b[0], &p.b[1]),
                );
                let verdict = match compare(&a, &b) {
                    Verdict::Same => "same",
                    Verdict::Apart(why) => why.as_str(),
                };
                println!(
                    "{label} pair {verdict}: {:?}\n  {}\n  {}",
                    Features::of(&a, &b),
                    p.a[0],
                    p.b[0]
                );
            }
        }
        sets.push((set, tally));
    }
    println!(
        "{:<12} {:<6} {:<16} {:>6} {:>7}",
        "set", "label", "kind", "pairs", "merged"
    );
    for ((set, label, kind), (n, merged)) in &kinds {
        println!("{set:<12} {label:<6} {kind:<16} {n:>6} {merged:>7}");
    }
    println!();
    for (set, t) in sets.iter().chain([(String::from("all"), total)].iter()) {
        println!(
            "{set:<12} {:>4} pairs: precision {:.3} ({} of {} look-alikes merged), recall {:.3} ({} of {} same-story pairs merged)",
            t.same + t.apart,
            t.precision(),
            t.merged,
            t.apart,
            t.recall(),
            t.found,
            t.same
        );
    }
    Ok(())
}
