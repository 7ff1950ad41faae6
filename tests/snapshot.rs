//! Every document the demo site serves, byte for byte: path, type, ETag,
//! Last-Modified and a SHA-256 of the body, compared with a snapshot taken after
//! the hardening changes. A change of layout inside newswire must not move a byte
//! a reader sees; a deliberate change of the documents updates the snapshot with
//! `NEWSWIRE_SNAPSHOT=update cargo test --test snapshot` and says why in its commit.

mod common;
use common::*;
use sha2::{Digest, Sha256};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/demo-documents.txt"
);

#[tokio::test]
async fn the_demo_site_serves_the_snapshot_byte_for_byte() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let mut paths = demo_feed_paths();
    paths.extend(
        [
            "all", "breaking", "world", "tech", "economy", "morocco", "sports",
        ]
        .iter()
        .map(|s| format!("/feeds/{s}.html")),
    );
    paths.extend(["/".to_owned(), "/feeds.opml".to_owned()]);
    let mut lines = Vec::new();
    for path in &paths {
        for encoding in ["identity", "gzip", "br"] {
            let (status, h, body) = get(&server.url(path), &[("Accept-Encoding", encoding)]).await;
            let digest: String = Sha256::digest(&body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            lines.push(format!(
                "{path} {encoding} {status} {:?} {} {:?} {}",
                header(&h, "content-type"),
                header(&h, "etag"),
                header(&h, "last-modified"),
                // Compressed bytes depend on the compressor's version; the ETag
                // and the identity bytes are what readers compare.
                if encoding == "identity" {
                    digest.as_str()
                } else {
                    "-"
                },
            ));
        }
    }
    let now = lines.join("\n") + "\n";
    if std::env::var("NEWSWIRE_SNAPSHOT").as_deref() == Ok("update") {
        std::fs::write(SNAPSHOT, &now).unwrap();
    }
    let expected = std::fs::read_to_string(SNAPSHOT).expect("the snapshot exists");
    for (want, got) in expected.lines().zip(now.lines()) {
        assert_eq!(got, want, "a served document changed");
    }
    assert_eq!(expected.lines().count(), now.lines().count());
    assert!(server.stop());
}
