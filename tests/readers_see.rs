//! What readers see, story by story, through the real binary against
//! upstreams and a site served from 127.0.0.1: what a source still carries
//! is shown whatever its date (on the default config), links resolve the way
//! the document's `xml:base` says, HTML read as text reads as text, Atom
//! entries all carry text, and a feed of more than `feed_size` items still
//! carries the newest `feed_size` in its subscription document.

mod common;
use common::upstream::Upstream;
use common::*;
use std::time::Duration;

/// The demo site polling `sources` (name, path on `up`) on the default
/// fetch settings, but for fetching from 127.0.0.1.
fn site(up: &Upstream, sources: &[(&str, &str)], extra: &str) -> SiteDir {
    let site = SiteDir::demo();
    let mut toml = String::from("[fetch]\nallow_private_networks = true\n");
    toml.push_str(extra);
    for (name, path) in sources {
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nurl = \"{}\"\n",
            up.url(path)
        ));
    }
    let names: Vec<String> = sources.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    toml.push_str(&format!(
        "\n[[timelines]]\nname = \"wire\"\ntitle = \"The wire\"\nsources = [{}]\n",
        names.join(", ")
    ));
    site.append_config(&toml);
    site
}

/// The timeline's Atom document once it holds `needle`.
async fn wire_with(server: &Server, needle: &str) -> String {
    eventually(Duration::from_secs(20), || async {
        let (_, _, body) = get(&server.url("/timelines/wire.atom"), &[]).await;
        let atom = String::from_utf8_lossy(&body).into_owned();
        atom.contains(needle).then_some(atom)
    })
    .await
    .unwrap_or_else(|| panic!("{needle:?} never reached the timeline"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_source_carries_is_shown_whatever_its_date() {
    let up = Upstream::start();
    // A partner whose newest entry is six weeks old: past the default
    // retention of 30 days, and still in its document.
    let old = (chrono::Utc::now() - chrono::Duration::weeks(6)).to_rfc2822();
    let older = (chrono::Utc::now() - chrono::Duration::weeks(9)).to_rfc2822();
    up.set(
        "/partner.xml",
        "application/rss+xml",
        format!(
            r#"<rss version="2.0"><channel><title>Partner</title><link>http://p.example/</link><description>d</description>
<item><title>Six weeks old and still carried</title><link>http://p.example/a</link><guid>a</guid><pubDate>{old}</pubDate></item>
<item><title>Nine weeks old and still carried</title><link>http://p.example/b</link><guid>b</guid><pubDate>{older}</pubDate></item>
</channel></rss>"#
        )
        .into_bytes(),
    );
    let site = site(&up, &[("partner", "/partner.xml")], "");
    let server = Server::start(&site, &[]);
    let atom = wire_with(&server, "Six weeks old and still carried").await;
    assert!(atom.contains("Nine weeks old and still carried"), "{atom}");
    // The hourly expiry and every later poll keep them while they are carried.
    let (status, report) = fetch_now(&server, "partner").await;
    assert_eq!(status, 200, "{report}");
    let atom = wire_with(&server, "Six weeks old and still carried").await;
    assert!(atom.contains("Nine weeks old"), "still there: {atom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_shaped_site_keeps_its_old_article_on_the_default_config() {
    // The seed's own article is dated 5 December 2024.
    let up = Upstream::start();
    let fixture = |p: &str| {
        std::fs::read(format!(
            "{}/tests/fixtures/site/{p}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let home = String::from_utf8(fixture("index.html"))
        .unwrap()
        .replace("{T0}", "00:01")
        .replace("{T1}", "00:00")
        .replace("{T2}", "00:00");
    up.set("/", "text/html; charset=utf-8", home.into_bytes());
    up.set(
        "/news/sudan.html",
        "text/html; charset=utf-8",
        fixture("news/sudan.html"),
    );
    up.set(
        "/news/venezuela.html",
        "text/html; charset=utf-8",
        fixture("news/venezuela.html"),
    );
    let site = SiteDir::demo();
    let scrapes = String::from_utf8(fixture("scrapes.toml"))
        .unwrap()
        .replace("{home}", &up.url("/"))
        .replace("{fr}", &up.url("/fr/"));
    // Only the first [[scrapes]] (the article one): defaults otherwise.
    let walaw = scrapes.split("\n[[scrapes]]").nth(1).unwrap();
    site.append_config(&format!(
        "[fetch]\nallow_private_networks = true\n\n[[scrapes]]{walaw}"
    ));
    let server = Server::start(&site, &[]);
    let shown = eventually(Duration::from_secs(20), || async {
        let (_, _, body) = get(&server.url("/feeds/world.json"), &[]).await;
        let doc: serde_json::Value = serde_json::from_slice(&body).ok()?;
        doc["items"].as_array()?.iter().find_map(|i| {
            i["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/news/sudan.html"))
                .then(|| i.clone())
        })
    })
    .await
    .expect("the seed's article is in its category");
    assert_eq!(
        shown["date_published"], "2024-12-05T10:36:00+01:00",
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_resolve_against_the_xml_base_in_scope() {
    let up = Upstream::start();
    // Bases on the feed, the entry and the content element, some relative.
    up.set(
        "/blog/atom.xml",
        "application/atom+xml",
        br#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://host.example/blog/">
  <title>Blog</title><id>tag:host.example,2026:blog</id><updated>2026-11-30T10:00:00Z</updated>
  <link href="./"/>
  <entry xml:base="2026/">
    <title>Medina photos</title><id>tag:host.example,2026:medina</id>
    <updated>2026-11-30T10:00:00Z</updated>
    <link rel="alternate" href="posts/medina.html"/>
    <link rel="enclosure" type="image/jpeg" href="img/medina.jpg"/>
    <content type="html" xml:base="../media/">&lt;p&gt;&lt;a href="posts/photos.html"&gt;Photos&lt;/a&gt; &lt;img src="gate.jpg" srcset="gate-2x.jpg 2x"&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Souk at dawn</title><id>tag:host.example,2026:souk</id>
    <updated>2026-11-30T09:00:00Z</updated>
    <link rel="alternate" href="posts/souk.html"/>
    <summary type="html">&lt;a href="posts/photos.html"&gt;Photos&lt;/a&gt;</summary>
  </entry>
</feed>"#.to_vec(),
    );
    up.set(
        "/news/rss.xml",
        "application/rss+xml",
        br#"<rss version="2.0" xml:base="http://rss.example/news/"><channel><title>News</title><link>./</link><description>d</description>
<item xml:base="world/"><title>Relative item</title><link>story.html</link><guid>r1</guid>
<description xml:base="/assets/">&lt;img src="map.png"&gt; &lt;a href="more.html"&gt;more&lt;/a&gt;</description></item>
</channel></rss>"#.to_vec(),
    );
    let site = site(
        &up,
        &[("blog", "/blog/atom.xml"), ("news", "/news/rss.xml")],
        "",
    );
    let server = Server::start(&site, &[]);
    wire_with(&server, "Souk at dawn").await;
    let atom = wire_with(&server, "Relative item").await;
    let expect = [
        // Entry links against the entry's base.
        r#"href="http://host.example/blog/2026/posts/medina.html""#,
        // Content against the content element's (relative) base...
        "http://host.example/blog/media/posts/photos.html",
        "http://host.example/blog/media/gate.jpg",
        "http://host.example/blog/media/gate-2x.jpg 2x",
        // ... the enclosure against the entry's.
        "http://host.example/blog/2026/img/medina.jpg",
        // A summary without a base of its own: the feed's.
        "http://host.example/blog/posts/photos.html",
        // RSS: the item's base for its link, the description's for its body.
        "http://rss.example/news/world/story.html",
        "http://rss.example/assets/map.png",
        "http://rss.example/assets/more.html",
    ];
    for want in expect {
        assert!(atom.contains(want), "{want} in:\n{atom}");
    }
    // Never against the entry's own link, as it was.
    assert!(!atom.contains("posts/posts/photos.html"), "{atom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_read_as_text_reads_as_text_and_both_texts_reach_every_format() {
    let up = Upstream::start();
    up.set(
        "/scripted.xml",
        "application/rss+xml",
        br#"<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>S</title><link>http://s.example/</link><description>d</description>
<item><title>&lt;b&gt;Bold&lt;/b&gt;&lt;script&gt;alert('t')&lt;/script&gt; title</title><link>http://s.example/1</link><guid>1</guid>
<description>&lt;p&gt;The plan.&lt;script&gt;alert('x1')&lt;/script&gt;&lt;/p&gt;&lt;style&gt;p{color:red}&lt;/style&gt;&lt;!-- hidden --&gt;&lt;p&gt;Second&lt;br&gt;line&lt;/p&gt;&lt;noscript&gt;nojs&lt;/noscript&gt;&lt;template&gt;tpl&lt;/template&gt;</description>
<content:encoded>&lt;p&gt;The full body.&lt;/p&gt;</content:encoded></item>
</channel></rss>"#.to_vec(),
    );
    let site = site(&up, &[("scripted", "/scripted.xml")], "");
    let server = Server::start(&site, &[]);
    let atom = wire_with(&server, "The full body.").await;
    assert!(atom.contains("<title>Bold title</title>"), "{atom}");
    assert!(
        atom.contains("<summary>The plan. Second line</summary>"),
        "{atom}"
    );
    for hidden in ["alert", "color:red", "hidden", "nojs", "tpl"] {
        assert!(!atom.contains(hidden), "{hidden} in {atom}");
    }
    let (_, _, rss) = get(&server.url("/timelines/wire.rss"), &[]).await;
    let rss = String::from_utf8(rss).unwrap();
    let item = &rss[rss.find("<item>").unwrap()..];
    assert!(
        item.contains("<description><![CDATA[The plan. Second line]]></description>"),
        "{item}"
    );
    assert!(
        item.contains("The full body.") && item.contains("<content:encoded>"),
        "{item}"
    );
    let (_, _, json) = get(&server.url("/timelines/wire.json"), &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let item = &json["items"][0];
    assert_eq!(item["summary"], "The plan. Second line", "{item}");
    assert_eq!(item["content_html"], "<p>The full body.</p>", "{item}");
    check_feed(&server, &["/timelines/wire"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_atom_entry_has_text_and_a_long_feed_stays_full() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    // Ticker entries carry their headline as their summary.
    let (_, _, body) = get(&server.url("/feeds/breaking.atom"), &[]).await;
    let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
    assert!(!feed.entries().is_empty());
    for e in feed.entries() {
        let text = e
            .summary()
            .map(|s| s.as_str())
            .or(e.content().and_then(|c| c.value()));
        assert!(
            text.is_some_and(|t| !t.is_empty()),
            "{} has no text",
            e.id()
        );
    }
    // 80 articles, a feed of 50: the document holds the newest 50 by date
    // (the fifty posted last, in date order), its older ones in its pages.
    let start = chrono::Utc::now() - chrono::Duration::hours(100);
    let c = client();
    for i in 0..80 {
        let resp = c
            .post(server.url("/api/v1/articles"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({
                "id": format!("full-{i:02}"), "title": format!("Full feed {i:02}"), "category": "world",
                "published": (start + chrono::Duration::hours(i)).to_rfc3339(),
                "content_markdown": "Body."
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let items = eventually(Duration::from_secs(10), || async {
        let (_, _, body) = get(&server.url("/feeds/world.json"), &[]).await;
        let doc: serde_json::Value = serde_json::from_slice(&body).ok()?;
        let items = doc["items"].as_array()?.clone();
        (items.first()?["title"] == "Full feed 79").then_some(items)
    })
    .await
    .expect("rendered");
    assert_eq!(items.len(), 50, "a full document");
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item["title"], format!("Full feed {:02}", 79 - n));
    }
    check_feed(&server, &["/feeds/world", "/feeds/breaking", "/feeds/all"]).await;
}

/// Two outlets on one timeline: the stories both tell in their own words
/// are one item, crediting both (RSS `<source>`, Atom `rel="via"`, JSON
/// `_source.also`); headlines that only look alike (another place, number,
/// team order, metal) stay two items, as does a story only one tells.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_outlets_same_story_once_look_alikes_apart() {
    let up = Upstream::start();
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now - chrono::Duration::minutes(minutes)).to_rfc2822();
    let rss = |outlet: &str, items: &[(&str, &str, &str, i64)]| {
        let items: String = items
            .iter()
            .map(|(id, title, summary, ago)| {
                format!(
                    "<item><title>{title}</title><link>http://{outlet}.example/{id}</link><guid>{id}</guid>\
                     <description>{summary}</description><pubDate>{}</pubDate></item>\n",
                    at(*ago)
                )
            })
            .collect();
        format!(
            r#"<rss version="2.0"><channel><title>{outlet}</title><link>http://{outlet}.example/</link><description>d</description>
{items}</channel></rss>"#
        )
        .into_bytes()
    };
    up.set(
        "/alpha.xml",
        "application/rss+xml",
        rss(
            "alpha",
            &[
                ("waymo", "Waymo aims to raise 16 billion dollars for autonomous vehicle expansion",
                 "Alphabet's self-driving unit is in talks with investors about a funding round, people familiar with the matter said.", 50),
                ("bus", "Egypt bus accident kills twelve in Minya",
                 "A minibus collided with a lorry on the desert road, killing twelve people and injuring eight, the health ministry said.", 40),
                ("gold", "Gold hits record high as investors seek safety",
                 "Spot gold rose 1.5% to $2,790 an ounce as worries about trade tariffs drove buyers to the metal.", 30),
                ("derby", "Arsenal beat Tottenham 2-1 in north London derby",
                 "Leandro Trossard scored the winner as Arsenal came from behind.", 20),
                ("storm", "New winter storm hits the United Kingdom",
                 "Storm Darragh brought winds of up to 93 mph to Wales and western England.", 10),
            ],
        ),
    );
    up.set(
        "/beta.xml",
        "application/rss+xml",
        rss(
            "beta",
            &[
                ("robotaxi", "Waymo seeks $16 billion to expand its robotaxi service",
                 "The Alphabet company wants fresh capital to bring its driverless taxis to more US cities and to London next year.", 45),
                ("minya", "Twelve killed as minibus hits truck in Egypt's Minya",
                 "Eight others were hurt in the crash on the Western Desert road, officials said.", 35),
                ("silver", "Silver hits record high as investors seek safety",
                 "Spot silver rose 3% to $54 an ounce as industrial demand lifted prices.", 25),
                ("spurs", "Tottenham beat Arsenal 2-1 in north London derby",
                 "Son Heung-min scored twice as Spurs ended their rivals' run.", 15),
                ("ireland", "New winter storm hits Ireland",
                 "Storm Eowyn brought record winds to the west coast, and a red warning was issued.", 5),
                ("nine", "Egypt bus accident kills nine in Minya",
                 "Nine people died when a bus overturned on the agricultural road north of the city.", 3),
            ],
        ),
    );
    let site = site(&up, &[("alpha", "/alpha.xml"), ("beta", "/beta.xml")], "");
    let server = Server::start(&site, &[]);
    // Once both outlets are in.
    wire_with(&server, "Egypt bus accident kills nine").await;
    wire_with(&server, "New winter storm hits the United Kingdom").await;
    let (_, _, body) = get(&server.url("/timelines/wire.json"), &[]).await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let items = doc["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    // Two copies of each of two stories became one each; every look-alike
    // stayed: 11 items in, 9 shown.
    assert_eq!(titles.len(), 9, "{titles:#?}");
    for shown in [
        "Gold hits record high as investors seek safety",
        "Silver hits record high as investors seek safety",
        "Arsenal beat Tottenham 2-1 in north London derby",
        "Tottenham beat Arsenal 2-1 in north London derby",
        "New winter storm hits the United Kingdom",
        "New winter storm hits Ireland",
        "Egypt bus accident kills nine in Minya",
    ] {
        assert!(titles.contains(&shown), "{shown} in {titles:#?}");
    }
    // The earliest copy stands for each story, crediting the other outlet.
    for (kept, dropped, also) in [
        (
            "Waymo aims to raise 16 billion dollars for autonomous vehicle expansion",
            "Waymo seeks $16 billion to expand its robotaxi service",
            "beta",
        ),
        (
            "Egypt bus accident kills twelve in Minya",
            "Twelve killed as minibus hits truck in Egypt's Minya",
            "beta",
        ),
    ] {
        assert!(
            !titles.contains(&dropped),
            "{dropped} shown twice: {titles:#?}"
        );
        let item = items.iter().find(|i| i["title"] == kept).expect(kept);
        let credits = item["_source"]["also"].to_string();
        assert!(
            credits.contains(&up.url(&format!("/{also}.xml"))),
            "{kept}: {item:#}"
        );
    }
    // RSS and Atom credit both outlets too.
    let (_, _, rss_doc) = get(&server.url("/timelines/wire.rss"), &[]).await;
    let rss_doc = String::from_utf8_lossy(&rss_doc);
    assert!(
        rss_doc.contains(&format!("url=\"{}\"", up.url("/beta.xml"))),
        "{rss_doc}"
    );
    let atom = wire_with(&server, "Waymo aims to raise").await;
    assert!(atom.contains("rel=\"via\""), "{atom}");
}
