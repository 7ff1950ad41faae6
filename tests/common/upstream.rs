//! A local upstream for the aggregation tests: serves `tests/fixtures/upstream/`
//! with ETags (and 304s), plus misbehaving routes, and logs every request so a
//! test can assert what the poller asked for. Never the internet.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

type Body = BoxBody<Bytes, Infallible>;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub user_agent: String,
    pub at: std::time::Instant,
}

/// A body a test sets: its content type and bytes.
pub type SetBody = (String, Vec<u8>);

#[derive(Clone, Default)]
pub struct Upstream {
    pub addr: Option<SocketAddr>,
    pub log: Arc<Mutex<Vec<Seen>>>,
    /// Bodies set by the test, served before the fixture files.
    pub bodies: Arc<Mutex<HashMap<String, SetBody>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    pub stalls: Arc<AtomicUsize>,
}

impl Upstream {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.unwrap())
    }

    /// Requests for `path` so far.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    pub fn set(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.bodies
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body.into()));
    }

    /// Starts serving on 127.0.0.1:0 on its own thread and runtime, so it
    /// outlives any one test's runtime.
    pub fn start() -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let up = Upstream {
            addr: Some(listener.local_addr().unwrap()),
            ..Default::default()
        };
        let served = up.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let up = served.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let up = up.clone();
                            async move { Ok::<_, Infallible>(up.answer(req)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        up
    }

    fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Body> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let path = req.uri().path().to_owned();
        self.log.lock().unwrap().push(Seen {
            path: path.clone(),
            if_none_match: header("if-none-match"),
            user_agent: header("user-agent").unwrap_or_default(),
            at: std::time::Instant::now(),
        });
        let hit = {
            let mut hits = self.hits.lock().unwrap();
            let n = hits.entry(path.clone()).or_default();
            *n += 1;
            *n
        };
        match path.as_str() {
            "/moved" => return full(301, &[("location", "/rss092.xml")], ""),
            "/temp" => return full(302, &[("location", "/rss091.xml")], ""),
            "/gone" => return full(410, &[], ""),
            "/busy" => return full(429, &[("retry-after", "3600")], ""),
            // Fails on the first request, then serves a feed.
            "/flaky" if hit == 1 => return full(500, &[], "oops"),
            "/flaky" => return self.file("/feed11.json", header("if-none-match")),
            "/big" => {
                return full(
                    200,
                    &[("content-type", "application/rss+xml")],
                    vec![b' '; 50 << 20],
                );
            }
            "/stall" => {
                self.stalls.fetch_add(1, Ordering::SeqCst);
                let chunks = futures_util::stream::iter([Ok::<_, Infallible>(Frame::data(
                    Bytes::from_static(b"<rss version=\"2.0\"><channel>"),
                ))])
                .chain(futures_util::stream::pending());
                let mut r = Response::new(BodyExt::boxed(StreamBody::new(chunks)));
                r.headers_mut()
                    .insert("content-type", "application/rss+xml".parse().unwrap());
                return r;
            }
            _ => {}
        }
        self.file(&path, header("if-none-match"))
    }

    /// A body set by the test or a fixture file, with an ETag of its bytes.
    fn file(&self, path: &str, if_none_match: Option<String>) -> Response<Body> {
        let set = self.bodies.lock().unwrap().get(path).cloned();
        let (content_type, body) = match set {
            Some(found) => found,
            None => {
                let name = path.trim_start_matches('/');
                if name.contains("..") || name.contains('/') {
                    return full(404, &[], "");
                }
                let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/upstream")
                    .join(name);
                let Ok(body) = std::fs::read(file) else {
                    return full(404, &[], "");
                };
                let ct = if name.ends_with(".json") {
                    "application/feed+json"
                } else {
                    "application/xml"
                };
                (ct.to_owned(), body)
            }
        };
        let etag = format!("\"{:x}\"", fxhash(&body));
        if if_none_match.as_deref() == Some(etag.as_str()) {
            return full(304, &[("etag", &etag)], "");
        }
        full(
            200,
            &[("etag", &etag), ("content-type", &content_type)],
            body,
        )
    }
}

use futures_util::StreamExt;

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

fn full(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}
