//! The fetcher against a local upstream (never the internet): conditional GET
//! asserted from the upstream's own request log, permanent and temporary
//! redirects, 410, 429 with Retry-After, a 500, a stalled body, a 50 MiB body cut
//! at the limit, gzip, a redirect loop, and addresses that are not public.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use newswire::sources::fetch::{self, Fetcher, Outcome, Policy};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Body = BoxBody<Bytes, Infallible>;

/// What the upstream saw: path, If-None-Match, User-Agent.
type Log = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

fn full(status: u16, headers: &[(&'static str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(*k, v.parse().unwrap());
    }
    r
}

async fn upstream(
    req: Request<hyper::body::Incoming>,
    log: Log,
) -> Result<Response<Body>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = req.uri().path().to_owned();
    log.lock().unwrap().push((
        path.clone(),
        header("if-none-match"),
        header("user-agent").unwrap_or_default(),
    ));
    Ok(match path.as_str() {
        "/feed" if header("if-none-match").as_deref() == Some("\"v1\"") => {
            full(304, &[("etag", "\"v1\"")], "")
        }
        "/feed" => full(
            200,
            &[("etag", "\"v1\""), ("content-type", "application/rss+xml")],
            "<rss/>",
        ),
        "/moved" => full(301, &[("location", "/feed")], ""),
        "/temp" => full(302, &[("location", "/feed")], ""),
        "/moved-then-temp" => full(308, &[("location", "/temp")], ""),
        "/loop" => full(301, &[("location", "/loop")], ""),
        "/gone" => full(410, &[], ""),
        "/busy" => full(429, &[("retry-after", "120")], ""),
        "/error" => full(500, &[], "oops"),
        "/big" => full(200, &[], vec![b'x'; 50 << 20]),
        "/gz" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(b"<feed>compressed</feed>").unwrap();
            full(200, &[("content-encoding", "gzip")], enc.finish().unwrap())
        }
        "/stall" => {
            // Headers and a first chunk, then nothing, ever.
            let chunks = futures_util::stream::iter([Ok::<_, Infallible>(Frame::data(
                Bytes::from_static(b"<rss>"),
            ))])
            .chain(futures_util::stream::pending());
            let mut r = Response::new(BodyExt::boxed(StreamBody::new(chunks)));
            r.headers_mut()
                .insert("content-type", "application/rss+xml".parse().unwrap());
            r
        }
        _ => full(404, &[], ""),
    })
}

use futures_util::StreamExt;

async fn start_upstream() -> (SocketAddr, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let l = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let l = l.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| upstream(req, l.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, log)
}

fn policy() -> Policy {
    Policy {
        user_agent: fetch::user_agent(Some("https://news.example.com")),
        timeout: Duration::from_secs(2),
        allow_private_networks: true,
        ..Policy::default()
    }
}

fn req(addr: SocketAddr, path: &str) -> fetch::Request {
    fetch::Request {
        url: format!("http://{addr}{path}"),
        ..Default::default()
    }
}

#[tokio::test]
async fn conditional_get_and_redirects() {
    let (addr, log) = start_upstream().await;
    let f = Fetcher::new(policy()).unwrap();
    let Outcome::Fetched {
        body,
        etag,
        moved,
        content_type,
        ..
    } = f.fetch(&req(addr, "/feed")).await
    else {
        panic!("fetched")
    };
    assert_eq!(
        (&body[..], etag.as_deref(), moved),
        (&b"<rss/>"[..], Some("\"v1\""), None)
    );
    assert_eq!(content_type.as_deref(), Some("application/rss+xml"));
    let again = fetch::Request {
        etag: etag.clone(),
        ..req(addr, "/feed")
    };
    assert_eq!(f.fetch(&again).await, Outcome::NotModified { moved: None });
    {
        let log = log.lock().unwrap();
        assert_eq!(
            log[1].1.as_deref(),
            Some("\"v1\""),
            "the second poll was conditional"
        );
        assert!(log[0].2.starts_with("newswire/") && log[0].2.contains("news.example.com"));
    }
    // 301: followed, and the source's URL is the new one; 302: followed only.
    let Outcome::Fetched { moved, url, .. } = f.fetch(&req(addr, "/moved")).await else {
        panic!()
    };
    assert_eq!(moved.map(|u| u.path().to_owned()).as_deref(), Some("/feed"));
    assert_eq!(url.path(), "/feed");
    let Outcome::Fetched { moved, .. } = f.fetch(&req(addr, "/temp")).await else {
        panic!()
    };
    assert_eq!(moved, None);
    // A permanent hop then a temporary one: the permanent target is kept.
    let Outcome::Fetched { moved, .. } = f.fetch(&req(addr, "/moved-then-temp")).await else {
        panic!()
    };
    assert_eq!(moved.map(|u| u.path().to_owned()).as_deref(), Some("/temp"));
    let Outcome::Failed { error, .. } = f.fetch(&req(addr, "/loop")).await else {
        panic!()
    };
    assert!(error.contains("redirects"), "{error}");
}

#[tokio::test]
async fn statuses_become_decisions() {
    let (addr, _) = start_upstream().await;
    let f = Fetcher::new(policy()).unwrap();
    assert_eq!(f.fetch(&req(addr, "/gone")).await, Outcome::Gone);
    assert_eq!(
        f.fetch(&req(addr, "/busy")).await,
        Outcome::RetryAfter {
            status: 429,
            after: Duration::from_secs(120)
        }
    );
    assert!(matches!(
        f.fetch(&req(addr, "/error")).await,
        Outcome::Failed {
            status: Some(500),
            ..
        }
    ));
    let Outcome::Fetched { body, .. } = f.fetch(&req(addr, "/gz")).await else {
        panic!()
    };
    assert_eq!(&body[..], b"<feed>compressed</feed>", "gzip is decoded");
}

#[tokio::test]
async fn limits_hold_against_huge_and_stalled_bodies() {
    let (addr, _) = start_upstream().await;
    let f = Fetcher::new(policy()).unwrap();
    let Outcome::Failed { error, .. } = f.fetch(&req(addr, "/big")).await else {
        panic!()
    };
    assert!(error.contains("over the limit of 8388608 bytes"), "{error}");
    let started = std::time::Instant::now();
    let Outcome::Failed { error, .. } = f.fetch(&req(addr, "/stall")).await else {
        panic!()
    };
    assert!(error.contains("no complete answer"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn addresses_that_are_not_public_are_refused_unless_allowed() {
    let (addr, log) = start_upstream().await;
    let strict = Fetcher::new(Policy {
        allow_private_networks: false,
        ..policy()
    })
    .unwrap();
    for url in [
        format!("http://{addr}/feed"),
        format!("http://localhost:{}/feed", addr.port()),
    ] {
        let out = strict
            .fetch(&fetch::Request {
                url: url.clone(),
                ..Default::default()
            })
            .await;
        let Outcome::Failed { error, .. } = out else {
            panic!("{url}: {out:?}")
        };
        assert!(error.contains("public address"), "{url}: {error}");
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing reached the upstream"
    );
}
