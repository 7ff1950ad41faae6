//! The fuzz targets' checks (`fuzz/harness.rs`) in CI, without libFuzzer:
//! proptest mutates the test fixtures (feeds, scraped pages, OPML) with
//! hostile fragments spliced in, bytes flipped, ranges repeated, dropped
//! and cut, `PROPTEST_CASES` cases per target (default 96). A case must end
//! without a panic or an abort, and within a hang detector's bound: none of
//! these documents is near it (they are at most a few hundred KiB), so a
//! case past it is superlinear work. The long runs are cargo-fuzz's
//! (`fuzz/`, README "Fuzzing").

#[path = "../fuzz/harness.rs"]
mod harness;

use proptest::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// What a case may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// Spliced into documents: markup that opens and never closes, what
/// parsers treat specially, characters XML forbids.
const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "&",
    "&#0;",
    "&#x1F;",
    "&lt;div&gt;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<item>",
    "</item>",
    "<entry>",
    "</entry>",
    "<div>",
    "<script>alert(1)</script>",
    "<x:a xmlns:x=\"urn:x\">",
    "<media:group>",
    "xml:base=\"../\"",
    "<?xml version=\"1.0\"?>",
    "<?xml version=\"1.0\" encoding=\"windows-1252\"?>",
    "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    "&a;",
    "\u{0}",
    "\u{FFFE}",
    "\u{202E}",
    "{",
    "[",
    "\"",
    "\\",
    "<li>12:00 ",
    "<time datetime=\"9999-12-31\">",
    "<a href=\"javascript:x\">",
    "<img src=x onerror=alert(1) srcset=\"a 1x, javascript:b 2x\">",
    "<outline xmlUrl=\"x\">",
];

fn fixtures(dir: &str, ext: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if ext
                .iter()
                .any(|e| path.extension().is_some_and(|x| x == *e))
            {
                out.push(std::fs::read(path).unwrap());
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "fixtures in {dir}");
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Splice(usize, usize, usize),
    Flip(usize, u8),
    Repeat(usize, usize, usize),
    Drop(usize, usize),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..FRAGMENTS.len(), 1..400usize)
            .prop_map(|(a, f, n)| Mutation::Splice(a, f, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (any::<usize>(), 1..200usize, 1..50usize).prop_map(|(a, l, n)| Mutation::Repeat(a, l, n)),
        (any::<usize>(), 1..500usize).prop_map(|(a, l)| Mutation::Drop(a, l)),
        any::<usize>().prop_map(Mutation::Cut),
    ]
}

fn mutate(mut doc: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |a: usize, doc: &Vec<u8>| if doc.is_empty() { 0 } else { a % doc.len() };
        match *m {
            Mutation::Splice(a, f, n) => {
                let at = at(a, &doc);
                let piece = FRAGMENTS[f].repeat(n);
                doc.splice(at..at, piece.into_bytes());
            }
            Mutation::Flip(a, b) if !doc.is_empty() => {
                let at = at(a, &doc);
                doc[at] ^= b;
            }
            Mutation::Repeat(a, l, n) => {
                let at = at(a, &doc);
                let end = (at + l).min(doc.len());
                let piece: Vec<u8> = doc[at..end].repeat(n);
                doc.splice(at..at, piece);
            }
            Mutation::Drop(a, l) => {
                let at = at(a, &doc);
                let end = (at + l).min(doc.len());
                doc.drain(at..end);
            }
            Mutation::Cut(a) => {
                let at = at(a, &doc);
                doc.truncate(at);
            }
            _ => {}
        }
    }
    doc
}

fn run(target: fn(&[u8]), docs: Vec<Vec<u8>>) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let strategy = (0..docs.len(), proptest::collection::vec(mutation(), 0..8));
    proptest!(ProptestConfig::with_cases(cases), |((i, mutations) in strategy)| {
        let doc = mutate(docs[i].clone(), &mutations);
        let started = Instant::now();
        target(&doc);
        prop_assert!(started.elapsed() < HANG, "a case took {:?}", started.elapsed());
    });
}

#[test]
fn any_feed_parses_and_passes_the_gate_without_panic() {
    run(harness::feed, fixtures("upstream", &["xml", "json"]));
}

#[test]
fn any_page_scrapes_without_panic_or_active_content() {
    run(harness::page, fixtures("site", &["html"]));
}

#[test]
fn any_opml_reads_without_panic() {
    let opml = br#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
<outline text="News"><outline text="A &amp; Co" type="rss" xmlUrl="https://a.example/feed"/></outline>
<outline title="B" xmlUrl="https://b.example/rss"/></body></opml>"#;
    run(harness::opml, vec![opml.to_vec()]);
}

/// What the long cargo-fuzz runs found (README "Fuzzing"), kept as they
/// came: each must pass its target's checks for good.
#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut ran = 0;
    for (target, check) in [
        ("feed", harness::feed as fn(&[u8])),
        ("page", harness::page as fn(&[u8])),
    ] {
        for entry in std::fs::read_dir(dir.join(target)).unwrap() {
            check(&std::fs::read(entry.unwrap().path()).unwrap());
            ran += 1;
        }
    }
    assert!(ran >= 4);
    // A declaration after the start is refused before any reader sees it,
    // with a reason that says so (quick-xml under feed-rs panicked on it).
    for name in ["declaration-inside.xml", "declaration-encoding.xml"] {
        let bytes = std::fs::read(dir.join("feed").join(name)).unwrap();
        let url = url::Url::parse("https://upstream.example/feed").unwrap();
        let e = newswire::sources::parse::parse_at_most(&bytes, None, &url, 10)
            .err()
            .unwrap_or_else(|| panic!("{name} was read"));
        assert!(
            e.to_string().contains("XML declaration after its start"),
            "{name}: {e}"
        );
    }
}
