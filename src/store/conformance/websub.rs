//! The WebSub outbox: each change delivered once.

use super::*;
use crate::store::Store;

/// WebSub's outbox: a change is queued once per live subscriber however many
/// times (and by however many instances) it is queued, claimed by one owner
/// until its claim runs out, superseded by a later change, and gone with its
/// subscription.
pub async fn websub_outbox_delivers_each_change_once(store: &dyn Store) {
    use crate::store::{Settled, Subscription};
    let now = Utc::now();
    let topic = "http://127.0.0.1:8080/feeds/world.atom".to_owned();
    let sub = |callback: &str, lease: i64| Subscription {
        topic: topic.clone(),
        callback: callback.into(),
        secret: Some("s3cret".into()),
        lease_until: now + Duration::seconds(lease),
        client: "198.51.100.7".into(),
        callback_host: url::Url::parse(callback)
            .unwrap()
            .host_str()
            .unwrap()
            .to_owned(),
    };
    for s in [
        sub("https://a.example/cb", 600),
        sub("https://b.example/cb", 600),
        sub("https://old.example/cb", -1),
    ] {
        store.websub_subscribe(&s).await.unwrap();
    }
    // What the hub's bounds count: live ones only, per client and host.
    let counts = |total, of_client, of_callback_host, exists| crate::store::SubscriptionCounts {
        total,
        of_client,
        of_callback_host,
        exists,
    };
    for (client, host, callback, want) in [
        (
            "198.51.100.7",
            "a.example",
            "https://a.example/cb",
            counts(2, 2, 1, true),
        ),
        (
            "203.0.113.9",
            "c.example",
            "https://c.example/cb",
            counts(2, 0, 0, false),
        ),
    ] {
        let got = store
            .websub_counts(&asking(client, host, &topic, callback), now)
            .await
            .unwrap();
        assert_eq!(got, want, "{client} calling back to {callback}");
    }
    let change = |etag: &str| vec![(topic.clone(), etag.to_owned())];
    assert_eq!(
        store.websub_enqueue(&change("\"e1\""), now).await.unwrap(),
        2,
        "live subscribers only"
    );
    assert_eq!(
        store.websub_enqueue(&change("\"e1\""), now).await.unwrap(),
        0,
        "the same change again"
    );
    let other = vec![(
        "http://127.0.0.1:8080/feeds/tech.atom".to_owned(),
        "\"t\"".to_owned(),
    )];
    assert_eq!(
        store.websub_enqueue(&other, now).await.unwrap(),
        0,
        "no subscriber"
    );

    let until = now + Duration::seconds(60);
    let first = claim(store, "one", now, until, 10).await;
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|d| d.attempts == 1 && !d.superseded && d.etag == "\"e1\"")
    );
    assert_eq!(first[0].secret.as_deref(), Some("s3cret"));
    assert!(
        claim(store, "two", now, until, 10).await.is_empty(),
        "claimed already"
    );

    // One is retried, the other delivered; then a later change comes.
    let (retried, delivered) = (&first[0], &first[1]);
    store
        .websub_settle(
            &[
                Settled::Retry {
                    id: retried.id,
                    next: now,
                    error: "500".into(),
                },
                Settled::Done { id: delivered.id },
            ],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store.websub_enqueue(&change("\"e2\""), now).await.unwrap(),
        2
    );
    let second = claim(store, "two", now, until, 10).await;
    assert_eq!(second.len(), 3);
    let again = second
        .iter()
        .find(|d| d.id == retried.id)
        .expect("the retry is due");
    assert!(again.superseded, "a later change supersedes it");
    assert_eq!(again.attempts, 2);
    assert!(
        second
            .iter()
            .filter(|d| d.etag == "\"e2\"")
            .all(|d| !d.superseded)
    );
    let done: Vec<Settled> = second.iter().map(|d| Settled::Done { id: d.id }).collect();
    store.websub_settle(&done, now).await.unwrap();
    assert_eq!(
        store.websub_enqueue(&change("\"e2\""), now).await.unwrap(),
        0,
        "delivered stays delivered"
    );
    assert!(claim(store, "one", now, until, 10).await.is_empty());

    // A claim that runs out (its instance died) is taken over.
    assert_eq!(
        store.websub_enqueue(&change("\"e3\""), now).await.unwrap(),
        2
    );
    let short = now + Duration::seconds(1);
    assert_eq!(claim(store, "dead", now, short, 10).await.len(), 2);
    let later = now + Duration::seconds(2);
    let taken = store
        .websub_claim("alive", later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 2);
    assert!(taken.iter().all(|d| d.attempts == 2));

    // Unsubscribing drops what was queued; expiry drops the lapsed.
    assert!(
        store
            .websub_unsubscribe(&topic, "https://a.example/cb")
            .await
            .unwrap()
    );
    assert!(
        !store
            .websub_unsubscribe(&topic, "https://a.example/cb")
            .await
            .unwrap()
    );
    assert_eq!(store.websub_expire(now).await.unwrap(), 1);
    let left: Vec<String> = store
        .websub_subscriptions()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.callback)
        .collect();
    assert_eq!(left, ["https://b.example/cb"]);
}

/// Deliveries claimed for `owner`, as [`Store::websub_claim`] gives them.
async fn claim(
    store: &dyn Store,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> Vec<crate::store::Delivery> {
    store
        .websub_claim(owner, now, until, limit)
        .await
        .expect("claims read")
}

/// A request of `client` for `topic`, calling back to `callback` on `host`.
fn asking<'a>(
    client: &'a str,
    host: &'a str,
    topic: &'a str,
    callback: &'a str,
) -> crate::store::Asking<'a> {
    crate::store::Asking {
        client,
        callback_host: host,
        topic,
        callback,
    }
}
