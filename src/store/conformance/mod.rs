//! The behaviour every [`crate::store::Store`] must have, as one function that the tests call once
//! per backend. A difference between backends is a bug in one of them.

mod archives;
mod items;
mod sources;
mod websub;

pub use archives::*;
pub use items::*;
pub use sources::*;
pub use websub::*;

use crate::model::{FeedId, Item, ItemKind, Person, Source};
use crate::store::{Ownership, Store, Written};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

pub(crate) fn item(id: &str, category: &str, minutes: i64) -> Item {
    let t = DateTime::parse_from_rfc3339("2026-02-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes);
    Item {
        id: format!("tag:conformance.example,2026-02-01:article/{id}"),
        key: id.into(),
        kind: ItemKind::Article,
        source: Source::Api,
        category: Some(category.into()),
        title: format!("Title {id}"),
        link: Some(format!("https://conformance.example/{id}")),
        summary: Some("summary".into()),
        content_html: Some("<p>body</p>".into()),
        published: t,
        updated: t,
        authors: vec![Person {
            name: "A".into(),
            email: None,
            uri: None,
        }],
        tags: vec!["t".into()],
        image: None,
        origin: None,
        story: None,
    }
}

pub(super) fn feeds(names: &[&str]) -> BTreeSet<FeedId> {
    names.iter().map(|n| FeedId::named(n)).collect()
}

/// Every case, in the order the tests list them; each expects an empty store.
pub const CASES: &[&str] = &[
    "identical_upserts_change_nothing",
    "encoded_upserts_write_as_borrowed_ones",
    "moving_an_item_changes_both_feeds",
    "feeds_list_newest_first_with_limit_and_kind",
    "withdrawals_leave_tombstones_until_recreated",
    "a_withdrawn_item_back_elsewhere_changes_its_old_feed",
    "file_sync_withdraws_keeps_failed_files_and_skips_others",
    "export_then_import_changes_nothing",
    "concurrent_upserts_of_a_new_id_create_it_once",
    "concurrent_batches_of_new_ids_create_each_once",
    "tombstones_are_capped_per_feed",
    "concurrent_creates_make_exactly_one",
    "refresh_keeps_the_same_content_unchanged",
    "last_modified_advances_with_every_change",
    "batches_of_any_size_write_every_row",
    "fetch_state_round_trips",
    "attempt_logs_keep_the_last_polls",
    "console_sessions_last_until_they_end",
    "claims_hand_each_due_source_to_one_owner",
    "a_claim_passes_over_the_sources_its_claimer_lacks",
    "a_named_claim_waits_out_a_registration_of_its_sources",
    "paused_sources_are_left_alone_until_resumed",
    "external_items_keep_their_identity_and_first_seen_time",
    "items_stay_while_their_source_carries_them",
    "websub_outbox_delivers_each_change_once",
    "archive_pages_hold_each_entry_once",
    "kept_pages_keep_their_first_bytes_and_gain_compression_once",
    "kept_documents_are_listed_in_order_and_carried_once",
    "a_page_read_before_a_withdrawal_is_not_kept_after_it",
];

pub(super) fn world() -> FeedId {
    FeedId::named("world")
}

pub(super) fn tech() -> FeedId {
    FeedId::named("tech")
}

pub(super) fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-02-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

/// Upserts one item, taking it over: the write most cases make.
pub(super) async fn put(store: &dyn Store, item: &Item) -> Written {
    store
        .upsert(std::slice::from_ref(item), Ownership::Take)
        .await
        .expect("the upsert commits")
}
