//! A generated corpus of upstream feeds, shaped like the wild web's mix: RSS 2.0,
//! Atom 1.0, RSS 1.0 (RDF) and JSON Feed, 59 items each with an HTML body of a
//! few kilobytes (about 195 KB a feed). Shared by the parse bench and the
//! aggregator comparison (`benches/aggregate-vs-reader.sh`), which writes it to
//! files. Deterministic: the same `n` gives the same bytes.

pub const ITEMS: usize = 59;

/// Feed `i` of the corpus: (file name, content type, body).
pub fn feed(i: usize) -> (String, &'static str, String) {
    match i % 20 {
        0..=7 => (format!("feed-{i:05}.rss"), "application/rss+xml", rss(i)),
        8..=13 => (format!("feed-{i:05}.atom"), "application/atom+xml", atom(i)),
        14..=16 => (format!("feed-{i:05}.rdf"), "application/rdf+xml", rdf(i)),
        _ => (
            format!("feed-{i:05}.json"),
            "application/feed+json",
            json(i),
        ),
    }
}

/// The stories a feed carries: the newest ITEMS, or with
/// NEWSWIRE_BENCH_ROUND=n the ITEMS n rounds older (every item new to a store
/// that holds the first round), for a store grown past 100k items.
fn stories() -> std::ops::Range<usize> {
    let round: usize = std::env::var("NEWSWIRE_BENCH_ROUND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    round * ITEMS..(round + 1) * ITEMS
}

fn body(i: usize, j: usize) -> String {
    let mut html = String::with_capacity(3300);
    for p in 0..6 {
        html.push_str(&format!(
            "<p>Paragraph {p} of story {j} in feed {i}: the <a href=\"https://site{i}.example/ref/{p}\">council</a> met on Tuesday &amp; agreed, after a long debate about the budget for the coming year, that the new <em>water network</em> would be built before the summer; critics said the plan was rushed.</p>\n<img src=\"/img/{i}/{j}/{p}.jpg\" alt=\"photo {p}\">\n"
        ));
    }
    html
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn date(j: usize) -> (u32, u32, u32) {
    // Newest first, an item every 37 minutes going back from 2026-11-28 23:00.
    let minutes = 23 * 60 - (j * 37) as i64;
    let day = 28 + minutes.div_euclid(24 * 60);
    let m = minutes.rem_euclid(24 * 60);
    (day as u32, (m / 60) as u32, (m % 60) as u32)
}

fn rss(i: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Site {i}</title><link>https://site{i}.example/</link><description>Feed {i}</description>\n"
    );
    for j in stories() {
        let (d, h, m) = date(j);
        s.push_str(&format!(
            "<item><title>Story {j} of site {i}: council approves the water network</title><link>https://site{i}.example/{j}</link><guid isPermaLink=\"false\">s{i}-{j}</guid><pubDate>{}, {d:02} Nov 2026 {h:02}:{m:02}:00 +0000</pubDate><dc:creator>Reporter {j}</dc:creator><category>World</category><description>Summary of story {j}.</description><content:encoded><![CDATA[{}]]></content:encoded></item>\n",
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d as usize % 7],
            body(i, j)
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

fn atom(i: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Site {i}</title><id>tag:site{i}.example,2026:feed</id><updated>2026-11-28T23:00:00Z</updated><link href=\"https://site{i}.example/\"/>\n"
    );
    for j in stories() {
        let (d, h, m) = date(j);
        s.push_str(&format!(
            "<entry><title>Story {j} of site {i}: council approves the water network</title><id>tag:site{i}.example,2026:{j}</id><link href=\"https://site{i}.example/{j}\"/><updated>2026-11-{d:02}T{h:02}:{m:02}:00Z</updated><published>2026-11-{d:02}T{h:02}:{m:02}:00Z</published><author><name>Reporter {j}</name></author><summary>Summary of story {j}.</summary><content type=\"html\">{}</content></entry>\n",
            escape(&body(i, j))
        ));
    }
    s.push_str("</feed>\n");
    s
}

fn rdf(i: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel rdf:about=\"https://site{i}.example/\"><title>Site {i}</title><link>https://site{i}.example/</link><description>Feed {i}</description></channel>\n"
    );
    for j in stories() {
        let (d, h, m) = date(j);
        s.push_str(&format!(
            "<item rdf:about=\"https://site{i}.example/{j}\"><title>Story {j} of site {i}: council approves the water network</title><link>https://site{i}.example/{j}</link><dc:date>2026-11-{d:02}T{h:02}:{m:02}+00:00</dc:date><dc:creator>Reporter {j}</dc:creator><description>Summary of story {j}.</description><content:encoded><![CDATA[{}]]></content:encoded></item>\n",
            body(i, j)
        ));
    }
    s.push_str("</rdf:RDF>\n");
    s
}

fn json(i: usize) -> String {
    let items: Vec<serde_json::Value> = stories()
        .map(|j| {
            let (d, h, m) = date(j);
            serde_json::json!({
                "id": format!("s{i}-{j}"),
                "url": format!("https://site{i}.example/{j}"),
                "title": format!("Story {j} of site {i}: council approves the water network"),
                "summary": format!("Summary of story {j}."),
                "content_html": body(i, j),
                "date_published": format!("2026-11-{d:02}T{h:02}:{m:02}:00Z"),
                "authors": [{"name": format!("Reporter {j}")}],
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": format!("Site {i}"),
        "home_page_url": format!("https://site{i}.example/"),
        "feed_url": format!("https://site{i}.example/feed.json"),
        "items": items,
    }))
    .expect("JSON serializes")
}

/// A small feed (one item), for polling rounds over many sources.
pub fn small(i: usize) -> (String, String) {
    (
        format!("small-{i:05}.rss"),
        format!(
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Small {i}</title><link>https://small{i}.example/</link><description>d</description><item><title>Only story of small {i}</title><link>https://small{i}.example/1</link><guid>small-{i}-1</guid><pubDate>Sat, 28 Nov 2026 08:00:00 +0000</pubDate></item></channel></rss>\n"
        ),
    )
}
