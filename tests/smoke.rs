mod common;
use common::*;

#[tokio::test]
async fn serves_every_demo_feed() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    for path in demo_feed_paths() {
        let (status, _, body) = get(&server.url(&path), &[]).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty());
    }
    assert!(server.stop(), "graceful shutdown exits 0");
}
