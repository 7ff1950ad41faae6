use super::*;
use chrono::{TimeZone, Utc};

fn item(id: &str, minute: u32) -> Item {
    Item::sample(id, Utc.with_ymd_and_hms(2026, 2, 1, 10, minute, 0).unwrap())
}

#[test]
fn newest_first_each_once_ties_by_id() {
    let a = vec![item("a3", 30), item("x", 20), item("a1", 10)];
    let b = vec![item("y", 30), item("x", 20), item("b0", 0)];
    let ids: Vec<String> = merge(&[a.clone(), b.clone()], 10)
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["y", "a3", "x", "a1", "b0"]);
    let two: Vec<String> = merge(&[a, b], 2).into_iter().map(|i| i.id).collect();
    assert_eq!(two, ["y", "a3"]);
    assert!(merge(&[vec![], vec![]], 5).is_empty());
}

fn external(id: &str, source: &str, minute: u32, link: &str, title: &str) -> Item {
    let mut it = item(id, minute);
    it.link = Some(link.into());
    it.title = title.into();
    it.origin = Some(crate::model::Origin {
        feed_title: Some(format!("{source} wire")),
        ..crate::model::Origin::new(source, id, &format!("https://{source}.example/feed"))
    });
    it
}

#[test]
fn one_story_from_two_sources_is_kept_once_and_credits_both() {
    let a = vec![external(
        "a1",
        "agency",
        30,
        "https://www.news.example/story?utm_source=rss&id=7#top",
        "Flights resume in Khartoum",
    )];
    let b = vec![
        external(
            "b1",
            "partner",
            20,
            "http://news.example/story/?id=7",
            "Other words",
        ),
        external(
            "b2",
            "partner",
            10,
            "https://elsewhere.example/x",
            "FLIGHTS resume, in Khartoum!",
        ),
    ];
    let merged = merge(&[a, b], 10);
    assert_eq!(merged.len(), 1, "{merged:?}");
    // The earliest copy is the original; it credits the other source.
    assert_eq!(merged[0].id, "b2");
    let credits: Vec<&str> = merged[0]
        .origin
        .as_ref()
        .unwrap()
        .also
        .iter()
        .map(|c| c.feed_url.as_str())
        .collect();
    assert_eq!(credits, ["https://agency.example/feed"]);
}

#[test]
fn a_copy_seen_later_never_replaces_the_one_readers_have() {
    let title = "Flights resume in Khartoum";
    let mut first = external("a1", "agency", 30, "https://n.example/s", title);
    // Published earlier, but stored an hour after the other was.
    let mut later = external("b1", "partner", 10, "https://p.example/s", title);
    let seen = first.published;
    first.origin.as_mut().unwrap().first_seen = Some(seen);
    later.origin.as_mut().unwrap().first_seen = Some(seen + chrono::Duration::hours(1));
    let merged = merge(&[vec![first.clone()], vec![later.clone()]], 10);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].id, "a1", "the copy seen first stays");
    // Seen in one round, the earliest published is the original.
    later.origin.as_mut().unwrap().first_seen = Some(seen + chrono::Duration::seconds(20));
    let merged = merge(&[vec![first], vec![later]], 10);
    assert_eq!(merged[0].id, "b1");
}

#[test]
fn same_source_and_distant_titles_are_not_merged() {
    // The same source may repeat a title (a daily "Markets at the close").
    let a = vec![
        external(
            "a1",
            "agency",
            30,
            "https://n.example/1",
            "Markets at the close",
        ),
        external(
            "a2",
            "agency",
            20,
            "https://n.example/2",
            "Markets at the close",
        ),
    ];
    let mut old = external(
        "b1",
        "partner",
        10,
        "https://p.example/9",
        "Markets at the close",
    );
    old.published -= chrono::Duration::days(3);
    let merged = merge(&[a, vec![old]], 10);
    assert_eq!(merged.len(), 3);
}

fn told(mut item: Item, summary: &str) -> Item {
    item.summary = Some(summary.into());
    item
}

#[test]
fn one_story_in_other_words_is_one_item_crediting_both_outlets() {
    let a = told(
        external(
            "a1",
            "agency",
            30,
            "https://a.example/waymo",
            "Waymo aims to raise 16 billion dollars for autonomous vehicle expansion",
        ),
        "Alphabet's self-driving unit is in talks with investors about a funding round.",
    );
    let b = told(
        external(
            "b1",
            "partner",
            10,
            "https://p.example/robotaxi",
            "Waymo seeks $16 billion to expand its robotaxi service",
        ),
        "The Alphabet company wants fresh capital to bring its driverless taxis to more cities.",
    );
    let merged = merge(&[vec![a.clone()], vec![b.clone()]], 10);
    assert_eq!(merged.len(), 1, "{merged:#?}");
    assert_eq!(merged[0].id, "b1", "the earliest copy stands for the story");
    let also = &merged[0].origin.as_ref().unwrap().also;
    assert_eq!(also.len(), 1);
    assert_eq!(also[0].feed_url, "https://agency.example/feed");
    // Published more than two days apart: two stories.
    let mut late = a;
    late.published += STORY_WINDOW + chrono::Duration::hours(1);
    assert_eq!(merge(&[vec![late], vec![b]], 10).len(), 2);
}

#[test]
fn look_alikes_and_the_sites_own_items_stay_apart() {
    let gold = external(
        "g",
        "agency",
        30,
        "https://a.example/g",
        "Gold hits record high as investors seek safety",
    );
    let silver = external(
        "s",
        "partner",
        20,
        "https://p.example/s",
        "Silver hits record high as investors seek safety",
    );
    assert_eq!(merge(&[vec![gold], vec![silver]], 10).len(), 2);
    // A ticker line and the article on its story: both the newsroom's.
    let mut line = item("ticker", 30);
    line.title = "Sudan: first commercial flight lands in Khartoum".into();
    let mut article = item("article", 20);
    article.title = "First commercial flight lands in Khartoum since the war began".into();
    assert_eq!(merge(&[vec![line], vec![article]], 10).len(), 2);
}

#[test]
fn the_owned_merge_is_the_merge() {
    // Copies of one story (the later list's copy replaces the first's and
    // credits it), one id in two lists, and stories that stay apart.
    let lists = vec![
        vec![
            external(
                "a1",
                "agency",
                40,
                "https://www.news.example/story?id=7",
                "Flights resume in Khartoum",
            ),
            item("x", 30),
            external(
                "a2",
                "agency",
                20,
                "https://a.example/2",
                "Markets at the close",
            ),
        ],
        vec![
            item("y", 35),
            item("x", 30),
            external(
                "b1",
                "partner",
                10,
                "http://news.example/story/?id=7",
                "Other words",
            ),
        ],
        vec![],
    ];
    for limit in [0, 1, 2, 3, 4, 10] {
        let shared = merge(&lists, limit);
        assert_eq!(merge_owned(lists.clone(), limit), shared, "limit {limit}");
        assert!(shared.iter().all(|i| i.story.is_none()));
    }
    let merged = merge_owned(lists, 10);
    let ids: Vec<&str> = merged.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["y", "x", "a2", "b1"]);
    let also = &merged[3].origin.as_ref().unwrap().also;
    assert_eq!(also.len(), 1, "{merged:#?}");
}
